package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// readers are the commands that read a file the user names; "{}" is the
// input's path.
var readers = [][]string{
	{"replay", "{}"},
	{"replay", "--export-jsonl", "-", "{}"},
	{"rules", "validate", "-r", "{}"},
	{"seccomp", "compile", "{}"},
	{"seccomp", "lint", "{}"},
	{"apparmor", "generate", "{}"},
	{"audit", "{}"},
	{"audit", "--fix", "{}"},
	{"profile", "seccomp", "{}"},
	{"record", "--merge", "{}"},
	{"alerts", "--store", "sqlite:{}"},
}

// hostileInputs writes every kind of bad input into dir and returns them by
// name. "fifo" is a FIFO nobody writes.
func hostileInputs(t *testing.T, dir string) map[string]string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	junk := bytes.Repeat([]byte("\x00\xffjunk: [{\"\n\t- -"), 50<<20/16)
	deep := strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20)
	deepYAML := strings.Repeat("- ", 1<<18) + "x\n"
	hostile := "- rule: \x1b[31mred\x1b[0m\u202eevil\x00\n  desc: \x1b]0;pwn\x07\n  condition: proc.name = \"\u202e\"\n"
	in := map[string]string{
		"missing":   filepath.Join(dir, "missing.yaml"),
		"directory": filepath.Join(dir, "emptydir"),
		"devzero":   "/dev/zero",
		"fifo":      filepath.Join(dir, "fifo.yaml"),
	}
	if err := os.Mkdir(in["directory"], 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(in["fifo"], 0o600); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty.yaml":                     nil,
		"random.json":                    random,
		"junk.yaml":                      junk,
		"deep.json":                      []byte(deep),
		"deep.yaml":                      []byte(deepYAML),
		"\x1b[2Jansi\u202e\x07name.yaml": []byte(hostile),
		"content.json":                   []byte("{\"a\x1b[2J\": \"\u202e\x00\"}"),
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		in[strings.TrimSuffix(strings.TrimSuffix(name, ".yaml"), ".json")] = p
	}
	return in
}

type outcome struct {
	code        int
	stderr      string
	took        time.Duration
	rssKB       int64
	interrupted bool // SIGINT was sent while it waited on a FIFO
}

// blockedOnFIFO reports whether a thread of pid sleeps in the kernel's
// wait for a FIFO's other end (an open with no writer yet).
func blockedOnFIFO(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	for _, w := range tasks {
		if b, err := os.ReadFile(w); err == nil && string(b) == "wait_for_partner" {
			return true
		}
	}
	return false
}

// runBinary runs bin; with interruptOnFIFO it sends SIGINT once the program
// waits on a FIFO (not at a fixed delay: a signal that lands before the
// program has set up its handler ends any program, which tests nothing).
func runBinary(t *testing.T, bin string, args []string, interruptOnFIFO bool) outcome {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.Stdout = nil
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var interrupted atomic.Bool
	if interruptOnFIFO {
		go func() {
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
				if blockedOnFIFO(cmd.Process.Pid) {
					interrupted.Store(true)
					cmd.Process.Signal(os.Interrupt)
					return
				}
			}
		}()
	}
	killer := time.AfterFunc(15*time.Second, func() { cmd.Process.Kill() })
	defer killer.Stop()
	cmd.Wait()
	close(done)
	o := outcome{code: cmd.ProcessState.ExitCode(), stderr: errb.String(), took: time.Since(start), interrupted: interrupted.Load()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		o.rssKB = ru.Maxrss
	}
	return o
}

// Every command that reads input, given every kind of hostile input, exits
// within 10 s, under 200 MB, with one line on stderr and the documented
// exit code: 2 for bad input (1 for rules validate, whose findings are
// errors in the rules), 130 when interrupted while waiting on a FIFO.
func TestHostileInputMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs ~100 commands")
	}
	dir := t.TempDir()
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(dir, "palisade"))
	inputs := hostileInputs(t, dir)
	for _, r := range readers {
		for name, path := range inputs {
			args := make([]string, len(r))
			for i, a := range r {
				args[i] = strings.ReplaceAll(a, "{}", path)
			}
			t.Run(strings.Join(r[:len(r)-1], "_")+"/"+name, func(t *testing.T) {
				want := 2
				if name == "fifo" {
					want = 130
				}
				o := runBinary(t, bin, args, name == "fifo")
				if name == "fifo" && o.code == 2 && !o.interrupted {
					want = 2 // refused as not a regular file before reading
				}
				if r[0] == "rules" && o.code == 1 {
					want = 1 // the input was read and its rules are wrong
				}
				lines := strings.Count(o.stderr, "\n")
				if o.code != want || o.took > 10*time.Second || o.rssKB > 200<<10 || lines != 1 || !strings.HasPrefix(o.stderr, "palisade: ") {
					t.Errorf("%q: exit %d (want %d) after %v, max RSS %d MB, stderr %d lines: %.300q",
						args, o.code, want, o.took.Round(time.Millisecond), o.rssKB>>10, lines, o.stderr)
				}
				if strings.ContainsAny(o.stderr, "\x1b\x00\x07\u202e") {
					t.Errorf("%q: raw control or bidi characters on stderr: %q", args, o.stderr)
				}
			})
		}
	}
}

// SIGINT at a random moment during real work ends the command within a
// second, and its --out file is either complete or absent.
func TestInterruptAtRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(dir, "palisade"))
	var rules strings.Builder
	for i := 0; rules.Len() < 1<<20; i++ {
		fmt.Fprintf(&rules, "- macro: m%d\n  condition: proc.name = sh%d and evt.type = open\n- rule: r%d\n  desc: d\n  condition: m%d and container.id != host\n  output: x %%proc.name\n  priority: WARNING\n", i, i, i, i)
	}
	rulesFile := filepath.Join(dir, "big.yaml")
	os.WriteFile(rulesFile, []byte(rules.String()), 0o600)
	var manifests strings.Builder
	for i := 0; manifests.Len() < 1<<20; i++ {
		fmt.Fprintf(&manifests, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p%d\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext: {privileged: true}\n---\n", i)
	}
	manifestFile := filepath.Join(dir, "pods.yaml")
	os.WriteFile(manifestFile, []byte(manifests.String()), 0o600)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	for k, c := range [][]string{
		{"rules", "validate", "-r", rulesFile, "-o", "json"},
		{"audit", manifestFile, "-o", "json"},
		{"audit", manifestFile, "-o", "sarif"},
	} {
		for i := 0; i < 3; i++ {
			// One name per command and run: a file left by an earlier
			// command that finished must not pass for this one's.
			out := filepath.Join(dir, fmt.Sprintf("out-%d-%s-%d.json", k, c[0], i))
			args := append(append([]string{}, c...), "--out", out)
			at := time.Duration(rng.IntN(400)) * time.Millisecond
			cmd := exec.Command(bin, args...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(at)
			sent := time.Now()
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
			took, code := time.Since(sent), cmd.ProcessState.ExitCode()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
				// The signal came before Go's handler was installed: the
				// kernel's default action, which a shell also reports as 130.
				code = 130
				errb.WriteString("palisade: interrupted by SIGINT\n")
			}
			if took > time.Second {
				t.Errorf("%q: SIGINT after %v took %v to stop", args, at, took)
			}
			data, err := os.ReadFile(out)
			switch {
			case code == 130:
				if err == nil {
					t.Errorf("%q: interrupted after %v but left %s (%d bytes)", args, at, out, len(data))
				}
				if errb.String() != "palisade: interrupted by SIGINT\n" {
					t.Errorf("%q: stderr %q", args, errb.String())
				}
			case code == 0 || code == 1: // finished before the signal
				if err != nil || !bytes.HasSuffix(bytes.TrimSpace(data), []byte("}")) {
					t.Errorf("%q: exit %d but output %v, %d bytes", args, code, err, len(data))
				}
			default:
				t.Errorf("%q: exit %d after SIGINT at %v: %q", args, code, at, errb.String())
			}
			tmps, _ := filepath.Glob(filepath.Join(dir, ".out-*.tmp*"))
			if len(tmps) > 0 && code != 130 {
				t.Errorf("temporary files left: %v", tmps)
			}
		}
	}
}

// A command reading stdin that nobody writes stops on SIGINT and SIGTERM.
func TestInterruptStdin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(dir, "palisade"))
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "audit", "-")
		cmd.Stdin = r
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		sent := time.Now()
		cmd.Process.Signal(sig)
		cmd.Wait()
		w.Close()
		r.Close()
		if code := cmd.ProcessState.ExitCode(); code != want || time.Since(sent) > time.Second || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: exit %d after %v: %q", sig, code, time.Since(sent), errb.String())
		}
	}
}
