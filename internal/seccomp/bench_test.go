package seccomp

import "testing"

// BenchmarkCompileDockerDefault compiles Docker's default profile for
// x86_64 + x86 + x32 with Docker's default capabilities and reports the
// program's size and executed instructions per allowed native syscall.
func BenchmarkCompileDockerDefault(b *testing.B) {
	r := dockerDefault(b, "x86_64")
	var p *Program
	for b.Loop() {
		var err error
		if p, err = Compile(r, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	st, err := Measure(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Instructions), "insns")
	b.ReportMetric(st.AvgExecutedAllowed, "avg-exec")
	b.ReportMetric(float64(st.MaxExecutedAllowed), "max-exec")
}
