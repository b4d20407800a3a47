package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// respondConfig kills readers of /etc/shadow in kill-* containers, pauses
// pause-* containers on the same rule, and asks for a kill of anything
// else that reads it: a host process must be refused by the guard rails.
const respondConfig = `
responses:
  rate:
    global: {per_second: 50, burst: 100}
    per_container: {per_second: 20, burst: 100}
  actions:
    - name: shadow readers die
      action: kill
      match: {rules: ["Read sensitive file untrusted"], containers: ["palisade-resp-kill-*"]}
    - name: shadow readers freeze
      action: pause
      match: {rules: ["Read sensitive file untrusted"], containers: ["palisade-resp-pause-*"]}
    - name: anyone else
      action: kill
      match: {rules: ["Read sensitive file untrusted"]}
`

type respondAlert struct {
	Rule         string         `json:"rule"`
	OutputFields map[string]any `json:"output_fields"`
	Response     *struct {
		Action    string `json:"action"`
		Target    string `json:"target"`
		Result    string `json:"result"`
		Error     string `json:"error"`
		LatencyUS int64  `json:"latency_us"`
		DryRun    bool   `json:"dry_run"`
	} `json:"response"`
}

func respondAlerts(out string) []respondAlert {
	var res []respondAlert
	for _, line := range strings.Split(out, "\n") {
		var a respondAlert
		if json.Unmarshal([]byte(line), &a) == nil && a.Rule != "" {
			res = append(res, a)
		}
	}
	return res
}

// waitFor polls cond every 50 ms for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func inspect(name, format string) string {
	out, _ := exec.Command("docker", "inspect", "-f", format, name).Output()
	return strings.TrimSpace(string(out))
}

// startRespondWatch runs palisade watch with respondConfig and returns its
// JSON alerts and its stderr.
func startRespondWatch(t *testing.T, bin, dir string, extra ...string) (*exec.Cmd, *syncBuffer, *testutil.SyncBuffer, string) {
	t.Helper()
	cfg := filepath.Join(dir, "palisade.yaml")
	os.WriteFile(cfg, []byte(respondConfig), 0o644)
	db := filepath.Join(dir, fmt.Sprintf("alerts-%d.db", time.Now().UnixNano()))
	stdout := &syncBuffer{}
	cmd, stderr := testutil.StartWatch(t, bin, stdout, append([]string{"-o", "json", "--config", cfg, "--store", "sqlite:" + db, "--metrics", "none"}, extra...)...)
	return cmd, stdout, stderr, db
}

func stopWatch(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

// TestRespondKillPauseLive: under a real watch with responses, `tail -f
// /etc/shadow` in a kill-* container dies of SIGKILL and its alert says
// so (stdout and the store); a pause-* container is left paused; a
// neighbouring container and a host process reading the same file are
// untouched (the host one refused by the guard rails, with the reason).
func TestRespondKillPauseLive(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequireBusyboxImage(t)
	dir := t.TempDir()
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(dir, "palisade"))
	suffix := fmt.Sprint(os.Getpid())
	killName, pauseName, neighbour := "palisade-resp-kill-"+suffix, "palisade-resp-pause-"+suffix, "palisade-resp-neighbour-"+suffix
	for _, n := range []string{killName, pauseName, neighbour} {
		exec.Command("docker", "rm", "-f", n).Run()
		n := n
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", n).Run() })
	}
	cmd, stdout, stderr, db := startRespondWatch(t, bin, dir)

	docker(t, "run", "-d", "--name", neighbour, img, "sleep", "600")
	host := exec.Command("tail", "-f", "/etc/shadow")
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Process.Kill(); host.Wait() })
	docker(t, "run", "-d", "--name", pauseName, img, "sh", "-c", "sleep 1; tail -f /etc/shadow")
	docker(t, "run", "-d", "--name", killName, img, "sh", "-c", "sleep 1; tail -f /etc/shadow; echo rc=$?; sleep 600")

	if !waitFor(15*time.Second, func() bool {
		logs, _ := exec.Command("docker", "logs", killName).CombinedOutput()
		return strings.Contains(string(logs), "rc=")
	}) {
		t.Fatalf("tail in %s still runs; stderr:\n%s\nalerts:\n%s", killName, stderr.String(), stdout.String())
	}
	logs, _ := exec.Command("docker", "logs", killName).CombinedOutput()
	if !strings.Contains(string(logs), "rc=137") { // 128 + SIGKILL
		t.Errorf("tail in %s ended otherwise than by SIGKILL: %q", killName, logs)
	}
	if !waitFor(15*time.Second, func() bool { return inspect(pauseName, "{{.State.Paused}}") == "true" }) {
		t.Errorf("%s is not paused: %s", pauseName, inspect(pauseName, "{{.State.Status}}"))
	}
	// The host reader's alert is refused: wait for it before judging.
	waitFor(10*time.Second, func() bool { return strings.Contains(stderr.String(), "host process") })
	if host.ProcessState != nil || syscall.Kill(host.Process.Pid, 0) != nil {
		t.Errorf("the host's tail (pid %d) was touched", host.Process.Pid)
	}
	if s := inspect(neighbour, "{{.State.Status}} {{.State.Paused}}"); s != "running false" {
		t.Errorf("neighbour %s: %s", neighbour, s)
	}
	if s := inspect(killName, "{{.State.Status}} {{.State.Paused}}"); s != "running false" {
		t.Errorf("%s after the kill: %s (only its tail should be gone)", killName, s)
	}
	stopWatch(cmd)

	var sawKill, sawPause, sawHost bool
	for _, a := range respondAlerts(stdout.String()) {
		if a.Rule != "Read sensitive file untrusted" {
			continue
		}
		name, _ := a.OutputFields["container.name"].(string)
		r := a.Response
		if r == nil {
			t.Errorf("alert for %s without a response", name)
			continue
		}
		switch {
		case name == killName:
			// busybox sh runs its applets through /proc/self/exe: the
			// process is "exe -f /etc/shadow".
			pid := fmt.Sprintf("pid %v (", a.OutputFields["proc.pid"])
			if r.Action != "kill" || r.Result != "done" || !strings.HasPrefix(r.Target, pid) || !strings.HasSuffix(r.Target, "in container "+a.OutputFields["container.id"].(string)+" ("+killName+")") ||
				r.LatencyUS <= 0 || r.DryRun {
				t.Errorf("kill response %+v; alert fields %v", *r, a.OutputFields)
			}
			sawKill = true
			t.Logf("kill: %s %s in %d us", r.Target, r.Result, r.LatencyUS)
		case name == pauseName:
			if r.Action != "pause" || (r.Result != "done" && !strings.Contains(r.Error, "already paused")) {
				t.Errorf("pause response %+v", *r)
			}
			sawPause = sawPause || r.Result == "done"
		case name == "host":
			if r.Action != "kill" || r.Result != "refused" || !strings.Contains(r.Error, "allow_host is off") {
				t.Errorf("host response %+v", *r)
			}
			sawHost = true
		}
	}
	if !sawKill || !sawPause || !sawHost {
		t.Errorf("responses seen: kill %v, pause %v, host refusal %v; alerts:\n%s", sawKill, sawPause, sawHost, stdout.String())
	}
	if !strings.Contains(stderr.String(), "palisade: respond: kill pid ") {
		t.Errorf("no action line in the log:\n%s", stderr.String())
	}

	// The store keeps the response; alerts --response finds it.
	out, err := exec.Command(bin, "alerts", "--store", "sqlite:"+db, "--response", "kill", "--container", killName, "-o", "json").Output()
	if err != nil {
		t.Fatalf("alerts: %v", err)
	}
	var got struct {
		Alerts []respondAlert `json:"alerts"`
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got.Alerts) == 0 || got.Alerts[0].Response == nil || got.Alerts[0].Response.Result != "done" {
		t.Errorf("stored alerts with --response kill: %v %s", err, out)
	}
	table, _ := exec.Command(bin, "alerts", "--store", "sqlite:"+db, "--container", killName).Output()
	if !strings.Contains(string(table), "kill done") {
		t.Errorf("alerts table has no response column value:\n%s", table)
	}
}

// TestRespondDryRunLive: with --dry-run the same configuration changes
// nothing: the reader lives, the container is not paused, and the alerts
// say what would have been done.
func TestRespondDryRunLive(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequireBusyboxImage(t)
	dir := t.TempDir()
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(dir, "palisade"))
	suffix := fmt.Sprint(os.Getpid())
	killName, pauseName := "palisade-resp-kill-dry-"+suffix, "palisade-resp-pause-dry-"+suffix
	for _, n := range []string{killName, pauseName} {
		exec.Command("docker", "rm", "-f", n).Run()
		n := n
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", n).Run() })
	}
	cmd, stdout, stderr, _ := startRespondWatch(t, bin, dir, "--dry-run")
	if !strings.Contains(stderr.String(), "dry run") {
		t.Errorf("no dry-run notice: %s", stderr.String())
	}
	docker(t, "run", "-d", "--name", pauseName, img, "sh", "-c", "sleep 1; tail -f /etc/shadow")
	docker(t, "run", "-d", "--name", killName, img, "sh", "-c", "sleep 1; tail -f /etc/shadow; echo rc=$?; sleep 600")
	if !waitFor(15*time.Second, func() bool {
		return strings.Count(stdout.String(), `"result":"dry_run"`) >= 2
	}) {
		t.Fatalf("no dry-run responses; alerts:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	time.Sleep(time.Second)
	logs, _ := exec.Command("docker", "logs", killName).CombinedOutput()
	if strings.Contains(string(logs), "rc=") {
		t.Errorf("dry run: tail in %s ended: %q", killName, logs)
	}
	if top, _ := exec.Command("docker", "top", killName).Output(); !strings.Contains(string(top), "tail -f /etc/shadow") {
		t.Errorf("dry run: tail not running in %s:\n%s", killName, top)
	}
	if s := inspect(pauseName, "{{.State.Status}} {{.State.Paused}}"); s != "running false" {
		t.Errorf("dry run: %s is %s", pauseName, s)
	}
	stopWatch(cmd)
	for _, a := range respondAlerts(stdout.String()) {
		if r := a.Response; r != nil && r.Result == "done" {
			t.Errorf("dry run did something: %+v", *r)
		}
	}
	if !strings.Contains(stderr.String(), "palisade: respond: dry run: kill pid ") {
		t.Errorf("no dry-run log line:\n%s", stderr.String())
	}
}

// TestRespondKillLatencyLive measures the time from the open of
// /etc/shadow (the event's kernel timestamp) to the return of
// pidfd_send_signal, over at least 100 kills of `tail -f /etc/shadow`
// restarted in a loop, and logs p50/p99 (BENCHMARKS.md).
func TestRespondKillLatencyLive(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequireBusyboxImage(t)
	dir := t.TempDir()
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(dir, "palisade"))
	name := "palisade-resp-kill-bench-" + fmt.Sprint(os.Getpid())
	exec.Command("docker", "rm", "-f", name).Run()
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	cmd, stdout, stderr, _ := startRespondWatch(t, bin, dir)
	const n = 120
	docker(t, "run", "-d", "--name", name, img, "sh", "-c",
		fmt.Sprintf("sleep 1; i=0; while [ $i -lt %d ]; do tail -f /etc/shadow; echo rc=$?; sleep 0.1; i=$((i+1)); done; echo finished; sleep 600", n))
	if !waitFor(90*time.Second, func() bool {
		logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
		return strings.Contains(string(logs), "finished")
	}) {
		logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
		t.Fatalf("the loop did not finish: %d kills so far; stderr:\n%s", strings.Count(string(logs), "rc=137"), stderr.String())
	}
	stopWatch(cmd)
	logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
	if k := strings.Count(string(logs), "rc=137"); k != n {
		t.Errorf("%d of %d tails died of SIGKILL", k, n)
	}
	var lat []int64
	for _, a := range respondAlerts(stdout.String()) {
		if r := a.Response; r != nil && r.Action == "kill" && r.Result == "done" && a.OutputFields["container.name"] == name {
			lat = append(lat, r.LatencyUS)
		}
	}
	if len(lat) < 100 {
		t.Fatalf("%d kills recorded in alerts, want at least 100", len(lat))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) int64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	t.Logf("syscall to SIGKILL over %d kills: p50 %d us, p90 %d us, p99 %d us, max %d us", len(lat), pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1])
}

// TestRespondDenyExecLive: responses.deny_exec under a real watch: the
// listed executable dies of SIGKILL at exec (before it can write its
// marker), the alert says so with its response, and a copy of the same
// bytes (another inode) runs.
func TestRespondDenyExecLive(t *testing.T) {
	testutil.RequireBPF(t)
	bb := testutil.RequireTool(t, "busybox")
	dir := t.TempDir()
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(dir, "palisade"))
	denied, allowed := filepath.Join(dir, "denied-tool"), filepath.Join(dir, "allowed-tool")
	for _, p := range []string{denied, allowed} {
		b, err := os.ReadFile(bb)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, b, 0o755)
	}
	cfg := filepath.Join(dir, "palisade.yaml")
	os.WriteFile(cfg, []byte("responses:\n  deny_exec: ["+denied+"]\n"), 0o644)
	stdout := &syncBuffer{}
	cmd, stderr := testutil.StartWatch(t, bin, stdout, "-o", "json", "--config", cfg, "--store", "none", "--metrics", "none")
	if !strings.Contains(stderr.String(), "exec deny list holds "+denied) {
		t.Errorf("no deny list notice:\n%s", stderr.String())
	}
	marker := filepath.Join(dir, "ran")
	run := func(p string) error {
		c := exec.Command(p, marker) // busybox's applet is argv[0]: touch MARKER
		c.Args[0] = "touch"
		return c.Run()
	}
	err := run(denied)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("denied tool: %v, want killed by SIGKILL", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the denied tool ran")
	}
	if err := run(allowed); err != nil {
		t.Errorf("allowed copy: %v", err)
	}
	if !waitFor(5*time.Second, func() bool { return strings.Contains(stdout.String(), "Denied executable killed at exec") }) {
		t.Errorf("no deny alert:\n%s", stdout.String())
	}
	stopWatch(cmd)
	for _, a := range respondAlerts(stdout.String()) {
		if a.Rule == "Denied executable killed at exec" {
			if r := a.Response; r == nil || r.Action != "kill" || r.Result != "done" || !strings.Contains(r.Target, "(denied-tool)") {
				t.Errorf("deny alert response %+v", r)
			}
		}
	}
	// The list is gone with the agent.
	if err := run(denied); err != nil {
		t.Errorf("after watch stopped: %v", err)
	}
}
