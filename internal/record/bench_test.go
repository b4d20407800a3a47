package record

import (
	"testing"

	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// BenchmarkFollowAndBuild is the user-space cost per kernel record while
// recording: the follower's decision and the builder's bookkeeping, on a
// mix of opens, reads and other processes' records (which a recording
// drops, as the in-kernel filter selects by syscall, not by process).
func BenchmarkFollowAndBuild(b *testing.B) {
	const root = 100
	openat, _ := syscalls.Number("x86_64", "openat")
	read, _ := syscalls.Number("x86_64", "read")
	recs := []ebpf.Record{
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: openat, Args: [6]uint64{0, 0, 0}, Ret: 3, RetPath: "/etc/hostname"},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: read, Ret: 10},
		{Kind: ebpf.KindSyscall, PID: 999, TID: 999, Nr: read, Ret: 10},
		{Kind: ebpf.KindSyscall, PID: 998, TID: 998, Nr: openat, Ret: 3, RetPath: "/var/log/x"},
	}
	f := FollowChild(root)
	f.procs[root] = true
	bl := NewBuilder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := &recs[i%len(recs)]
		if f.Follow(r) {
			bl.Add(r)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
