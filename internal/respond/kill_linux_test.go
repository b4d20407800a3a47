package respond

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
)

// killProcess itself, on a child of the test: a wrong start time is a
// reused pid and nothing is signalled; the right one kills it.
func TestKillProcessChecksStartTime(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := int64(cmd.Process.Pid)
	ticks, err := startTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	off, _ := clocks()
	start := ticks*tick + off + 2_000_000 // as a fork record would have it
	if err := killProcess(pid, 0); !errors.Is(err, errNoStart) {
		t.Errorf("no start time: %v", err)
	}
	if err := killProcess(pid, start-5e9); !errors.Is(err, errReused) {
		t.Errorf("start time 5 s off: %v, want errReused", err)
	}
	if err := syscall.Kill(int(pid), 0); err != nil {
		t.Fatalf("the process was hit: %v", err)
	}
	if err := killProcess(pid, start); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want SIGKILL", err)
	}
	if err := killProcess(pid, start); !isGone(err) {
		t.Errorf("after it died: %v, want gone", err)
	}
}
