package seccomp

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time: on a shared machine it
// says more about the code than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCompileDockerDefault compiles Docker's default profile for
// x86_64 + x86 + x32 with Docker's default capabilities and reports the
// program's size and executed instructions per allowed native syscall.
func BenchmarkCompileDockerDefault(b *testing.B) {
	r := dockerDefault(b, "x86_64")
	var p *Program
	start := cpuTime()
	n := 0
	for b.Loop() {
		var err error
		if p, err = Compile(r, Options{}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(n), "cpu-ns/op")
	st, err := Measure(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Instructions), "insns")
	b.ReportMetric(st.AvgExecutedAllowed, "avg-exec")
	b.ReportMetric(float64(st.MaxExecutedAllowed), "max-exec")
}
