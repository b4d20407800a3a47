package record

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestMain lets the test binary act as a recorded workload: with
// PALISADE_RECORD_HELPER=connect:ADDR it connects to ADDR and exits.
func TestMain(m *testing.M) {
	if v := os.Getenv("PALISADE_RECORD_HELPER"); v != "" {
		os.Exit(helper(v))
	}
	os.Exit(m.Run())
}

func helper(v string) int {
	if addr, ok := cutPrefix(v, "connect:"); ok {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		c.Write([]byte("hello"))
		c.Close()
		return 0
	}
	return 2
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func liveRecord(t *testing.T, env []string, argv ...string) *Recording {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	for _, e := range env {
		k, v, _ := cutEnv(e)
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Live(ctx, Options{Command: argv, Stdout: os.Stderr, Stderr: os.Stderr})
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("%v exited %d", argv, res.ExitCode)
	}
	r := res.Recording
	if r.Lost > 0 {
		t.Logf("%d records lost host-wide", r.Lost)
	}
	if len(r.Sources) != 1 || r.Sources[0].Ended != "exited" {
		t.Errorf("sources: %+v, want one that ended with the command", r.Sources)
	}
	return r
}

func cutEnv(e string) (string, string, bool) {
	for i := range e {
		if e[i] == '=' {
			return e[:i], e[i+1:], true
		}
	}
	return e, "", false
}

func TestLiveShell(t *testing.T) {
	r := liveRecord(t, nil, "sh", "-c", "cat /etc/hostname >/dev/null; ls /tmp >/dev/null")
	for _, name := range []string{"openat", "execve", "read", "write", "exit_group"} {
		if r.Syscalls["x86_64"][name] == 0 {
			t.Errorf("syscall %s not recorded: %v", name, r.SyscallNames("x86_64"))
		}
	}
	if !slices.Contains(r.Files.Read, "/etc/hostname") {
		t.Errorf("/etc/hostname not in files read: %v", r.Files.Read)
	}
	if !slices.Contains(r.Files.Read, "/tmp/") {
		t.Errorf("/tmp/ (listed by ls) not in files read: %v", r.Files.Read)
	}
	for _, exe := range []string{"cat", "ls"} {
		found := false
		for _, e := range r.Executables {
			found = found || len(e) > len(exe) && e[len(e)-len(exe)-1:] == "/"+exe
		}
		if !found {
			t.Errorf("%s not in executables: %v", exe, r.Executables)
		}
	}
	if r.Processes < 3 {
		t.Errorf("processes %d, want sh, cat and ls", r.Processes)
	}
}

func TestLiveLoopbackConnect(t *testing.T) {
	ln := testutil.Serve(t, "tcp", "127.0.0.1:0", testutil.HangUp)
	port := ln.Addr().(*net.TCPAddr).Port
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := liveRecord(t, []string{"PALISADE_RECORD_HELPER=connect:" + ln.Addr().String()}, exe)
	want := Endpoint{Family: "AF_INET", Proto: "tcp", IP: "127.0.0.1", Port: uint16(port)}
	if !slices.Contains(r.Connect, want) {
		t.Errorf("connect destinations %+v lack %+v", r.Connect, want)
	}
	if !slices.ContainsFunc(r.Sockets, func(s Socket) bool { return s.Domain == 2 && s.Type == 1 }) {
		t.Errorf("sockets %+v lack AF_INET SOCK_STREAM", r.Sockets)
	}
	if r.Syscalls["x86_64"]["connect"] == 0 {
		t.Errorf("connect not among syscalls")
	}
}

// TestLiveEnds checks the ways a recording of a command stops early: the
// duration, and cancellation (Ctrl-C); the command is stopped with
// SIGTERM and the recording is still returned.
func TestLiveEnds(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBPF(t)
	for _, tt := range []struct {
		name   string
		dur    time.Duration
		cancel time.Duration
		ended  string
	}{
		{"duration", time.Second, 0, "duration"},
		{"interrupted", 0, time.Second, "interrupted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			start := time.Now()
			res, err := Live(ctx, Options{Command: []string{"sleep", "30"}, Duration: tt.dur})
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %v", d)
			}
			r := res.Recording
			if r.Sources[0].Ended != tt.ended || res.ExitCode != 128+15 {
				t.Errorf("ended %q exit %d, want %q and 143 (SIGTERM)", r.Sources[0].Ended, res.ExitCode, tt.ended)
			}
			sleep, _ := exec.LookPath("sleep")
			sleep, _ = filepath.EvalSymlinks(sleep)
			if r.Syscalls["x86_64"]["execve"] == 0 || !slices.Contains(r.Executables, sleep) {
				t.Errorf("the part before the end is missing: %v %v", r.SyscallNames("x86_64"), r.Executables)
			}
		})
	}
}

// Root chowning a file to another user makes the kernel check CAP_CHOWN;
// the recording has it checked, granted and needed.
func TestLiveCapabilityChecks(t *testing.T) {
	f := filepath.Join(t.TempDir(), "owned")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(f, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r := liveRecord(t, nil, "chown", "1234:1234", f)
	if !r.Caps.Collected || r.Caps.Source != CapSource {
		t.Fatalf("caps not collected on this kernel: %+v", r.Caps)
	}
	i := slices.IndexFunc(r.Caps.Checked, func(c CheckedCap) bool { return c.Name == "CHOWN" })
	if i < 0 || r.Caps.Checked[i].Granted == 0 || !r.Caps.Checked[i].Needed {
		t.Fatalf("CHOWN not checked and granted: %+v", r.Caps.Checked)
	}
	if !slices.Contains(r.Caps.Needed(), "CHOWN") {
		t.Errorf("needed %v lacks CHOWN", r.Caps.Needed())
	}
	t.Logf("checked: %+v", r.Caps.Checked)
}
