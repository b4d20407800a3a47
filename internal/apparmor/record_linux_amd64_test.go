//go:build linux && amd64

package apparmor

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// ptraceOExitKill is PTRACE_O_EXITKILL, which package syscall lacks.
const ptraceOExitKill = 0x100000

// traceCommand runs argv under ptrace and reports what it opened, executed
// and which sockets it made: a minimal stand-in for the recorder, so this
// package's tests turn a real command's behaviour into a profile. Opens are
// recorded by the path the kernel resolved (/proc/PID/fd/N after the call
// returned), which is the path AppArmor mediates. Single-process commands
// only (no fork tracing).
func traceCommand(t *testing.T, argv ...string) Observed {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	pid := cmd.Process.Pid
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil || !ws.Stopped() {
		t.Fatalf("wait for exec stop: %v %v", err, ws)
	}
	if err := syscall.PtraceSetOptions(pid, syscall.PTRACE_O_TRACESYSGOOD|ptraceOExitKill); err != nil {
		t.Fatalf("ptrace options: %v", err)
	}
	var obs Observed
	if p, err := filepath.EvalSymlinks(argv[0]); err == nil {
		obs.Exec = append(obs.Exec, p)
	}
	inSyscall := false
	var enter syscall.PtraceRegs
	for {
		if err := syscall.PtraceSyscall(pid, 0); err != nil {
			t.Fatalf("ptrace syscall: %v", err)
		}
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			t.Fatalf("wait: %v", err)
		}
		if ws.Exited() || ws.Signaled() {
			break
		}
		if !ws.Stopped() || ws.StopSignal() != syscall.SIGTRAP|0x80 {
			continue
		}
		var regs syscall.PtraceRegs
		if err := syscall.PtraceGetRegs(pid, &regs); err != nil {
			t.Fatalf("get regs: %v", err)
		}
		if !inSyscall {
			enter, inSyscall = regs, true
			continue
		}
		inSyscall = false
		ret := int64(regs.Rax)
		if ret < 0 {
			continue
		}
		switch enter.Orig_rax {
		case syscall.SYS_OPENAT, syscall.SYS_OPEN:
			flags := enter.Rdx
			if enter.Orig_rax == syscall.SYS_OPEN {
				flags = enter.Rsi
			}
			target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, ret))
			if err != nil || !strings.HasPrefix(target, "/") {
				continue
			}
			switch {
			case flags&syscall.O_DIRECTORY != 0:
				obs.Read = append(obs.Read, strings.TrimSuffix(target, "/")+"/")
			case flags&syscall.O_CREAT != 0:
				obs.Create = append(obs.Create, target)
			case flags&(syscall.O_WRONLY|syscall.O_RDWR) != 0:
				obs.Write = append(obs.Write, target)
			default:
				obs.Read = append(obs.Read, target)
			}
		case syscall.SYS_SOCKET:
			obs.Sockets = append(obs.Sockets, Socket{Domain: int(enter.Rdi), Type: int(enter.Rsi), Protocol: int(enter.Rdx)})
		}
	}
	if ws.Exited() && ws.ExitStatus() != 0 {
		t.Fatalf("%v exited %d", argv, ws.ExitStatus())
	}
	return obs
}

// TestProfileFromRecordedCommand is the issue's "a recording of a simple
// command becomes a profile the parser accepts": ls of a directory and cat
// of a file, traced for real, turned into a spec and a profile.
func TestProfileFromRecordedCommand(t *testing.T) {
	dir := t.TempDir()
	for i := range 4 {
		os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), []byte("x"), 0o644)
	}
	ls := testutil.RequireTool(t, "ls")
	cat := testutil.RequireTool(t, "cat")
	obs := traceCommand(t, ls, dir)
	catObs := traceCommand(t, cat, filepath.Join(dir, "f0"), filepath.Join(dir, "f1"), filepath.Join(dir, "f2"))
	obs.Read = append(obs.Read, catObs.Read...)
	obs.Exec = append(obs.Exec, catObs.Exec...)
	if len(obs.Read) == 0 {
		t.Fatal("the tracer saw no reads")
	}

	spec, d, err := FromObserved("ls-cat", obs)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := EncodeSpec(spec)
	t.Logf("observed %d reads; spec:\n%s", len(obs.Read), text)
	// The listing of the temporary directory and the collapse of the three
	// files cat read are in the spec; the loader and libc are left to base.
	realDir, _ := filepath.EvalSymlinks(dir)
	wantRead := []string{realDir + "/", realDir + "/*"}
	for _, w := range wantRead {
		found := false
		for _, r := range spec.Files.Read {
			found = found || r == w
		}
		if !found {
			t.Errorf("spec read %v lacks %q", spec.Files.Read, w)
		}
	}
	for _, r := range spec.Files.Read {
		if strings.Contains(r, "libc.so") || r == "/etc/ld.so.cache" {
			t.Errorf("spec holds %q, which abstractions/base covers", r)
		}
	}
	if len(d.Covered) == 0 {
		t.Error("nothing was left to abstractions/base; the dynamic loader's reads should be")
	}
	if len(spec.Files.Exec) != 2 {
		t.Errorf("exec = %v, want ls and cat", spec.Files.Exec)
	}
	profile, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	checkWithParser(t, "ls-cat", profile)
}
