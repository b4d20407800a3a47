package respond

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/event"
)

// PollEvery is how often an agent with a kill response reads the kernel's
// ring by default (the capture's default is 10 ms): the time from a
// syscall to its kill is mostly this wait.
const PollEvery = time.Millisecond

// Options are what a Responder needs besides its Config.
type Options struct {
	// Guard is the guard rails' facts (SelfGuard in an agent); its
	// AllowHost is taken from the Config.
	Guard Guard
	// Log gets one line per action, refusal and failure (nil discards).
	Log io.Writer
	// Engines returns the container engines for stop, pause and isolate;
	// it is called once, on the first container action.
	Engines func() []container.Daemon
	// Kill kills a process after checking its start time (killProcess
	// when nil; tests replace it).
	Kill func(pid, startNS int64) error
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// QueueSize bounds container actions waiting for their engine
	// (default 64); beyond it they are refused.
	QueueSize int
}

// Responder takes the configured action for each alert that matches an
// entry. Kill runs on the caller's goroutine (a pidfd signal is a few
// microseconds; the earlier, the less the process does); container actions
// run on a worker, and their alerts are sent when the engine answered.
type Responder struct {
	cfg    Config
	prio   []alert.Priority // per entry; -1: any
	guard  Guard
	limit  *limiter
	log    io.Writer
	logMu  sync.Mutex
	kill   func(pid, startNS int64) error
	now    func() time.Time
	getEng func() []container.Daemon

	jobs chan job
	wg   sync.WaitGroup
	ctx  context.Context
	stop context.CancelFunc

	mu   sync.Mutex
	done map[string]bool // "pause/ID": container actions already taken
}

type job struct {
	a    alert.Alert
	e    *Entry
	c    *event.Container
	evNS int64
	send func(alert.Alert)
}

// New checks cfg and starts the worker for container actions.
func New(cfg Config, o Options) (*Responder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Responder{cfg: cfg, guard: o.Guard, limit: newLimiter(cfg.Rate), log: o.Log, kill: o.Kill, now: o.Now,
		done: map[string]bool{}}
	r.guard.AllowHost = cfg.AllowHost
	if r.log == nil {
		r.log = io.Discard
	}
	if r.kill == nil {
		r.kill = killProcess
	}
	if r.now == nil {
		r.now = time.Now
	}
	if o.Engines != nil {
		r.getEng = sync.OnceValue(o.Engines)
	} else {
		r.getEng = func() []container.Daemon { return nil }
	}
	for _, e := range cfg.Actions {
		p := alert.Priority(-1)
		if e.Match.Priority != "" {
			p, _ = alert.ParsePriority(e.Match.Priority)
		}
		r.prio = append(r.prio, p)
	}
	q := o.QueueSize
	if q <= 0 {
		q = 64
	}
	r.jobs = make(chan job, q)
	r.ctx, r.stop = context.WithCancel(context.Background())
	r.wg.Add(1)
	go r.worker()
	return r, nil
}

// Close waits up to wait for queued container actions (their alerts are
// sent), then cancels the rest.
func (r *Responder) Close(wait time.Duration) {
	close(r.jobs)
	finished := make(chan struct{})
	go func() { r.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(wait):
		r.stop()
		<-finished
	}
	r.stop()
}

// Match returns the first entry that applies to a, raised by ev, or nil.
func (r *Responder) Match(a *alert.Alert, ev *event.Event) *Entry {
	var c *event.Container
	if ev != nil && ev.Proc != nil {
		c = ev.Proc.Container
	}
	for i := range r.cfg.Actions {
		e := &r.cfg.Actions[i]
		m := e.Match
		if len(m.Rules) > 0 && !anyGlob(m.Rules, a.Rule) {
			continue
		}
		if r.prio[i] >= 0 && a.Priority > r.prio[i] {
			continue
		}
		if len(m.Tags) > 0 && !hasTag(m.Tags, a.Tags) {
			continue
		}
		if len(m.Containers) > 0 && (c.IsHost() || !containerFits(m.Containers, c)) {
			continue
		}
		if len(m.Images) > 0 && (c.IsHost() || !anyGlob(m.Images, c.Image)) {
			continue
		}
		return e
	}
	return nil
}

func hasTag(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if matches(w, h) {
				return true
			}
		}
	}
	return false
}

func containerFits(patterns []string, c *event.Container) bool {
	for _, p := range patterns {
		// A name or id glob, or an id of any length (alerts carry 12 hex digits).
		if matches(p, c.Name) || matches(p, c.ID) || (len(p) >= 4 && isHexString(p) && len(c.ID) >= 4 &&
			(strings.HasPrefix(c.ID, p) || strings.HasPrefix(p, c.ID))) {
			return true
		}
	}
	return false
}

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdef", rune(s[i])) {
			return false
		}
	}
	return s != ""
}

// Respond takes the response to a (raised by ev) and hands the alert,
// with its Response, to send: before returning, or later from the worker
// for container actions. Alerts no entry matches go to send unchanged.
// ev is only read during the call.
func (r *Responder) Respond(ev *event.Event, a alert.Alert, send func(alert.Alert)) {
	e := r.Match(&a, ev)
	if e == nil {
		send(a)
		return
	}
	var p *event.Process
	if ev != nil {
		p = ev.Proc
	}
	resp := &alert.Response{Action: string(e.Action), DryRun: r.cfg.DryRun, Target: target(e.Action, p)}
	a.Response = resp
	evNS := int64(0)
	if ev != nil {
		evNS = ev.Time
	}
	if why := r.guard.Refuse(e.Action, p); why != "" {
		r.finish(&a, resp, evNS, alert.ResultRefused, why)
		send(a)
		return
	}
	if e.Action == Log {
		r.finish(&a, resp, evNS, alert.ResultDone, "")
		send(a)
		return
	}
	key := "host"
	if !p.Container.IsHost() {
		key = p.Container.ID
	}
	if e.Action.onContainer() && r.already(e.Action, key, false) {
		r.finish(&a, resp, evNS, alert.ResultRefused, "already "+past(e.Action)+" by an earlier response")
		send(a)
		return
	}
	if why := r.limit.allow(key, r.now()); why != "" {
		r.finish(&a, resp, evNS, alert.ResultRefused, why)
		send(a)
		return
	}
	if r.cfg.DryRun {
		r.finish(&a, resp, evNS, alert.ResultDryRun, "")
		send(a)
		return
	}
	if e.Action == Kill {
		err := r.kill(p.PID, p.StartTime)
		switch {
		case err == nil:
			r.finish(&a, resp, evNS, alert.ResultDone, "")
		case isGone(err):
			r.finish(&a, resp, evNS, alert.ResultGone, err.Error())
		default:
			r.finish(&a, resp, evNS, alert.ResultFailed, err.Error())
		}
		send(a)
		return
	}
	r.already(e.Action, key, true)
	select {
	case r.jobs <- job{a: a, e: e, c: p.Container, evNS: evNS, send: send}:
	default:
		r.forget(e.Action, key) // not taken after all
		r.finish(&a, resp, evNS, alert.ResultRefused, "too many container actions waiting for their engine")
		send(a)
	}
}

// already reports whether action was taken on the container; mark records it.
func (r *Responder) already(action Action, id string, mark bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := string(action) + "/" + id
	was := r.done[k]
	if mark {
		r.done[k] = true
	}
	return was
}

func (r *Responder) forget(action Action, id string) {
	r.mu.Lock()
	delete(r.done, string(action)+"/"+id)
	r.mu.Unlock()
}

func past(a Action) string {
	switch a {
	case Stop:
		return "stopped"
	case Pause:
		return "paused"
	case Isolate:
		return "isolated"
	}
	return string(a) + "ed"
}

func (r *Responder) worker() {
	defer r.wg.Done()
	for j := range r.jobs {
		err := r.containerAction(r.ctx, j.e, j.c)
		resp := j.a.Response
		switch {
		case err == nil:
			r.finish(&j.a, resp, j.evNS, alert.ResultDone, "")
		case isNotFound(err):
			r.finish(&j.a, resp, j.evNS, alert.ResultGone, err.Error())
		default:
			r.forget(j.e.Action, j.c.ID) // a later alert may try again
			r.finish(&j.a, resp, j.evNS, alert.ResultFailed, err.Error())
		}
		j.send(j.a)
	}
}

func isNotFound(err error) bool {
	var nf interface{ NotFound() }
	return errors.As(err, &nf) || strings.Contains(err.Error(), "No such container") || strings.Contains(err.Error(), "not found")
}

// containerAction asks each engine of the container's runtime in turn.
func (r *Responder) containerAction(ctx context.Context, e *Entry, c *event.Container) error {
	ns := c.Labels["io.containerd.namespace"]
	if ns == "" && c.K8sNamespace != "" && c.Type == container.RuntimeContainerd {
		ns = "k8s.io"
	}
	var errs []error
	tried := 0
	for _, d := range r.getEng() {
		ctl, ok := d.(container.Controller)
		if !ok || (c.Type != "" && c.Type != d.Runtime() && !(c.Type == container.RuntimeCRI && d.Runtime() == container.RuntimeContainerd)) {
			continue
		}
		tried++
		actx, cancel := context.WithTimeout(ctx, 10*time.Second+e.Grace)
		var err error
		switch e.Action {
		case Pause:
			err = ctl.Pause(actx, ns, c.ID)
		case Stop:
			grace := e.Grace
			if grace == 0 {
				grace = 10 * time.Second
			}
			err = ctl.Stop(actx, ns, c.ID, grace)
		case Isolate:
			var nets []string
			nets, err = ctl.Isolate(actx, ns, c.ID)
			if err == nil && len(nets) == 0 {
				err = errors.New("the container is on no network")
			}
		}
		cancel()
		if err == nil {
			return nil
		}
		if isNotFound(err) {
			errs = append(errs, fmt.Errorf("%s: %w", d.Endpoint(), err))
			continue
		}
		return fmt.Errorf("%s: %w", d.Endpoint(), err)
	}
	if tried == 0 {
		t := c.Type
		if t == "" {
			t = "unknown"
		}
		return fmt.Errorf("no %s engine to ask", t)
	}
	return errors.Join(errs...)
}

// finish sets the response's outcome and logs it.
func (r *Responder) finish(a *alert.Alert, resp *alert.Response, evNS int64, result, why string) {
	resp.Result, resp.Error = result, why
	if evNS > 0 {
		if d := r.now().UnixNano() - evNS; d > 0 {
			resp.LatencyUS = d / 1000
		}
	}
	var b strings.Builder
	b.WriteString("palisade: respond: ")
	if resp.DryRun {
		b.WriteString("dry run: ")
	}
	fmt.Fprintf(&b, "%s %s: %s", resp.Action, escape.Text(resp.Target), result)
	if why != "" {
		fmt.Fprintf(&b, " (%s)", escape.Text(why))
	}
	fmt.Fprintf(&b, " [rule %s]\n", escape.Text(a.Rule))
	r.logMu.Lock()
	io.WriteString(r.log, b.String())
	r.logMu.Unlock()
}

// target names what an action aims at.
func target(action Action, p *event.Process) string {
	if p == nil {
		return ""
	}
	c := p.Container
	ctr := "host"
	if !c.IsHost() {
		ctr = "container " + c.ID
		if c.Name != "" && c.Name != c.ID {
			ctr += " (" + c.Name + ")"
		}
	}
	if action.onContainer() {
		return ctr
	}
	return fmt.Sprintf("pid %d (%s) in %s", p.PID, p.Name, ctr)
}
