package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/detect"
	"github.com/palisade-sec/palisade/internal/syscalls"
	"github.com/palisade-sec/palisade/internal/testutil"
)

type syncBuffer = testutil.SyncBuffer

const liveRules = `
- rule: Seed example shell in container
  desc: The guide's example rule.
  condition: container.id != host and proc.name = bash and evt.type = execve
  output: "Shell spawned in container (user=%user.name container=%container.name)"
  priority: NOTICE
- rule: Marker exec
  desc: d
  condition: evt.type = execve and proc.cmdline contains palisade-live-marker
  output: "exec %proc.exepath"
  priority: INFO
- rule: Shadow open
  desc: d
  condition: evt.type in (open, openat, openat2) and fd.name = /etc/shadow and proc.name = cat
  output: "open %fd.name raw=%fd.nameraw"
  priority: WARNING
- rule: Loopback connect
  desc: d
  condition: evt.type = connect and fd.sip = 127.0.0.1 and fd.sport = PORT
  output: "connect %fd.name"
  priority: INFO
- rule: Short-lived container process
  desc: d
  condition: evt.type = execve and container.id != host and proc.name = true
  output: "exec in %container.id"
  priority: INFO
- rule: Env marker
  desc: d
  condition: evt.type = execve and proc.env[PALISADE_MARK] = live and proc.name = true
  output: "env %proc.env[PALISADE_MARK] cwd=%proc.cwd"
  priority: INFO
- rule: Stdout to a pipe
  desc: d
  condition: evt.type in (dup, dup2, dup3) and fd.type = pipe and proc.pcmdline contains palisade-pipe-marker
  output: "dup %fd.name %fd.typechar"
  priority: INFO
`

type liveAlert struct {
	Rule         string         `json:"rule"`
	Output       string         `json:"output"`
	OutputFields map[string]any `json:"output_fields"`
}

func parseAlerts(t *testing.T, s string) []liveAlert {
	var out []liveAlert
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var a liveAlert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("alert %q: %v", line, err)
		}
		out = append(out, a)
	}
	return out
}

func TestWatchLive(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequireBashImage(t)

	ln := testutil.Serve(t, "tcp", "127.0.0.1:0", testutil.HangUp)
	port := ln.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	rulesFile := filepath.Join(dir, "live.yaml")
	os.WriteFile(rulesFile, []byte(strings.Replace(liveRules, "PORT", fmt.Sprint(port), 1)), 0o644)
	recFile := filepath.Join(dir, "session.jsonl")
	dbFile := filepath.Join(dir, "alerts.db")
	// Text lines go to a file while stdout carries Falco JSON, so both
	// renderings can be held against replay's.
	watchText := filepath.Join(dir, "watch.txt")
	watchCfg := filepath.Join(dir, "watch.yaml")
	os.WriteFile(watchCfg, []byte("outputs:\n  file:\n    path: "+watchText+"\n    format: text\n"), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int)
	start := time.Now()
	go func() {
		// A 64 MiB ring: the agent sees every process on the host, and the
		// other packages' tests, run alongside this one, make floods of
		// calls (close loops, exec storms) that a 2 MiB ring did not
		// always hold while both CPUs were busy.
		done <- Run(ctx, []string{"watch", "-r", rulesFile, "-o", "json", "--record", recFile, "--store", "sqlite:" + dbFile, "--metrics", "127.0.0.1:0", "--config", watchCfg,
			"--ring-buffer", "64"}, strings.NewReader(""), &stdout, &stderr)
	}()
	for !strings.Contains(stderr.String(), "watching:") {
		select {
		case code := <-done:
			t.Fatalf("watch exited %d: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("watch not ready after 15s: %s", stderr.String())
		}
	}
	t.Logf("watch ready after %v", time.Since(start))

	sh := func(script string) {
		if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", script, err, out)
		}
	}
	sh("/bin/echo palisade-live-marker >/dev/null")
	sh("cd /etc && cat shadow >/dev/null")
	sh("/bin/echo palisade-pipe-marker | /bin/cat >/dev/null")
	sh("cd /tmp && env -i PALISADE_MARK=live /bin/true") // -i: within the 4 KiB captured, whatever the test's environment
	sh(fmt.Sprintf("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'", port))
	name := fmt.Sprintf("palisade-watch-%d", time.Now().UnixNano())
	if out, err := exec.Command("docker", "run", "--rm", "--name", name, img, "bash", "-c", "/bin/true").CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v %s", err, out)
	}
	want := map[string]bool{"Seed example shell in container": false, "Marker exec": false, "Shadow open": false, "Loopback connect": false, "Short-lived container process": false,
		"Stdout to a pipe": false, "Env marker": false}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		all := true
		for _, a := range parseAlerts(t, stdout.String()) {
			if _, ok := want[a.Rule]; ok {
				want[a.Rule] = true
			}
		}
		for _, v := range want {
			all = all && v
		}
		if all {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("watch exit %d: %s", code, stderr.String())
	}
	alerts := parseAlerts(t, stdout.String())
	byRule := map[string][]liveAlert{}
	for _, a := range alerts {
		byRule[a.Rule] = append(byRule[a.Rule], a)
	}
	for r, seen := range want {
		if !seen {
			t.Errorf("no %q alert; stderr: %s", r, stderr.String())
		}
	}
	echo := false
	for _, a := range byRule["Marker exec"] {
		// The default append_output names the container (here the host).
		echo = echo || strings.HasSuffix(a.Output, "exec /usr/bin/echo container_id=host container_name=host container_image=<NA> container_image_tag=<NA> k8s_ns=<NA> k8s_pod_name=<NA>") ||
			strings.Contains(a.Output, "exec /bin/echo container_id=host ")
	}
	if !echo {
		t.Errorf("host exec of echo not seen: %v", byRule["Marker exec"])
	}
	if a := byRule["Shadow open"]; len(a) > 0 && !strings.Contains(a[0].Output, "open /etc/shadow raw=shadow") {
		t.Errorf("relative open: %s", a[0].Output)
	}
	if a := byRule["Stdout to a pipe"]; len(a) > 0 && !regexp.MustCompile(` dup pipe:\[[0-9]+\] p container_id=host `).MatchString(a[0].Output) {
		t.Errorf("pipe: %s", a[0].Output)
	}
	if a := byRule["Env marker"]; len(a) > 0 && !strings.Contains(a[0].Output, "env live cwd=/tmp/ container_id=host ") {
		t.Errorf("env marker: %s", a[0].Output)
	}
	if a := byRule["Loopback connect"]; len(a) > 0 && !strings.Contains(a[0].Output, fmt.Sprintf("->127.0.0.1:%d", port)) {
		t.Errorf("connect: %s", a[0].Output)
	}
	if a := byRule["Seed example shell in container"]; len(a) > 0 && !strings.Contains(a[0].Output, "container="+name) {
		t.Errorf("seed rule: %s", a[0].Output)
	}
	if a := byRule["Short-lived container process"]; len(a) > 0 {
		id, _ := a[0].OutputFields["container.id"].(string)
		if len(id) != 12 {
			t.Errorf("1-ms container process without container id: %v", a[0].OutputFields)
		}
	}
	var summary detect.Stats
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil || summary.Events == 0 || summary.Alerts != uint64(len(alerts)) {
		t.Errorf("summary %q: %v", lines[len(lines)-1], err)
	}

	// Every alert reached the store, queryable with palisade alerts.
	code, out, errs := run(t, "", "alerts", "--store", "sqlite:"+dbFile, "-o", "json")
	if code != 0 {
		t.Fatalf("alerts: %s", errs)
	}
	var stored struct {
		Alerts []liveAlert `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(out), &stored); err != nil || len(stored.Alerts) != len(alerts) {
		t.Errorf("store holds %d alerts, watch printed %d (%v)", len(stored.Alerts), len(alerts), err)
	}

	// The recorded session replays to the same alerts, through the same
	// outputs: Falco JSON on stdout, the webhook, the store and the text
	// file hold exactly what watch delivered live.
	replayCompare(t, dir, rulesFile, recFile, stdout.String(), watchText)
}

// replayCompare replays recFile with rulesFile to stdout (JSON), a webhook,
// a store and a text file, and holds each against what watch wrote live.
func replayCompare(t *testing.T, dir, rulesFile, recFile, liveJSON, liveTextFile string) {
	t.Helper()
	var mu sync.Mutex
	var posted []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted = append(posted, string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	replayText := filepath.Join(dir, "replay.txt")
	replayDB := filepath.Join(dir, "replay.db")
	replayCfg := filepath.Join(dir, "replay.yaml")
	os.WriteFile(replayCfg, []byte("outputs:\n  file:\n    path: "+replayText+"\n    format: text\n  webhook:\n    url: "+srv.URL+"\n    spool_dir: "+filepath.Join(dir, "spool")+"\n"), 0o644)
	code, out, errs := run(t, "", "replay", "-r", rulesFile, "-o", "json", "--config", replayCfg, "--webhook", srv.URL, "--store", "sqlite:"+replayDB, recFile)
	if code != 0 {
		t.Fatalf("replay: %s", errs)
	}
	// A drop alert (the host was busy) comes from the capture, not from an
	// event: a recording cannot hold it.
	lines := func(s string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if !strings.Contains(l, detect.DropAlertRule) {
				out = append(out, l)
			}
		}
		return out
	}
	live := lines(liveJSON)
	// Each live alert carries an ID of its own (watch is an agent); a replay
	// is not one and assigns none, so the rest of each alert must match.
	uuidKey := regexp.MustCompile(`,"uuid":"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"`)
	seen := map[string]bool{}
	for i, l := range live {
		id := uuidKey.FindString(l)
		if id == "" || seen[id] {
			t.Errorf("live alert without an ID of its own: %s", l)
		}
		seen[id] = true
		live[i] = uuidKey.ReplaceAllString(l, "")
	}
	liveJSON = strings.Join(live, "\n")
	if got := lines(out); strings.Join(got, "\n") != strings.Join(live, "\n") {
		t.Errorf("replay's JSON differs from watch's:\nlive:\n%s\nreplay:\n%s", strings.Join(live, "\n"), strings.Join(got, "\n"))
	}
	liveText, err1 := os.ReadFile(liveTextFile)
	replayedText, err2 := os.ReadFile(replayText)
	if err1 != nil || err2 != nil || len(liveText) == 0 || strings.Join(lines(string(liveText)), "\n") != strings.TrimSpace(string(replayedText)) {
		t.Errorf("text lines differ (%v, %v):\nlive:\n%s\nreplay:\n%s", err1, err2, liveText, replayedText)
	}
	mu.Lock()
	hooks := append([]string(nil), posted...)
	mu.Unlock()
	sorted := func(ss []string) string {
		ss = append([]string(nil), ss...)
		sort.Strings(ss)
		return strings.Join(ss, "\n")
	}
	if sorted(hooks) != sorted(live) {
		t.Errorf("webhook got %d alerts, watch printed %d:\n%s", len(hooks), len(live), strings.Join(hooks, "\n"))
	}
	code, out, errs = run(t, "", "alerts", "--store", "sqlite:"+replayDB, "-o", "json")
	if code != 0 {
		t.Fatalf("alerts: %s", errs)
	}
	var stored struct {
		Alerts []liveAlert `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(out), &stored); err != nil {
		t.Fatal(err)
	}
	var storedKeys, liveKeys []string
	for _, a := range stored.Alerts {
		storedKeys = append(storedKeys, a.Rule+"|"+a.Output)
	}
	for _, a := range parseAlerts(t, liveJSON) {
		liveKeys = append(liveKeys, a.Rule+"|"+a.Output)
	}
	if sorted(storedKeys) != sorted(liveKeys) {
		t.Errorf("replay's store holds:\n%s\nwatch printed:\n%s", sorted(storedKeys), sorted(liveKeys))
	}

	// The recording exported as JSON lines replays to the same alerts.
	jsonl := filepath.Join(dir, "session.jsonl")
	if code, _, errs := run(t, "", "replay", "--export-jsonl", jsonl, recFile); code != 0 || !strings.Contains(errs, "events exported") {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	if b, err := os.ReadFile(jsonl); err != nil || !strings.HasPrefix(string(b), "{") {
		t.Fatalf("export is not JSON lines: %v %.40q", err, b)
	}
	code, out, errs = run(t, "", "replay", "-r", rulesFile, "-o", "json", jsonl)
	if got := lines(out); code != 0 || strings.Join(got, "\n") != strings.Join(live, "\n") {
		t.Errorf("exported JSONL replays differently (exit %d, %s):\n%s", code, errs, strings.Join(got, "\n"))
	}
}

func TestWatchRingBufferFlag(t *testing.T) {
	code, _, errs := run(t, "", "watch", "--ring-buffer", "3")
	if code != 2 || !strings.Contains(errs, "--ring-buffer 3: want a power of two") {
		t.Errorf("exit %d: %q", code, errs)
	}
	if code, _, errs := run(t, "", "watch", "--nice", "25"); code != 2 || !strings.Contains(errs, "--nice 25") {
		t.Errorf("--nice 25: exit %d: %q", code, errs)
	}
	// --hostname is a flag of watch (checked before the capture starts).
	if code, _, errs := run(t, "", "watch", "--hostname", "node-7", "--nice", "25"); code != 2 || !strings.Contains(errs, "--nice 25") {
		t.Errorf("--hostname: exit %d: %q", code, errs)
	}
}

func TestWatchNeedsRules(t *testing.T) {
	f := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(f, []byte("- rule: r\n"), 0o644)
	code, _, errs := run(t, "", "watch", "-r", f)
	if code != 1 || !strings.Contains(errs, "bad.yaml:1:3") {
		t.Errorf("exit %d: %q", code, errs)
	}
}

// watch --list-syscalls names what a rule set makes the capture select and
// why, without root: the rules' event types plus the state's base set.
func TestWatchListSyscalls(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "r.yaml")
	body := "- rule: ptrace attach\n  desc: d\n  condition: evt.type = ptrace and evt.arg.request = 16\n  output: o\n  priority: WARNING\n" +
		"- rule: open shadow\n  desc: d\n  condition: evt.type in (open, openat) and fd.name = /etc/shadow\n  output: o\n  priority: WARNING\n"
	if err := os.WriteFile(rules, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"watch", "--list-syscalls", "-r", rules, "-o", "json"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got struct {
		AllTypes bool           `json:"all_types"`
		Syscalls []captureEntry `json:"syscalls"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	by := map[string]captureEntry{}
	for _, e := range got.Syscalls {
		by[e.Name] = e
	}
	for name, want := range map[string][2]bool{
		"ptrace": {true, false}, "openat": {true, true}, "open": {true, true}, "close": {false, true}, "close_range": {false, true},
	} {
		if e, ok := by[name]; !ok || e.Rules != want[0] || e.State != want[1] {
			t.Errorf("%s: %+v (listed %v), want rules=%v state=%v", name, e, ok, want[0], want[1])
		}
	}
	if _, ok := by["mount"]; ok || got.AllTypes {
		t.Errorf("mount listed (all types %v): no rule or state needs it", got.AllTypes)
	}
	// The rest is exactly what the descriptors mark as needed by the state.
	for _, d := range syscalls.Descriptors() {
		if e, ok := by[d.Name]; d.State && (!ok || !e.State) {
			t.Errorf("%s: %+v (listed %v), want state=true", d.Name, e, ok)
		}
	}
	for _, e := range got.Syscalls {
		if d := syscalls.Describe(e.Name); e.Name != "ptrace" && (d == nil || !d.State) {
			t.Errorf("%s listed: neither the rules nor the state need it", e.Name)
		}
	}
	out.Reset()
	if code := Run(context.Background(), []string{"watch", "--list-syscalls", "-r", rules}, strings.NewReader(""), &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "ptrace") || !strings.Contains(out.String(), "syscalls captured on") {
		t.Errorf("text listing (exit %d):\n%s", code, out.String())
	}
}

// The agent, stopped while a burst overflows its 1 MiB ring, reports the
// drops on stderr while it runs and in its exit summary.
func TestWatchWarnsOnDrops(t *testing.T) {
	testutil.RequireBPF(t)
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(t.TempDir(), "palisade"))
	rules := filepath.Join(t.TempDir(), "r.yaml")
	body := "- rule: never\n  desc: d\n  condition: evt.type = close and fd.num = 123456\n  output: o\n  priority: WARNING\n"
	if err := os.WriteFile(rules, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout testutil.SyncBuffer
	cmd, stderr := testutil.StartWatch(t, bin, &stdout, "-r", rules, "--ring-buffer", "1", "--store", "none", "--metrics", "none", "-o", "json")
	closes := func(n int) {
		for range n {
			unix.Close(-1)
		}
	}
	// Stopped, the agent reads nothing: 30,000 close records (96 bytes
	// each in the ring) overflow a 1 MiB ring. Kept small: other packages'
	// tests capture close too, and their rings must not overflow.
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	closes(30_000)
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// The agent looks at the drop counters every 4,096 records, at most
	// once a second: keep records coming until it has warned.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "events dropped") && time.Now().Before(deadline) {
		closes(5_000)
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch: %v\n%s", err, stderr.String())
	}
	out := stderr.String()
	if !strings.Contains(out, "palisade: warning: ") || !strings.Contains(out, "events dropped since start") {
		t.Errorf("no drop warning on stderr:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var st detect.Stats
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &st); err != nil || st.Drops == 0 {
		t.Errorf("summary %q: drops %d (%v), want some", lines[len(lines)-1], st.Drops, err)
	}
	// And an alert says so, in Falco's shape, wherever alerts go.
	var drop liveAlert
	for _, a := range parseAlerts(t, stdout.String()) {
		if a.Rule == detect.DropAlertRule {
			drop = a
		}
	}
	if n, _ := drop.OutputFields["n_drops"].(string); n == "" || n == "0" || !strings.Contains(drop.Output, "system calls dropped in last") {
		t.Errorf("no drop alert on stdout:\n%s", stdout.String())
	}
}
