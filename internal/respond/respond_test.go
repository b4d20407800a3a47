package respond

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/event"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"
)

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"", "", true},
		{"*", "", true},
		{"*", "anything at all", true},
		{"Read sensitive file*", "Read sensitive file untrusted", true},
		{"Read sensitive file*", "Read sensitive", false},
		{"Read [sensitive]", "Read [sensitive]", true}, // brackets are literal
		{"Read [sensitive]", "Read s", false},
		{"docker.io/*/busybox:*", "docker.io/library/busybox:1.36", true},
		{"busybox", "busybox:latest", false},
		{"b?sy*", "busybox", true},
		{"*shim*", "containerd-shim-runc-v2", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	} {
		if got := matches(c.p, c.s); got != c.want {
			t.Errorf("matches(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

var (
	web   = &event.Container{ID: "3f2a9c1d0e4b", Name: "web", Image: "docker.io/library/nginx:1.27", Type: "docker"}
	batch = &event.Container{ID: "77aa00bb11cc", Name: "batch-7", Image: "busybox:latest", Type: "docker"}
)

func proc(pid int64, name string, c *event.Container) *event.Event {
	return &event.Event{Time: time.Now().UnixNano(), Proc: &event.Process{PID: pid, Name: name, ExePath: "/bin/" + name, StartTime: 42, Container: c}}
}

func parseConfig(t *testing.T, text string) Config {
	t.Helper()
	var c Config
	if err := yaml.Unmarshal([]byte(text), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMatch(t *testing.T) {
	cfg := parseConfig(t, `
actions:
  - name: shadow
    action: kill
    match: {rules: ["Read sensitive file*"], containers: ["web"]}
  - name: miners
    action: pause
    match: {tags: [mitre_execution], priority: error, images: ["busybox*"]}
  - name: everything else critical
    action: log
    match: {priority: critical}
`)
	r, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(time.Second)
	for _, c := range []struct {
		rule string
		pri  alert.Priority
		tags []string
		ctr  *event.Container
		want string
	}{
		{"Read sensitive file untrusted", alert.Warning, nil, web, "shadow"},
		{"Read sensitive file untrusted", alert.Warning, nil, batch, ""},
		{"Read sensitive file untrusted", alert.Critical, nil, batch, "everything else critical"},
		{"Crypto miner", alert.Error, []string{"mitre_execution"}, batch, "miners"},
		{"Crypto miner", alert.Warning, []string{"mitre_execution"}, batch, ""}, // below error
		{"Crypto miner", alert.Error, []string{"mitre_execution"}, event.Host, ""},
		{"Crypto miner", alert.Emergency, nil, event.Host, "everything else critical"},
	} {
		a := alert.Alert{Rule: c.rule, Priority: c.pri, Tags: c.tags}
		got := ""
		if e := r.Match(&a, proc(100, "x", c.ctr)); e != nil {
			got = e.Name
		}
		if got != c.want {
			t.Errorf("%s %s %v in %s: matched %q, want %q", c.rule, c.pri, c.tags, c.ctr.Name, got, c.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"actions:\n  - action: kil\n    match: {priority: error}\n", `palisade.yaml:2: responses.actions[0]: unknown action "kil"`},
		{"actions:\n  - action: kill\n", `palisade.yaml:2: responses.actions[0].match: empty`},
		{"actions:\n  - action: kill\n    match: {priority: loud}\n", `unknown priority "loud"`},
		{"actions:\n  - match: {rules: [x]}\n", `action missing`},
		{"rate: {global: {per_second: 1000}}\n", `responses.rate.global: at most 100 per second`},
		{"rate: {per_container: {burst: 101}}\n", `responses.rate.per_container: at most 20 per second and a burst of 100`},
		{"actions:\n  - action: stop\n    grace: 1h\n    match: {rules: [x]}\n", `grace: want between 0 and 5m`},
		{"read_every: 1s\n", `responses.read_every: 1s: want between 100us and 10ms`},
		{"deny_exec: [bin/nc]\n", `responses.deny_exec: "bin/nc": want an absolute path`},
	} {
		err := parseConfig(t, c.text).Check("palisade.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
}

// TestGuardRails: whatever a rule makes match, a kill response never hits
// the host's init, a runtime process, the kubelet, the agent or its
// ancestors; host processes only with allow_host.
func TestGuardRails(t *testing.T) {
	g := Guard{Self: 500, Ancestors: map[int64]bool{1: true, 400: true}, OwnContainer: "aaaaaaaaaaaa"}
	own := &event.Container{ID: "aaaaaaaaaaaa", Name: "palisade", Type: "docker"}
	for _, c := range []struct {
		action    Action
		pid       int64
		name      string
		ctr       *event.Container
		allowHost bool
		want      string // part of the reason; "" allowed
	}{
		{Kill, 1, "systemd", event.Host, true, "host's init"},
		{Kill, 0, "swapper", event.Host, true, "host's init"},
		{Kill, 900, "dockerd", event.Host, true, "container runtime"},
		{Kill, 901, "containerd", event.Host, true, "container runtime"},
		{Kill, 902, "containerd-shim-runc-v2", event.Host, true, "container runtime"},
		{Kill, 903, "runc", event.Host, true, "container runtime"},
		{Kill, 904, "conmon", event.Host, true, "container runtime"},
		{Kill, 905, "crio", event.Host, true, "container runtime"},
		{Kill, 906, "podman", event.Host, true, "container runtime"},
		{Kill, 907, "kubelet", event.Host, true, "container runtime or kubelet"},
		{Kill, 500, "palisade", event.Host, true, "the agent itself"},
		{Kill, 400, "sudo", event.Host, true, "ancestor"},
		{Kill, 1000, "bash", event.Host, false, "allow_host is off"},
		{Kill, 1000, "bash", event.Host, true, ""},
		{Kill, 1000, "bash", nil, false, "allow_host is off"}, // unknown container is the host
		{Kill, 1001, "cat", web, false, ""},
		{Kill, 1002, "dockerd", web, false, ""}, // a name in a container buys nothing
		{Kill, 1003, "cat", own, true, "agent's own container"},
		{Pause, 1000, "bash", event.Host, true, "not in a container"},
		{Pause, 1001, "cat", web, false, ""},
		{Stop, 1003, "cat", own, true, "agent's own container"},
		{Log, 1, "systemd", event.Host, false, ""},
	} {
		g.AllowHost = c.allowHost
		p := &event.Process{PID: c.pid, Name: c.name, Container: c.ctr}
		got := g.Refuse(c.action, p)
		if (got == "") != (c.want == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s pid %d %s in %v (allow_host %v): refused %q, want %q", c.action, c.pid, c.name, c.ctr, c.allowHost, got, c.want)
		}
	}
}

type recorder struct {
	mu     sync.Mutex
	alerts []alert.Alert
	ch     chan alert.Alert
}

func newRecorder() *recorder { return &recorder{ch: make(chan alert.Alert, 100)} }

func (r *recorder) send(a alert.Alert) {
	r.mu.Lock()
	r.alerts = append(r.alerts, a)
	r.mu.Unlock()
	r.ch <- a
}

func (r *recorder) next(t *testing.T) alert.Alert {
	t.Helper()
	select {
	case a := <-r.ch:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("no alert sent")
	}
	return alert.Alert{}
}

// TestRespondKillEverythingRule: a rule file whose every alert asks for a
// kill, allow_host on, still leaves pid 1 and dockerd alone; the refusals
// are in the alerts and the log.
func TestRespondKillEverythingRule(t *testing.T) {
	var killed []int64
	var log bytes.Buffer
	cfg := parseConfig(t, "allow_host: true\nactions:\n  - action: kill\n    match: {rules: ['*']}\n")
	r, err := New(cfg, Options{Guard: Guard{Self: 500}, Log: &log, Kill: func(pid, _ int64) error { killed = append(killed, pid); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(time.Second)
	rec := newRecorder()
	for _, ev := range []*event.Event{proc(1, "systemd", event.Host), proc(800, "dockerd", event.Host), proc(1234, "cat", web)} {
		r.Respond(ev, alert.Alert{Rule: "Anything"}, rec.send)
	}
	if fmt.Sprint(killed) != "[1234]" {
		t.Errorf("killed %v, want only [1234]", killed)
	}
	want := []string{"refused", "refused", "done"}
	for i, a := range rec.alerts {
		if a.Response == nil || a.Response.Result != want[i] || a.Response.Action != "kill" {
			t.Errorf("alert %d response %+v, want result %s", i, a.Response, want[i])
		}
	}
	if rec.alerts[2].Response.Target != "pid 1234 (cat) in container 3f2a9c1d0e4b (web)" {
		t.Errorf("target %q", rec.alerts[2].Response.Target)
	}
	if !strings.Contains(log.String(), "kill pid 1 (systemd) in host: refused (pid 1 is the host's init)") ||
		!strings.Contains(log.String(), `"dockerd" is a container runtime`) {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestRespondDryRunChangesNothing(t *testing.T) {
	cfg := parseConfig(t, "dry_run: true\nactions:\n  - action: kill\n    match: {rules: ['*']}\n  - action: pause\n    match: {priority: debug}\n")
	fe := &fakeEngine{}
	r, err := New(cfg, Options{Kill: func(pid, _ int64) error { t.Errorf("dry run killed %d", pid); return nil },
		Engines: func() []container.Daemon { return []container.Daemon{fe} }})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	r.Respond(proc(1234, "cat", web), alert.Alert{Rule: "x"}, rec.send)
	a := rec.next(t)
	if a.Response.Result != alert.ResultDryRun || !a.Response.DryRun {
		t.Errorf("response %+v", a.Response)
	}
	r.Close(time.Second)
	if len(fe.calls) != 0 {
		t.Errorf("dry run called the engine: %v", fe.calls)
	}
}

func TestRespondRateLimit(t *testing.T) {
	now := time.Unix(1000, 0)
	cfg := parseConfig(t, "rate: {global: {per_second: 2, burst: 3}, per_container: {per_second: 1, burst: 2}}\nactions:\n  - action: kill\n    match: {rules: ['*']}\n")
	n := 0
	r, err := New(cfg, Options{Now: func() time.Time { return now }, Kill: func(int64, int64) error { n++; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(time.Second)
	rec := newRecorder()
	for range 3 {
		r.Respond(proc(1234, "cat", web), alert.Alert{Rule: "x"}, rec.send)
	}
	r.Respond(proc(1235, "cat", batch), alert.Alert{Rule: "x"}, rec.send) // global: third token
	r.Respond(proc(1236, "cat", batch), alert.Alert{Rule: "x"}, rec.send) // global empty
	var results []string
	for _, a := range rec.alerts {
		results = append(results, a.Response.Result)
	}
	if got := strings.Join(results, " "); got != "done done refused done refused" || n != 3 {
		t.Errorf("results %s, %d kills", got, n)
	}
	if e := rec.alerts[2].Response.Error; !strings.Contains(e, "on this container") {
		t.Errorf("per-container refusal says %q", e)
	}
	if e := rec.alerts[4].Response.Error; !strings.Contains(e, "in all") {
		t.Errorf("global refusal says %q", e)
	}
	now = now.Add(1500 * time.Millisecond)
	r.Respond(proc(1236, "cat", batch), alert.Alert{Rule: "x"}, rec.send)
	if a := rec.alerts[5]; a.Response.Result != "done" {
		t.Errorf("after 1.5s: %+v", a.Response)
	}
}

func TestRespondKillGone(t *testing.T) {
	cfg := parseConfig(t, "actions:\n  - action: kill\n    match: {rules: ['*']}\n")
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("pidfd_open 1234: %w", unix.ESRCH), alert.ResultGone},
		{errReused, alert.ResultGone},
		{fmt.Errorf("pidfd_send_signal 1234: %w", unix.EPERM), alert.ResultFailed},
	} {
		r, _ := New(cfg, Options{Kill: func(int64, int64) error { return c.err }})
		rec := newRecorder()
		r.Respond(proc(1234, "cat", web), alert.Alert{Rule: "x"}, rec.send)
		r.Close(time.Second)
		if a := rec.alerts[0]; a.Response.Result != c.want || a.Response.Error != c.err.Error() {
			t.Errorf("%v: response %+v", c.err, a.Response)
		}
	}
}

type fakeEngine struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeEngine) Lookup(context.Context, container.Ref) (*event.Container, error) {
	return nil, nil
}
func (f *fakeEngine) Ping(context.Context) error { return nil }
func (f *fakeEngine) Runtime() string            { return "docker" }
func (f *fakeEngine) Owner() int                 { return -1 }
func (f *fakeEngine) Endpoint() string           { return "fake docker" }
func (f *fakeEngine) record(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return f.err
}
func (f *fakeEngine) Pause(_ context.Context, ns, id string) error { return f.record("pause " + id) }
func (f *fakeEngine) Stop(_ context.Context, ns, id string, g time.Duration) error {
	return f.record(fmt.Sprintf("stop %s %s", id, g))
}
func (f *fakeEngine) Isolate(_ context.Context, ns, id string) ([]string, error) {
	return []string{"bridge"}, f.record("isolate " + id)
}

func TestRespondContainerActions(t *testing.T) {
	cfg := parseConfig(t, `
actions:
  - action: pause
    match: {containers: [web]}
  - action: stop
    grace: 2s
    match: {containers: [batch-*]}
  - action: isolate
    match: {containers: ["bbbb*"]}
`)
	fe := &fakeEngine{}
	r, err := New(cfg, Options{Engines: func() []container.Daemon { return []container.Daemon{fe} }})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	r.Respond(proc(10, "sh", web), alert.Alert{Rule: "x"}, rec.send)
	r.Respond(proc(11, "sh", web), alert.Alert{Rule: "y"}, rec.send) // already paused
	r.Respond(proc(12, "sh", batch), alert.Alert{Rule: "x"}, rec.send)
	iso := &event.Container{ID: "bbbbbbbbbbbb", Name: "db", Type: "docker"}
	r.Respond(proc(13, "sh", iso), alert.Alert{Rule: "x"}, rec.send)
	r.Respond(proc(14, "sh", event.Host), alert.Alert{Rule: "x"}, rec.send) // matches nothing: no container
	r.Close(5 * time.Second)
	if got := strings.Join(fe.calls, ", "); got != "pause 3f2a9c1d0e4b, stop 77aa00bb11cc 2s, isolate bbbbbbbbbbbb" {
		t.Errorf("engine calls: %s", got)
	}
	results := map[string]string{}
	for _, a := range rec.alerts {
		if a.Response == nil {
			results[a.Rule+" none"] = "no response"
			continue
		}
		results[a.Rule+" "+a.Response.Action+" "+a.Response.Target] = a.Response.Result + " " + a.Response.Error
	}
	want := map[string]string{
		"x pause container 3f2a9c1d0e4b (web)":    "done ",
		"y pause container 3f2a9c1d0e4b (web)":    "refused already paused by an earlier response",
		"x stop container 77aa00bb11cc (batch-7)": "done ",
		"x isolate container bbbbbbbbbbbb (db)":   "done ",
		"x none":                                  "no response",
	}
	if fmt.Sprint(results) != fmt.Sprint(want) {
		t.Errorf("results\n%v\nwant\n%v", results, want)
	}
}

func TestRespondEngineFails(t *testing.T) {
	cfg := parseConfig(t, "actions:\n  - action: pause\n    match: {rules: ['*']}\n")
	fe := &fakeEngine{err: errors.New("permission denied")}
	r, _ := New(cfg, Options{Engines: func() []container.Daemon { return []container.Daemon{fe} }})
	rec := newRecorder()
	r.Respond(proc(10, "sh", web), alert.Alert{Rule: "x"}, rec.send)
	a := rec.next(t)
	if a.Response.Result != alert.ResultFailed || a.Response.Error != "fake docker: permission denied" {
		t.Errorf("response %+v", a.Response)
	}
	fe.err = nil
	r.Respond(proc(10, "sh", web), alert.Alert{Rule: "x"}, rec.send) // a failure is not remembered
	if a := rec.next(t); a.Response.Result != alert.ResultDone {
		t.Errorf("retry: %+v", a.Response)
	}
	r.Close(time.Second)
}

func TestStartMatches(t *testing.T) {
	const off = int64(1_700_000_000_123_456_789) // realtime - boottime
	const btime = int64(1_700_000_000) * 1e9     // off truncated to seconds
	ticks := int64(123456)
	kernel := ticks*tick + off + 3_000_000 // the kernel's stamp, 3 ms into the tick
	for _, c := range []struct {
		name    string
		startNS int64
		want    bool
	}{
		{"fork record", kernel + 5_000, true},
		{"read from /proc", btime + ticks*tick, true},
		{"another process a second later", kernel + 1e9, false},
		{"another process a second earlier", kernel - 1e9, false},
		{"another process 100ms later", kernel + 100_000_000, false},
	} {
		if got := startMatches(ticks, c.startNS, off, btime); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLatency(t *testing.T) {
	for _, c := range []struct {
		text string
		want time.Duration
	}{
		{"actions:\n  - {action: pause, match: {rules: [x]}}\n", 0},
		{"actions:\n  - {action: pause, match: {rules: [x]}}\n  - {action: kill, match: {rules: [y]}}\n", PollEvery},
		{"read_every: 3ms\nactions:\n  - {action: kill, match: {rules: [y]}}\n", 3 * time.Millisecond},
		{"read_every: 3ms\n", 0},
	} {
		if got := parseConfig(t, c.text).Latency(); got != c.want {
			t.Errorf("%q: %v, want %v", c.text, got, c.want)
		}
	}
}
