package detect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/rules"
)

// Source produces events in order. Run calls emit once per event until the
// source is exhausted (it returns nil), ctx is done (nil as well: stopping is
// not a failure), or emit returns an error (Run returns it). The event emit
// receives may be reused by the source once emit returns.
type Source interface {
	Run(ctx context.Context, emit func(*event.Event) error) error
}

// DropCounter is a Source that can lose events (the kernel's ring buffer).
// DropCounts is called from another goroutine than Run.
type DropCounter interface {
	DropCounts() (DropCounts, error)
}

// DropCounts are a source's counters since it started.
type DropCounts struct {
	Events uint64   // records the kernel wrote or tried to write
	Drops  uint64   // records lost because the ring buffer was full
	PerCPU []uint64 // Drops by CPU
	// Shed are records the kernel dropped on purpose under pressure (the
	// low-value ones, ebpf.Options.Shed), so that those rules need fit.
	Shed uint64
	// ProtectLeftOut are protected file identities left out of the
	// kernel map or the agent's table because it was full.
	ProtectLeftOut uint64
}

// EventWriter keeps events (watch --record).
type EventWriter interface {
	Write(*event.Event) error
	Flush() error
}

// Responder acts on a rule match before its alert is sent
// (internal/respond): it hands the alert, with what it did, to send
// exactly once, before returning or later from another goroutine. ev is
// valid only during the call.
type Responder interface {
	Respond(ev *event.Event, a alert.Alert, send func(alert.Alert))
}

// Options say where events go.
type Options struct {
	Rules    *rules.Ruleset
	Pipeline *outputs.Pipeline // alerts and the event/drop metrics
	// Record, if not nil, gets every event a rule's event types select.
	Record EventWriter
	// Log gets warnings (drops); nil discards them.
	Log io.Writer
	// DropWarnEvery is the least time between two drop warnings, and
	// between two drop alerts; default 10s.
	DropWarnEvery time.Duration
	// DropAlerts sends an alert (Falco's "Falco internal: syscall event
	// drop") for drops, at most once per DropWarnEvery: events lost are
	// detections that may be lost, and an attacker can cause them.
	DropAlerts bool
	// Hostname goes into drop alerts.
	Hostname string
	// PollEvery is how often a DropCounter is read; default 1s.
	PollEvery time.Duration
	// Baselines, if not nil, binds each event to its workload's baseline
	// before the rules see it (the baseline.* fields) and decides which
	// matches are sent (one drift alert per item and container).
	Baselines Baselines
	// Respond, if not nil, gets every alert of a rule match instead of
	// the pipeline (live sources only: a recording's processes are gone).
	Respond Responder
}

// Baselines are the workload baselines of a run (internal/baseline.Set).
type Baselines interface {
	Bind(*event.Event)
	Report(rule string, tags []string, e *event.Event) bool
}

// Stats count what one Run saw.
type Stats struct {
	Events uint64 `json:"events"`
	Drops  uint64 `json:"drops"`
	Shed   uint64 `json:"shed,omitempty"` // records shed on purpose under pressure
	Alerts uint64 `json:"alerts"`
}

// Run evaluates every event of src against the rules and hands each match
// to the pipeline, until src ends or ctx is done. The pipeline stays open:
// the caller closes it (and so decides how long delivery may take).
func Run(ctx context.Context, src Source, o Options) (Stats, error) {
	if o.Rules == nil || o.Pipeline == nil {
		return Stats{}, errors.New("detect: Run needs rules and a pipeline")
	}
	var st Stats
	rs, pipe := o.Rules, o.Pipeline
	matches := make([]rules.Match, 0, 8)
	send := pipe.Send
	emit := func(ev *event.Event) error {
		st.Events++
		pipe.Metrics.Events.Inc()
		if o.Record != nil && rs.Interested(ev.Type) {
			if err := o.Record.Write(ev); err != nil {
				return fmt.Errorf("record: %w", err)
			}
		}
		if o.Baselines != nil {
			o.Baselines.Bind(ev)
		}
		matches = rs.Eval(ev, matches[:0])
		for _, m := range matches {
			if o.Baselines != nil && !o.Baselines.Report(m.Rule.Name, m.Rule.Tags, ev) {
				continue
			}
			st.Alerts++
			if o.Respond != nil {
				o.Respond.Respond(ev, rs.Alert(m, ev), send)
			} else {
				send(rs.Alert(m, ev))
			}
		}
		return nil
	}

	dc, _ := src.(DropCounter)
	var drops dropPoller
	var wg sync.WaitGroup
	stopPoll := make(chan struct{})
	if dc != nil {
		drops = dropPoller{src: dc, pipe: pipe, log: o.Log, warn: dropWarner{every: o.DropWarnEvery}, alerts: o.DropAlerts, host: o.Hostname, lastAt: time.Now()}
		if drops.warn.every <= 0 {
			drops.warn.every = 10 * time.Second
		}
		every := o.PollEvery
		if every <= 0 {
			every = time.Second
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-stopPoll:
					return
				case now := <-t.C:
					drops.poll(now)
				}
			}
		}()
	}
	err := src.Run(ctx, emit)
	close(stopPoll)
	wg.Wait()
	if dc != nil {
		drops.final(time.Now())
		st.Drops = drops.poll(time.Time{})
		st.Shed = drops.reportedShed
		st.Alerts += drops.sent
	}
	if err != nil {
		return st, err
	}
	if o.Record != nil {
		if err := o.Record.Flush(); err != nil {
			return st, fmt.Errorf("record: %w", err)
		}
	}
	return st, nil
}

// dropPoller moves the drop metric up to the source's count, warns, and
// raises drop alerts.
type dropPoller struct {
	src      DropCounter
	pipe     *outputs.Pipeline
	log      io.Writer
	warn     dropWarner
	reported uint64
	// reportedShed is the shed count the metric has.
	reportedShed uint64
	// reportedLeft is the protected identities left out the metric has.
	reportedLeft uint64
	alerts       bool
	host         string
	sent         uint64     // drop alerts sent
	last         DropCounts // the counters at the last drop alert (or start)
	lastAt       time.Time  // when the last drop alert's window ended (or Run began)
}

// poll reads the source's counters; a zero now only updates the count.
func (p *dropPoller) poll(now time.Time) uint64 {
	c, err := p.src.DropCounts()
	if err != nil {
		return p.reported
	}
	if c.Drops > p.reported {
		p.pipe.Metrics.EventsDropped.Add(c.Drops - p.reported)
		p.reported = c.Drops
	}
	if c.Shed > p.reportedShed {
		p.pipe.Metrics.EventsShed.Add(c.Shed - p.reportedShed)
		p.reportedShed = c.Shed
	}
	if c.ProtectLeftOut > p.reportedLeft {
		p.pipe.Metrics.ProtectedLeftOut.Add(c.ProtectLeftOut - p.reportedLeft)
		p.reportedLeft = c.ProtectLeftOut
	}
	if now.IsZero() {
		return p.reported
	}
	if p.log != nil {
		if msg, ok := p.warn.note(now, p.reported); ok {
			fmt.Fprintln(p.log, msg)
		}
	}
	if p.alerts && (c.Drops > p.last.Drops || c.Shed > p.last.Shed) && (p.sent == 0 || now.Sub(p.lastAt) >= p.warn.every) {
		p.pipe.Send(dropAlert(now, p.lastAt, p.last, c, p.host))
		p.sent++
		p.last, p.lastAt = c, now
	}
	return p.reported
}

// final raises one drop alert for drops the last tick did not report
// (the source stopped first), whatever the alerts' rate limit.
func (p *dropPoller) final(now time.Time) {
	if !p.alerts {
		return
	}
	c, err := p.src.DropCounts()
	if err != nil || (c.Drops <= p.last.Drops && c.Shed <= p.last.Shed) {
		return
	}
	p.pipe.Send(dropAlert(now, p.lastAt, p.last, c, p.host))
	p.sent++
	p.last, p.lastAt = c, now
}

// DropAlertRule is the rule name of drop alerts, Falco's, so that tools
// built for Falco's alerts recognise them.
const DropAlertRule = "Falco internal: syscall event drop"

// dropAlert describes the drops between two readings of the counters in
// Falco's words and output fields (values as strings, as Falco sends
// them), plus the drops by CPU and the window they fell in.
func dropAlert(now, since time.Time, prev, cur DropCounts, host string) alert.Alert {
	lost, shed, events := cur.Drops-prev.Drops, cur.Shed-prev.Shed, cur.Events-prev.Events
	drops := lost + shed
	window := now.Sub(since).Round(time.Second)
	in := "in last second"
	if window > time.Second {
		in = fmt.Sprintf("in last %d seconds", int(window.Seconds()))
	}
	var perCPU []string
	for cpu, v := range cur.PerCPU {
		if cpu < len(prev.PerCPU) {
			v -= prev.PerCPU[cpu]
		}
		if v > 0 {
			perCPU = append(perCPU, fmt.Sprintf("cpu%d=%d", cpu, v))
		}
	}
	output := fmt.Sprintf("%s. %d system calls dropped %s.", DropAlertRule, drops, in)
	if shed > 0 {
		output = fmt.Sprintf("%s. %d system calls dropped %s (%d shed on purpose: low-value records kept out of a filling ring so that the rest fit; %d lost to a full ring).",
			DropAlertRule, drops, in, shed, lost)
	}
	return alert.Alert{
		Time:     now,
		Rule:     DropAlertRule,
		Priority: alert.Critical,
		Output:   output,
		OutputFields: map[string]any{
			"n_evts":               strconv.FormatUint(events, 10),
			"n_drops":              strconv.FormatUint(drops, 10),
			"n_drops_buffer_total": strconv.FormatUint(lost, 10),
			"n_drops_shed":         strconv.FormatUint(shed, 10),
			"ebpf_enabled":         "1",
			"n_drops_per_cpu":      strings.Join(perCPU, ","),
			"window_sec":           strconv.Itoa(int(window.Seconds())),
		},
		Source:   "internal",
		Tags:     []string{},
		Hostname: host,
	}
}

// dropWarner says, at most once per every, how many events the kernel
// dropped since it last said so: drops are counted in the metrics and the
// exit summary, and an operator watching the agent's log sees them too.
type dropWarner struct {
	every  time.Duration
	last   time.Time // when it last warned
	warned uint64    // the total it last warned about
}

// note takes the total drops so far and returns a warning when there are
// new ones and the last warning is at least every old.
func (w *dropWarner) note(now time.Time, total uint64) (string, bool) {
	if total <= w.warned || (!w.last.IsZero() && now.Sub(w.last) < w.every) {
		return "", false
	}
	since := "since start"
	if !w.last.IsZero() {
		since = fmt.Sprintf("in the last %s", now.Sub(w.last).Round(time.Second))
	}
	msg := fmt.Sprintf("palisade: warning: %d events dropped %s (%d in all): the kernel's ring buffer was full; a larger --ring-buffer or a higher priority (--nice) helps",
		total-w.warned, since, total)
	w.last, w.warned = now, total
	return msg, true
}
