package exptmp

import (
	"context"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/record"
	"github.com/palisade-sec/palisade/internal/syscalls"
	"github.com/palisade-sec/palisade/internal/testutil"
)

func TestRunc(t *testing.T) {
	img := testutil.RequireBusyboxImage(t)
	src, err := ebpf.Open(ebpf.Options{Syscalls: record.AllSyscalls(), IgnoreSelf: true, RingBufferBytes: 128 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	done := make(chan struct{})
	go func() {
		out, err := exec.Command("docker", "run", "--rm", "--security-opt", "no-new-privileges", img, "/bin/true").CombinedOutput()
		t.Logf("docker: %s %v", out, err)
		close(done)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-done; time.Sleep(time.Second); cancel() }()
	var r ebpf.Record
	armed := map[uint32]bool{}
	tids := map[uint32]bool{}
	after := map[string]int{}
	for src.ReadInto(ctx, &r) == nil {
		if r.Kind == ebpf.KindSyscall && (r.Comm == "runc:[2:INIT]" || armed[r.PID]) {
			name, _ := syscalls.Name("x86_64", r.Nr)
			if r.Compat {
				name = "x86:" + name
			}
			if armed[r.PID] && tids[r.TID] {
				after[name]++
				t.Logf("  %d/%d %s(%#x, %#x) = %d", r.PID, r.TID, name, r.Args[0], r.Args[1], r.Ret)
			}
			if (name == "seccomp" && r.Args[0] == 1 || name == "prctl" && r.Args[0] == 0x16) && r.Ret >= 0 {
				armed[r.PID] = true
				tids[r.TID] = true
				t.Logf("seccomp installed by %d tid %d", r.PID, r.TID)
			}
		}
		if r.Kind == ebpf.KindExec && armed[r.PID] {
			t.Logf("exec %v", r.Exec.Exe)
			delete(armed, r.PID)
		}
	}
	var names []string
	for n := range after {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("after seccomp: %v", names)
	_, d, _ := src.Stats()
	t.Logf("drops %d", d)
}
