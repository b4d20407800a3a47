package rules

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/testutil"
	builtinrules "github.com/palisade-sec/palisade/rules"
)

// benchEvents is a realistic mix: mostly events that match nothing (library
// and config reads, reads/writes, closes, loopback connects, ordinary
// execs), as on a busy host.
func benchEvents(t testing.TB) []*event.Event {
	ctr := `"container":{"id":"0123456789ab","name":"web","image_repository":"nginx","image_tag":"1.25"}`
	proc := `"proc":{"pid":1200,"name":"nginx","exepath":"/usr/sbin/nginx","args":["-g","daemon off;"],"uid":33,"gid":33,"user":"www-data","parent":{"pid":1100,"name":"containerd-shim"}}`
	lines := []string{
		`{"type":"openat","res":7,"args":{"fd":7,"name":"/usr/lib/x86_64-linux-gnu/libssl.so.3","flags":"O_RDONLY|O_CLOEXEC"},` + proc + `,"fd":{"num":7,"type":"file","name":"/usr/lib/x86_64-linux-gnu/libssl.so.3"},` + ctr + `}`,
		`{"type":"openat","res":8,"args":{"fd":8,"name":"/var/www/html/index.html","flags":"O_RDONLY"},` + proc + `,"fd":{"num":8,"type":"file","name":"/var/www/html/index.html"},` + ctr + `}`,
		`{"type":"read","res":512,"args":{"fd":8},` + proc + `,"fd":{"num":8,"type":"file","name":"/var/www/html/index.html"},` + ctr + `}`,
		`{"type":"write","res":512,"args":{"fd":9},` + proc + `,"fd":{"num":9,"type":"ipv4","l4proto":"tcp","cip":"127.0.0.1","cport":50000,"sip":"127.0.0.1","sport":80,"server":true},` + ctr + `}`,
		`{"type":"close","res":0,"args":{"fd":8},` + proc + `,"fd":{"num":8,"type":"file","name":"/var/www/html/index.html"},` + ctr + `}`,
		`{"type":"openat","res":10,"args":{"fd":10,"name":"/var/log/nginx/access.log","flags":"O_WRONLY|O_APPEND|O_CLOEXEC"},` + proc + `,"fd":{"num":10,"type":"file","name":"/var/log/nginx/access.log"},` + ctr + `}`,
		`{"type":"connect","res":0,"args":{"fd":11},` + proc + `,"fd":{"num":11,"type":"ipv4","l4proto":"tcp","cip":"127.0.0.1","cport":40000,"sip":"127.0.0.1","sport":5432},` + ctr + `}`,
		`{"type":"execve","res":0,"proc":{"pid":1300,"name":"ls","exepath":"/usr/bin/ls","args":["-la"],"uid":1000,"gid":1000,"user":"alice","loginuid":1000,"parent":{"pid":1000,"name":"make","parent":{"pid":900,"name":"bash"}}}}`,
		`{"type":"openat","res":3,"args":{"fd":3,"name":"/etc/ld.so.cache","flags":"O_RDONLY|O_CLOEXEC"},"proc":{"pid":1300,"name":"ls","exepath":"/usr/bin/ls","uid":1000,"gid":1000,"user":"alice"},"fd":{"num":3,"type":"file","name":"/etc/ld.so.cache"}}`,
		`{"type":"mmap","res":0,` + proc + `,` + ctr + `}`,
		`{"type":"accept4","res":12,"args":{"fd":12},` + proc + `,"fd":{"num":12,"type":"ipv4","l4proto":"tcp","cip":"127.0.0.1","cport":50001,"sip":"127.0.0.1","sport":80,"server":true},` + ctr + `}`,
		`{"type":"openat","res":4,"args":{"fd":4,"name":"/proc/self/status","flags":"O_RDONLY"},"proc":{"pid":1400,"name":"ps","uid":0,"gid":0,"user":"root"},"fd":{"num":4,"type":"file","name":"/proc/self/status"}}`,
	}
	evs := parseEvents(t, lines...)
	for _, e := range evs {
		if e.Proc != nil {
			e.Proc.Cmdline() // warm the lazily joined strings
		}
	}
	return evs
}

func loadFalcoFiles(t testing.TB, names ...string) []File {
	dir := testutil.FalcoRulesDir(t)
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join(dir, n))
	}
	files, err := ReadFiles(context.Background(), paths...)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func loadFalco(t testing.TB, names ...string) *Ruleset {
	rs, res := Load(loadFalcoFiles(t, names...), Options{Hostname: "bench"})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	return rs
}

// threadCPU is the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRuleset evaluates Falco's stable + incubating rules over the
// event mix on one goroutine and reports events/s of wall time and, since
// the machines are shared, events per CPU-second of the evaluating thread
// (what one dedicated core would do).
func BenchmarkRuleset(b *testing.B) {
	rs := loadFalco(b, "falco_rules.yaml", "falco-incubating_rules.yaml")
	evs := benchEvents(b)
	evalLoop(b, rs, evs)
}

// BenchmarkRulesetBuiltin is BenchmarkRuleset with Palisade's own
// embedded ruleset, the default of `palisade watch`.
func BenchmarkRulesetBuiltin(b *testing.B) {
	rs, res := Load([]File{{Name: builtinrules.Name, Data: builtinrules.YAML}}, Options{Hostname: "bench"})
	if len(res.Errors) > 0 {
		b.Fatal(res.Errors)
	}
	evs := benchEvents(b)
	evalLoop(b, rs, evs)
}

// BenchmarkRulesetWrittenOrder is BenchmarkRuleset with conjuncts left in
// written order, to measure what reordering buys in the same run.
func BenchmarkRulesetWrittenOrder(b *testing.B) {
	dir := testutil.FalcoRulesDir(b)
	files, err := ReadFiles(context.Background(), filepath.Join(dir, "falco_rules.yaml"), filepath.Join(dir, "falco-incubating_rules.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	rs, _ := Load(files, Options{Hostname: "bench", NoReorder: true})
	evs := benchEvents(b)
	evalLoop(b, rs, evs)
}

// BenchmarkRulesetParallel evaluates on GOMAXPROCS goroutines sharing one
// compiled ruleset.
func BenchmarkRulesetParallel(b *testing.B) {
	rs := loadFalco(b, "falco_rules.yaml", "falco-incubating_rules.yaml")
	evs := benchEvents(b)
	var total atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		matches := make([]Match, 0, 8)
		i := 0
		for pb.Next() {
			matches = rs.Eval(evs[i%len(evs)], matches[:0])
			i++
			total.Add(0)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "goroutines")
}

// BenchmarkLoadFalcoRules loads and compiles all three Falco files.
func BenchmarkLoadFalcoRules(b *testing.B) {
	dir := testutil.FalcoRulesDir(b)
	files, err := ReadFiles(context.Background(), filepath.Join(dir, "falco_rules.yaml"), filepath.Join(dir, "falco-incubating_rules.yaml"), filepath.Join(dir, "falco-sandbox_rules.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, res := Load(files, Options{Hostname: "bench"}); len(res.Errors) > 0 {
			b.Fatal(res.Errors)
		}
	}
}

// TestEvalDoesNotAllocate guards the 0 allocs/op goal on the event mix.
func TestEvalDoesNotAllocate(t *testing.T) {
	rs := loadFalco(t, "falco_rules.yaml", "falco-incubating_rules.yaml")
	evs := benchEvents(t)
	matches := make([]Match, 0, 8)
	for _, e := range evs {
		e := e
		allocs := testing.AllocsPerRun(100, func() { matches = rs.Eval(e, matches[:0]) })
		if allocs != 0 {
			t.Errorf("Eval(%s %v) allocates %.1f times per event", e.Type, e.FD, allocs)
		}
	}
}

// TestEvalConcurrent checks Eval is safe and consistent on many goroutines.
func TestEvalConcurrent(t *testing.T) {
	rs := loadFalco(t, "falco_rules.yaml", "falco-incubating_rules.yaml")
	evs := benchEvents(t)
	want := make([]int, len(evs))
	for i, e := range evs {
		want[i] = len(rs.Eval(e, nil))
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 200; r++ {
				for i, e := range evs {
					if got := len(rs.Eval(e, nil)); got != want[i] {
						t.Errorf("event %d: %d matches, want %d", i, got, want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestChecksPerEvent reports the checks evaluated per event of the mix with
// and without conjunct ordering: a figure noise cannot move.
func TestChecksPerEvent(t *testing.T) {
	dir := testutil.FalcoRulesDir(t)
	files, err := ReadFiles(context.Background(), filepath.Join(dir, "falco_rules.yaml"), filepath.Join(dir, "falco-incubating_rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	evs := benchEvents(t)
	var n int64
	checkCounter = &n
	defer func() { checkCounter = nil }()
	perEvent := func(opts Options) float64 {
		rs, _ := Load(files, opts)
		n = 0
		for _, e := range evs {
			rs.Eval(e, nil)
		}
		return float64(n) / float64(len(evs))
	}
	ordered, written := perEvent(Options{}), perEvent(Options{NoReorder: true})
	t.Logf("checks per event: %.2f ordered, %.2f in written order", ordered, written)
	if ordered > written {
		t.Errorf("ordering made evaluation do more work: %.2f > %.2f", ordered, written)
	}
}

// evalLoop times rs.Eval over evs on one locked thread: events per second
// of wall time and per CPU-second of the thread.
func evalLoop(b *testing.B, rs *Ruleset, evs []*event.Event) {
	matches := make([]Match, 0, 8)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	runtime.GC() // loading's garbage is not the evaluation's
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), threadCPU()
	for i := 0; i < b.N; i++ {
		matches = rs.Eval(evs[i%len(evs)], matches[:0])
	}
	cpu := threadCPU() - cpu0
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}
