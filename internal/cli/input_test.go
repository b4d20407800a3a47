package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every command that reads a file refuses /dev/zero at its bound, with
// one line and exit 2, instead of reading until memory runs out.
func TestDevZeroRefused(t *testing.T) {
	for _, args := range [][]string{
		{"rules", "validate", "-r", "/dev/zero"},
		{"apparmor", "generate", "/dev/zero"},
		{"apparmor", "validate", "/dev/zero"},
		{"profile", "seccomp", "/dev/zero"},
		{"record", "--merge", "/dev/zero"},
		{"audit", "/dev/zero"},
		{"audit", "--fix", "/dev/zero"},
	} {
		start := time.Now()
		code, _, errs := run(t, "", args...)
		if code != 2 || !strings.Contains(errs, "larger than") || strings.Count(errs, "\n") != 1 || time.Since(start) > 5*time.Second {
			t.Errorf("%v: exit %d after %v: %q", args, code, time.Since(start), errs)
		}
	}
	code, _, errs := run(t, "", "--max-input-size", "64KiB", "rules", "validate", "-r", "/dev/zero")
	if code != 2 || !strings.Contains(errs, "larger than 64 KiB") {
		t.Errorf("--max-input-size: exit %d: %q", code, errs)
	}
	if code, _, errs := run(t, "", "--max-input-size", "lots", "rules", "validate"); code != 2 || !strings.Contains(errs, "--max-input-size") {
		t.Errorf("bad --max-input-size: exit %d: %q", code, errs)
	}
}

// A signal while a command waits on a FIFO nobody writes ends it at once
// with 128+signal and one line.
func TestInterruptedRead(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // let the abandoned open return
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	for _, c := range []struct {
		sig  syscall.Signal
		code int
		args []string
	}{
		{syscall.SIGINT, 130, []string{"rules", "validate", "-r", fifo}},
		{syscall.SIGTERM, 143, []string{"audit", fifo}},
		{syscall.SIGINT, 130, []string{"audit", "-"}},
		{syscall.SIGTERM, 143, []string{"apparmor", "generate", fifo}},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(100*time.Millisecond, func() { cancel(&Interrupted{Signal: c.sig}) })
		var errb syncBuffer
		r, w, _ := os.Pipe() // stdin nobody writes
		start := time.Now()
		code := Run(ctx, c.args, r, &syncBuffer{}, &errb)
		w.Close()
		r.Close()
		if code != c.code || time.Since(start) > time.Second || errb.String() != "palisade: interrupted by "+signalName(c.sig)+"\n" {
			t.Errorf("%v: exit %d after %v: %q", c.args, code, time.Since(start), errb.String())
		}
	}
}

// One exit-code convention: usage and bad input exit 2, with one line.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.yaml")
	os.WriteFile(empty, nil, 0o600)
	blank := filepath.Join(dir, "blank.db")
	os.WriteFile(blank, nil, 0o600)
	emptyDir := filepath.Join(dir, "nothing")
	os.Mkdir(emptyDir, 0o700)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"rules", "bogus"}, 2, `unknown command "bogus" for "palisade rules"`},
		{[]string{"rules", "validate", "--nope"}, 2, "unknown flag: --nope"},
		{[]string{"apparmor", "generate"}, 2, "accepts 1 arg(s)"},
		{[]string{"watch", "--duration", "-5s"}, 2, "--duration -5s: must not be negative"},
		{[]string{"rules", "validate", "-r", empty}, 2, "empty.yaml: empty rules file"},
		{[]string{"audit", emptyDir}, 2, "nothing to audit in " + emptyDir},
		{[]string{"alerts", "--store", "sqlite:" + blank}, 2, "not an alert store"},
	} {
		code, _, errs := run(t, "", c.args...)
		if code != c.code || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d: %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
	if st, err := os.Stat(blank); err != nil || st.Size() != 0 {
		t.Errorf("alerts wrote to an empty file it was pointed at: %v %v", st.Size(), err)
	}
	for _, args := range [][]string{{"--help"}, {"audit", "--help"}, {"seccomp", "compile", "--help"}} {
		if _, out, _ := run(t, "", args...); !strings.Contains(out, "Exit status: 0 ok; 1 findings") {
			t.Errorf("%v does not document the exit codes", args)
		}
	}
}

// A command busy in work that does not watch the context (compiling a large
// seccomp profile takes about 1.7 s) is abandoned soon after a signal.
func TestStopGrace(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[`)
	for i := 0; i < 8000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"names":["read","write"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":%d,"op":"SCMP_CMP_EQ"}]}`, i)
	}
	b.WriteString("]}")
	prof := filepath.Join(dir, "slow.json")
	os.WriteFile(prof, []byte(b.String()), 0o600)

	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(100*time.Millisecond, func() { cancel(&Interrupted{Signal: syscall.SIGINT}) })
	var errb syncBuffer
	start := time.Now()
	code := Run(ctx, []string{"seccomp", "compile", prof}, strings.NewReader(""), &syncBuffer{}, &errb)
	if code != 130 || time.Since(start) > 100*time.Millisecond+time.Second || errb.String() != "palisade: interrupted by SIGINT\n" {
		t.Fatalf("exit %d after %v: %q", code, time.Since(start), errb.String())
	}
}
