package rules

import (
	"runtime"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/baseline"
	builtinrules "github.com/palisade-sec/palisade/rules"
)

// BenchmarkRulesetDrift is BenchmarkRuleset with the drift rules loaded
// (watch --baselines) and every event bound to its container's baseline
// and its matches passed through the drift de-duplication, as detect.Run
// does: the cost of the baseline.* fields on the event path. The baseline
// holds what the mix's web container does, so nothing drifts (the steady
// state).
func BenchmarkRulesetDrift(b *testing.B) {
	files := loadFalcoFiles(b, "falco_rules.yaml", "falco-incubating_rules.yaml")
	files = append(files, File{Name: builtinrules.DriftName, Data: builtinrules.DriftYAML})
	rs, res := Load(files, Options{Hostname: "bench", IndependentTags: []string{baseline.DriftTag}})
	if len(res.Errors) > 0 {
		b.Fatal(res.Errors)
	}
	evs := benchEvents(b)
	bl := baseline.New(baseline.Workload{Image: "nginx", Tag: "1.25"})
	bl.Executables = []baseline.Item{{Name: "/usr/sbin/nginx"}}
	bl.Writes = []baseline.Item{{Name: "/var/log/nginx/*"}}
	bl.Destinations = []baseline.Item{{Name: "tcp 127.0.0.1:5432"}}
	bl.Listen = []baseline.Item{{Name: "tcp 80"}}
	bl.Syscalls[bl.Arch] = []baseline.Item{{Name: "openat"}, {Name: "read"}, {Name: "write"}, {Name: "close"}, {Name: "connect"}, {Name: "accept4"}, {Name: "mmap"}}
	set := baseline.NewSet(baseline.Compile(bl, "nginx_1.25.json"))
	matches := make([]Match, 0, 8)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), threadCPU()
	for i := 0; i < b.N; i++ {
		ev := evs[i%len(evs)]
		set.Bind(ev)
		matches = rs.Eval(ev, matches[:0])
		for _, m := range matches {
			set.Report(m.Rule.Name, m.Rule.Tags, ev)
		}
	}
	cpu := threadCPU() - cpu0
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

// TestDriftEvalDoesNotAllocate: binding and the baseline.* fields keep
// evaluation allocation-free on the event mix.
func TestDriftEvalDoesNotAllocate(t *testing.T) {
	files := loadFalcoFiles(t, "falco_rules.yaml", "falco-incubating_rules.yaml")
	files = append(files, File{Name: builtinrules.DriftName, Data: builtinrules.DriftYAML})
	rs, res := Load(files, Options{Hostname: "bench", IndependentTags: []string{baseline.DriftTag}})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	bl := baseline.New(baseline.Workload{Image: "nginx", Tag: "1.25"})
	bl.Executables = []baseline.Item{{Name: "/usr/sbin/nginx"}}
	bl.Writes = []baseline.Item{{Name: "/var/log/nginx/*"}}
	set := baseline.NewSet(baseline.Compile(bl, "nginx_1.25.json"))
	matches := make([]Match, 0, 8)
	for _, e := range benchEvents(t) {
		set.Bind(e) // the first bind caches the container
		allocs := testing.AllocsPerRun(100, func() { set.Bind(e); matches = rs.Eval(e, matches[:0]) })
		if allocs != 0 {
			t.Errorf("Bind+Eval(%s) allocates %.1f times per event", e.Type, allocs)
		}
	}
}
