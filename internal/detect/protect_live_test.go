package detect

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/rules"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestProtectLiveContainersGone starts containers under a live capture,
// sees their files enter the kernel's protected_inodes, removes them and
// sees the map and the table go back to the host's.
func TestProtectLiveContainersGone(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequireBusyboxImage(t)
	rs, res := rules.Load([]rules.File{{Name: "protect.yaml", Data: []byte(
		"- list: binary_directories\n  items: [/bin]\n- list: sensitive_file_names\n  items: [/etc/passwd]\n")}}, rules.Options{})
	if rs == nil {
		t.Fatalf("rules: %v", res.Errors)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := OpenLive(ctx, LiveOptions{Rules: rs, Syscalls: []int{unix.SYS_EXECVE, unix.SYS_OPENAT}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.prot.mu.Lock()
	l.prot.sweepEvery = 200 * time.Millisecond
	l.prot.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, func(*event.Event) error { return nil }) }()
	defer func() { cancel(); l.Close(); <-done }()

	sizes := func() (kernel, table int) {
		n, err := l.src.ProtectedCount()
		if err != nil {
			t.Fatal(err)
		}
		l.prot.mu.RLock()
		defer l.prot.mu.RUnlock()
		return n, len(l.prot.byInode)
	}
	// waitFor polls until ok, making host records so that the loop runs.
	waitFor := func(what string, ok func(kernel, table int) bool) (int, int) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; {
			k, tb := sizes()
			if ok(k, tb) {
				return k, tb
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: kernel map %d, table %d", what, k, tb)
			}
			for range 20 {
				exec.Command("true").Run()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	hostK, hostT := sizes()
	if hostK == 0 || hostK != hostT {
		t.Fatalf("host: kernel map %d, table %d; want the same, not 0", hostK, hostT)
	}
	var names []string
	for i := range 5 {
		name := fmt.Sprintf("palisade-protectgc-%d-%d", time.Now().UnixNano(), i)
		if out, err := exec.Command("docker", "run", "-d", "--rm", "--name", name, img, "sh", "-c", "cat /etc/passwd >/dev/null; exec sleep 600").CombinedOutput(); err != nil {
			t.Fatalf("docker run: %v\n%s", err, out)
		}
		names = append(names, name)
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	}
	peakK, peakT := waitFor("5 containers' files protected", func(k, tb int) bool {
		l.prot.mu.RLock()
		defer l.prot.mu.RUnlock()
		n := 0
		for id, rs := range l.prot.roots {
			if id != hostID && rs.done {
				n++
			}
		}
		return n >= 5 && k > hostK
	})
	t.Logf("host %d, with 5 containers: kernel map %d, table %d", hostK, peakK, peakT)
	if out, err := exec.Command("docker", append([]string{"rm", "-f"}, names...)...).CombinedOutput(); err != nil {
		t.Fatalf("docker rm: %v\n%s", err, out)
	}
	waitFor("containers removed", func(k, tb int) bool { return k == hostK && tb == hostT })
}
