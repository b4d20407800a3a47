package state

import (
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

// BenchmarkApply folds a busy host's mix of records into the table: mostly
// opens and closes (state-only for most rules), some sockets, dups and
// fcntls, and every decoded syscall once per round.
func BenchmarkApply(b *testing.B) {
	tab, _, ctx := appTable(b, "root:x:0:0:root:/root:/bin/bash\n")
	openat := nr(b, "openat")
	tab.opts.Interested = func(typ event.Type) bool { return typ.String() == "execve" || typ.String() == "connect" }
	var mix []ebpf.Record
	for i := range 64 {
		o := ebpf.Record{Kind: ebpf.KindSyscall, PID: 10, TID: 10, Comm: "app", Nr: openat, Ret: int64(3 + i%8), Args: [6]uint64{0xffffff9c, 0, 0x80000}}
		o.Path[1], o.RetPath = "/etc/hosts", "/etc/hosts"
		mix = append(mix, o,
			ebpf.Record{Kind: ebpf.KindSyscall, PID: 10, TID: 10, Nr: nr(b, "fcntl"), Args: [6]uint64{uint64(3 + i%8), fSetFD, 1}, Minimal: true},
			ebpf.Record{Kind: ebpf.KindSyscall, PID: 10, TID: 10, Nr: nr(b, "close"), Args: [6]uint64{uint64(3 + i%8)}, Minimal: true})
	}
	mix = append(mix, syntheticRecords(b)...)
	var e event.Event
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range mix {
			tab.Apply(ctx, &mix[j], &e)
		}
	}
	b.ReportMetric(float64(b.N*len(mix))/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(mix)), "ns/record")
}
