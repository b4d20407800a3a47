package outputs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/metrics"
	"github.com/palisade-sec/palisade/internal/store"
)

func defaultStoreURL() string { return store.DefaultURL }

// Env is what FromConfig needs from the process.
type Env struct {
	Stdout io.Writer // terminal output; nil disables it
	Stderr io.Writer // output errors and the drop summary; nil discards
	// Metrics, if not nil, is used instead of a fresh metrics.Set, so the
	// caller can count events in it.
	Metrics *metrics.Set
	// Block makes Send wait for room instead of dropping alerts when an
	// output falls behind (replay: nothing may be lost).
	Block bool
	// Hostname, when set, is the agent's identity (watch --hostname): every
	// alert Send takes carries it and gets an ID (alert.NewID), so a fleet
	// store keeps each alert once. Replay leaves it empty and its output
	// stays reproducible. It also enables the NATS output's heartbeat.
	Hostname string
	// Version and RulesLoaded go into heartbeats.
	Version     string
	RulesLoaded int
}

// Pipeline is the assembled delivery side: call Send for every alert and
// Close on shutdown.
type Pipeline struct {
	Metrics *metrics.Set
	Store   store.Store // nil when the config says store: none
	d       *Dispatcher
	server  *metrics.Server
	host    string
	stop    chan struct{}
	wg      sync.WaitGroup
}

// FromConfig opens the store, builds every configured output, starts the
// metrics endpoint and the retention loop. On error nothing is left open.
func FromConfig(ctx context.Context, cfg Config, env Env) (_ *Pipeline, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	set := env.Metrics
	if set == nil {
		set = metrics.New()
	}
	p := &Pipeline{Metrics: set, stop: make(chan struct{}), host: env.Hostname}
	var outs []Output
	defer func() {
		if err != nil {
			for _, o := range outs {
				o.Close()
			}
		}
	}()

	o := cfg.Outputs
	if env.Stdout != nil && (o.Terminal.Enabled == nil || *o.Terminal.Enabled) {
		format, _ := ParseFormat(o.Terminal.Format)
		mode := ColorMode(o.Terminal.Color)
		if mode == "" {
			mode = ColorAuto
		}
		outs = append(outs, NewStreamOutput("terminal", env.Stdout, format, UseColor(mode, env.Stdout), nil))
	}
	if o.File != nil {
		f, err := NewFileOutput(*o.File)
		if err != nil {
			return nil, err
		}
		outs = append(outs, f)
	}
	if o.Syslog != nil {
		s, err := NewSyslogOutput(*o.Syslog)
		if err != nil {
			return nil, err
		}
		outs = append(outs, s)
	}
	if o.Webhook != nil {
		w, err := NewWebhookOutput(*o.Webhook)
		if err != nil {
			return nil, err
		}
		w.OnReject = func(err error) {
			set.Failed.With(w.Name()).Inc()
			if env.Stderr != nil {
				fmt.Fprintf(env.Stderr, "palisade: output webhook: alert rejected: %s\n", escape.Text(err.Error()))
			}
		}
		outs = append(outs, w)
		set.Registry.NewGaugeFunc("palisade_webhook_spool_alerts", "Alerts waiting in the webhook's on-disk spool.", nil,
			func() []metrics.Sample { return []metrics.Sample{{Value: float64(w.Spooled())}} })
		set.Registry.NewCounterFunc("palisade_webhook_sent_total", "Alerts the webhook endpoint accepted.", nil,
			func() []metrics.Sample { return []metrics.Sample{{Value: float64(w.Sent())}} })
		set.Registry.NewCounterFunc("palisade_webhook_spool_dropped_total", "Alerts dropped because the webhook spool was full.", nil,
			func() []metrics.Sample { return []metrics.Sample{{Value: float64(w.SpoolDropped())}} })
	}
	if o.Program != nil {
		pr, err := NewProgramOutput(*o.Program)
		if err != nil {
			return nil, err
		}
		outs = append(outs, pr)
	}
	if o.NATS != nil {
		nc := *o.NATS
		if nc.SpoolDir == "" && env.Hostname != "" {
			nc.SpoolDir = DefaultNATSSpoolDir
		}
		n, err := NewNATSOutput(nc)
		if err != nil {
			return nil, err
		}
		outs = append(outs, n)
		set.Registry.NewGaugeFunc("palisade_nats_spool_alerts", "Alerts waiting in the NATS output's on-disk spool.", nil,
			func() []metrics.Sample { return []metrics.Sample{{Value: float64(n.Spooled())}} })
		set.Registry.NewCounterFunc("palisade_nats_spool_dropped_total", "Alerts dropped because the NATS spool was full.", nil,
			func() []metrics.Sample { return []metrics.Sample{{Value: float64(n.SpoolDropped())}} })
		if every := nc.Heartbeat; env.Hostname != "" && every >= 0 {
			if every == 0 {
				every = 10 * time.Second
			}
			n.StartHeartbeat(every, heartbeatFrom(set, env))
		}
	}
	url := cfg.Store.URL
	if url == "" {
		url = store.DefaultURL
	}
	if url != "none" {
		st, err := store.OpenLazy(ctx, url)
		if err != nil {
			return nil, err
		}
		p.Store = st
		so := NewStoreOutput(st)
		outs = append(outs, so)
		ret := store.Retention{MaxAge: cfg.Store.MaxAge, MaxCount: cfg.Store.MaxCount}
		if ret.MaxAge == 0 {
			ret.MaxAge = 30 * 24 * time.Hour
		}
		if ret.MaxCount == 0 {
			ret.MaxCount = 1_000_000
		}
		p.wg.Add(1)
		go p.retain(st, ret, env.Stderr)
	}

	lim := NewLimiter(cfg.Limits)
	if lim != nil {
		lim.onSuppress = func(rule string) { set.Suppressed.With(rule).Inc() }
	}
	queue := o.QueueSize
	if queue <= 0 {
		queue = 4096
	}
	for _, o := range outs {
		// Zero series from the start, so rate() and alerts on them work.
		set.Delivered.With(o.Name())
		set.Failed.With(o.Name())
		set.Dropped.With(o.Name())
	}
	p.d = NewDispatcher(outs, DispatcherOptions{QueueSize: queue, Limiter: lim, Block: env.Block, Observer: metricsObserver{set}, Log: env.Stderr})
	if env.RulesLoaded > 0 {
		n := float64(env.RulesLoaded)
		set.Registry.NewGaugeFunc("palisade_rules_loaded", "Enabled rules the agent detects with.", nil,
			func() []metrics.Sample { return []metrics.Sample{{Value: n}} })
	}
	set.Registry.NewGaugeFunc("palisade_output_queue_depth", "Alerts waiting in an output's queue.", []string{"output"}, func() []metrics.Sample {
		var ss []metrics.Sample
		for _, st := range p.d.Stats() {
			ss = append(ss, metrics.Sample{Labels: []string{st.Name}, Value: float64(st.Queued)})
		}
		return ss
	})

	addr := cfg.Metrics.Address
	if addr == "" {
		addr = metrics.DefaultAddress
	}
	if addr != "none" {
		srv, err := metrics.Listen(addr, set.Registry, p.health, cfg.Metrics.Auth())
		if err != nil {
			outs = nil // the dispatcher owns them now
			p.Close(time.Second)
			return nil, err
		}
		p.server = srv
	}
	return p, nil
}

// Send delivers an alert to every output; it never blocks unless Env.Block.
func (p *Pipeline) Send(a alert.Alert) {
	if p.host != "" {
		a.Hostname = p.host
		if a.ID == "" {
			a.ID = alert.NewID(a.Time)
		}
	}
	p.d.Send(a)
}

// heartbeatFrom reads the agent's counters for each heartbeat; events/s
// is over the time since the previous one.
func heartbeatFrom(set *metrics.Set, env Env) func() Heartbeat {
	var last uint64
	var lastAt time.Time
	return func() Heartbeat {
		now, events := time.Now(), set.Events.Value()
		h := Heartbeat{Hostname: env.Hostname, Time: now.UTC(), Events: events, Drops: set.EventsDropped.Value(),
			RulesLoaded: env.RulesLoaded, Version: env.Version}
		if !lastAt.IsZero() {
			h.EventsPerSec = float64(events-last) / now.Sub(lastAt).Seconds()
		}
		last, lastAt = events, now
		return h
	}
}

// Stats reports each output's counters.
func (p *Pipeline) Stats() []OutputStats { return p.d.Stats() }

// MetricsAddr is the address /metrics listens on ("" when off).
func (p *Pipeline) MetricsAddr() string {
	if p.server == nil {
		return ""
	}
	return p.server.Addr()
}

// health fails when an output's latest delivery attempt failed.
func (p *Pipeline) health() error {
	var errs []error
	for _, s := range p.d.sinks {
		f, ok := s.out.(interface{ Failing() bool })
		if s.failing.Load() || (ok && f.Failing()) {
			errs = append(errs, fmt.Errorf("output %s is failing", s.out.Name()))
		}
	}
	return errors.Join(errs...)
}

func (p *Pipeline) retain(st store.Store, r store.Retention, log io.Writer) {
	defer p.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := st.Prune(ctx, r, time.Now()); err != nil && log != nil {
			fmt.Fprintf(log, "palisade: store retention: %s\n", escape.Text(err.Error()))
		}
		cancel()
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

// Close drains the outputs (waiting up to timeout), then closes the store
// and the metrics endpoint.
func (p *Pipeline) Close(timeout time.Duration) error {
	err := p.d.Close(timeout)
	close(p.stop)
	p.wg.Wait()
	if p.Store != nil {
		if cerr := p.Store.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
		}
	}
	if p.server != nil {
		p.server.Close()
	}
	return err
}

type metricsObserver struct{ s *metrics.Set }

func (m metricsObserver) Accepted(a *alert.Alert) {
	m.s.Alerts.With(a.Rule, a.Priority.String()).Inc()
}

func (m metricsObserver) Delivered(out string, batch []alert.Alert, at time.Time) {
	m.s.Delivered.With(out).Add(uint64(len(batch)))
	h := m.s.Latency.With(out)
	for i := range batch {
		if !batch[i].Time.IsZero() {
			h.Observe(at.Sub(batch[i].Time).Seconds())
		}
	}
}

func (m metricsObserver) Failed(out string, n int)  { m.s.Failed.With(out).Add(uint64(n)) }
func (m metricsObserver) Dropped(out string, n int) { m.s.Dropped.With(out).Add(uint64(n)) }

// StoreOutput writes alerts into a store.Store, one transaction per batch.
// Its queue is larger than the others' because it is the record of last
// resort.
type StoreOutput struct{ st store.Store }

// NewStoreOutput wraps st; Close does not close st (the Pipeline does).
func NewStoreOutput(st store.Store) *StoreOutput { return &StoreOutput{st: st} }

// Name implements Output.
func (o *StoreOutput) Name() string { return "store" }

// Write implements Output.
func (o *StoreOutput) Write(ctx context.Context, batch []alert.Alert) error {
	return o.st.Insert(ctx, batch)
}

// QueueFactor makes the store's queue 16 times the configured size.
func (o *StoreOutput) QueueFactor() int { return 16 }

// Close implements Output.
func (o *StoreOutput) Close() error { return nil }
