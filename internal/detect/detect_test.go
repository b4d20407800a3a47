package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/rules"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// Drops are warned about at once, then at most once per period, each time
// with the count since the last warning.
func TestDropWarner(t *testing.T) {
	w := dropWarner{every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	if _, ok := w.note(t0, 0); ok {
		t.Fatal("warned without drops")
	}
	msg, ok := w.note(t0, 5)
	if !ok || !strings.Contains(msg, "5 events dropped since start (5 in all)") {
		t.Fatalf("first drops: %q %v", msg, ok)
	}
	if _, ok := w.note(t0.Add(3*time.Second), 9); ok {
		t.Error("warned again within the period")
	}
	if _, ok := w.note(t0.Add(20*time.Second), 5); ok {
		t.Error("warned with no new drops")
	}
	msg, ok = w.note(t0.Add(21*time.Second), 12)
	if !ok || !strings.Contains(msg, "7 events dropped in the last 21s (12 in all)") {
		t.Errorf("later drops: %q %v", msg, ok)
	}
}

const testRules = `
- rule: Shadow read
  desc: d
  condition: evt.type = openat and fd.name = /etc/shadow
  output: "shadow read by %proc.name"
  priority: WARNING
`

const testEvents = `{"type":"openat","res":3,"proc":{"pid":7,"name":"cat","uid":0,"gid":0},"fd":{"num":3,"type":"file","name":"/etc/shadow"}}
{"type":"openat","res":3,"proc":{"pid":7,"name":"cat","uid":0,"gid":0},"fd":{"num":3,"type":"file","name":"/etc/hosts"}}
{"type":"getpid","res":7,"proc":{"pid":7,"name":"cat","uid":0,"gid":0}}
{"type":"openat","res":3,"proc":{"pid":8,"name":"less","uid":0,"gid":0},"fd":{"num":3,"type":"file","name":"/etc/shadow"}}
`

func loadRules(t *testing.T) *rules.Ruleset {
	t.Helper()
	rs, res := rules.Load([]rules.File{{Name: "t.yaml", Data: []byte(testRules)}}, rules.Options{})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	return rs
}

func textPipeline(t *testing.T, w io.Writer) *outputs.Pipeline {
	t.Helper()
	cfg := outputs.Config{}
	cfg.Store.URL, cfg.Metrics.Address, cfg.Outputs.Terminal.Format = "none", "none", "text"
	p, err := outputs.FromConfig(context.Background(), cfg, outputs.Env{Stdout: w, Block: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type memRecord struct {
	types   []string
	flushed bool
}

func (m *memRecord) Write(e *event.Event) error {
	m.types = append(m.types, e.Type.String())
	return nil
}
func (m *memRecord) Flush() error { m.flushed = true; return nil }

// One loop over a recording: alerts reach the pipeline's outputs with the
// terminal's text rendering, events are counted in the stats and the
// metrics, and the record writer gets the events the rules' types select.
func TestRunRecorded(t *testing.T) {
	var out bytes.Buffer
	pipe := textPipeline(t, &out)
	rec := &memRecord{}
	st, err := Run(context.Background(), NewRecorded(strings.NewReader(testEvents), "t.jsonl"), Options{Rules: loadRules(t), Pipeline: pipe, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := pipe.Close(time.Second); err != nil {
		t.Fatal(err)
	}
	if st != (Stats{Events: 4, Alerts: 2}) {
		t.Errorf("stats %+v", st)
	}
	if got := pipe.Metrics.Events.Value(); got != 4 {
		t.Errorf("events metric %d", got)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || lines[0] != "00:00:00.000000000: Warning shadow read by cat [Shadow read]" ||
		lines[1] != "00:00:00.000000000: Warning shadow read by less [Shadow read]" {
		t.Errorf("alerts:\n%s", out.String())
	}
	if strings.Join(rec.types, ",") != "openat,openat,openat" || !rec.flushed {
		t.Errorf("recorded %v flushed %v; want the three openat events", rec.types, rec.flushed)
	}
}

// A bad record ends the run with its position, after the alerts before it.
func TestRunRecordedBadInput(t *testing.T) {
	var out bytes.Buffer
	pipe := textPipeline(t, &out)
	in := strings.SplitN(testEvents, "\n", 2)[0] + "\n{\"type\": nope}\n"
	st, err := Run(context.Background(), NewRecorded(strings.NewReader(in), "bad.jsonl"), Options{Rules: loadRules(t), Pipeline: pipe})
	pipe.Close(time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "bad.jsonl:2:") || st.Alerts != 1 {
		t.Errorf("err %v stats %+v", err, st)
	}
}

// dropSource is a source that reports drops while it runs.
type dropSource struct {
	drops atomic.Uint64
}

func (d *dropSource) DropCounts() (DropCounts, error) {
	n := d.drops.Load()
	return DropCounts{Events: 100 + n, Drops: n, PerCPU: []uint64{0, n}}, nil
}
func (d *dropSource) Run(ctx context.Context, emit func(*event.Event) error) error {
	d.drops.Store(7)
	<-ctx.Done()
	return nil
}

// Drops a source reports while the loop runs reach the metrics, a warning,
// the stats and one alert in Falco's shape, even when no event arrives.
func TestRunReportsDrops(t *testing.T) {
	var out testutil.SyncBuffer
	cfg := outputs.Config{}
	cfg.Store.URL, cfg.Metrics.Address, cfg.Outputs.Terminal.Format = "none", "none", "json"
	pipe, err := outputs.FromConfig(context.Background(), cfg, outputs.Env{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	var log testutil.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	st, err := Run(ctx, &dropSource{}, Options{Rules: loadRules(t), Pipeline: pipe, Log: &log, PollEvery: 20 * time.Millisecond,
		DropAlerts: true, Hostname: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	pipe.Close(time.Second)
	var a struct {
		Rule, Priority, Output, Source, Hostname string
		OutputFields                             map[string]string `json:"output_fields"`
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &a) != nil {
		t.Fatalf("want one drop alert, got:\n%s", out.String())
	}
	f := a.OutputFields
	if a.Rule != DropAlertRule || a.Priority != "Critical" || a.Source != "internal" || a.Hostname != "h1" ||
		!strings.HasPrefix(a.Output, "Falco internal: syscall event drop. 7 system calls dropped in last") ||
		f["n_drops"] != "7" || f["n_evts"] != "107" || f["n_drops_buffer_total"] != "7" || f["n_drops_per_cpu"] != "cpu1=7" || f["ebpf_enabled"] != "1" {
		t.Errorf("drop alert: %+v", a)
	}
	if st.Alerts != 1 || st.Drops != 7 || pipe.Metrics.EventsDropped.Value() != 7 {
		t.Errorf("stats %+v, metric %d", st, pipe.Metrics.EventsDropped.Value())
	}
	if !strings.Contains(log.String(), "7 events dropped since start") {
		t.Errorf("warning: %q", log.String())
	}
}

// stampResponder marks every second alert's response and sends the alert
// from another goroutine, as container actions do.
type stampResponder struct {
	n    int
	pids []int64
	wg   sync.WaitGroup
}

func (s *stampResponder) Respond(ev *event.Event, a alert.Alert, send func(alert.Alert)) {
	s.n++
	s.pids = append(s.pids, ev.Proc.PID)
	if s.n%2 == 1 {
		send(a)
		return
	}
	a.Response = &alert.Response{Action: "log", Target: ev.Proc.Name, Result: alert.ResultDone}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); send(a) }()
}

// With a Responder, every alert goes through it (with its event) and
// reaches the outputs once, with the response it gave.
func TestRunResponder(t *testing.T) {
	var out bytes.Buffer
	pipe := textPipeline(t, &out)
	r := &stampResponder{}
	st, err := Run(context.Background(), NewRecorded(strings.NewReader(testEvents), "t.jsonl"), Options{Rules: loadRules(t), Pipeline: pipe, Respond: r})
	if err != nil {
		t.Fatal(err)
	}
	r.wg.Wait()
	if err := pipe.Close(time.Second); err != nil {
		t.Fatal(err)
	}
	if st.Alerts != 2 || r.n != 2 || len(r.pids) != 2 || r.pids[0] == 0 {
		t.Errorf("stats %+v, responder saw %d alerts, pids %v", st, r.n, r.pids)
	}
	got := out.String()
	if strings.Count(got, "\n") != 2 || !strings.Contains(got, "shadow read by less [Shadow read] [response: log less: done]") {
		t.Errorf("alerts:\n%s", got)
	}
}
