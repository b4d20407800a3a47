package outputs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/store"
)

// NATSConfig configures the NATS output.
type NATSConfig struct {
	URL string `yaml:"url"` // nats://HOST:PORT[,nats://...]
	// SubjectPrefix is followed by ".<priority in lower case>"; default
	// "palisade.alerts", giving e.g. palisade.alerts.warning.
	SubjectPrefix string `yaml:"subject_prefix"`
	// CredsFile is a NATS .creds file (JWT + NKey) for authenticated servers.
	CredsFile string        `yaml:"creds_file"`
	Timeout   time.Duration `yaml:"timeout"` // connect, publish ack; default 5s
	// SpoolDir keeps alerts on disk while NATS is unreachable (or does not
	// acknowledge them), resent oldest first once it is back. The agent's
	// config defaults it to DefaultNATSSpoolDir; "none" disables it.
	SpoolDir       string   `yaml:"spool_dir"`
	SpoolMaxAlerts int      `yaml:"spool_max_alerts"` // default 100000
	SpoolMaxSize   ByteSize `yaml:"spool_max_size"`   // default 256MiB
	// Heartbeat is how often the agent publishes a Heartbeat on
	// palisade.heartbeat.<host> (watch only); default 10s, negative: never.
	Heartbeat time.Duration `yaml:"heartbeat"`
}

// DefaultNATSSpoolDir is where watch spools NATS alerts unless configured.
const DefaultNATSSpoolDir = "/var/lib/palisade/spool/nats"

// HeartbeatPrefix is followed by ".<host>" (HostToken) for heartbeats.
const HeartbeatPrefix = "palisade.heartbeat"

// Heartbeat says an agent is alive and how it is doing; a collector raises
// an alert for a host whose heartbeats stop for longer than Window.
type Heartbeat struct {
	Hostname     string    `json:"hostname"`
	Time         time.Time `json:"time"`
	IntervalSec  float64   `json:"interval_s"`
	EventsPerSec float64   `json:"events_per_s"`
	Events       uint64    `json:"events"`
	Drops        uint64    `json:"drops"`
	RulesLoaded  int       `json:"rules_loaded"`
	Version      string    `json:"version"`
	Spooled      int       `json:"spooled"` // alerts waiting in the agent's spool
}

// Window is how long a host may stay silent: store.WindowIntervals
// intervals, so one late or lost heartbeat is not an alert.
func (h Heartbeat) Window() time.Duration {
	return store.WindowIntervals * time.Duration(h.IntervalSec*float64(time.Second))
}

// HostToken makes a hostname one NATS subject token (no dots, wildcards
// or spaces).
func HostToken(host string) string {
	if host == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '*' || r == '>' || r <= ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, host)
}

// NATSOutput publishes each alert's Falco JSON to
// <prefix>.<priority>. When a JetStream stream covers the subject the
// publish waits for the stream's acknowledgement, so the alert is stored
// fleet-side before it counts as delivered; otherwise it is a core NATS
// publish confirmed by a round trip (flush). With a spool, alerts that
// could not be delivered wait on disk and Write still succeeds.
type NATSOutput struct {
	cfg NATSConfig
	nc  *nats.Conn
	js  jetstream.JetStream

	mu      sync.Mutex
	streams map[string]streamLookup

	spool   *spool // nil without SpoolDir
	sendMu  sync.Mutex
	kick    chan struct{}
	stop    chan struct{}
	done    sync.WaitGroup
	failing atomic.Bool
}

type streamLookup struct {
	jetstream bool
	at        time.Time
}

// streamRecheck bounds how long a "no stream covers this subject" answer
// (or its opposite) is trusted, so a stream created later is picked up.
const streamRecheck = 30 * time.Second

// NewNATSOutput connects; the client reconnects by itself afterwards.
func NewNATSOutput(cfg NATSConfig) (*NATSOutput, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("nats output: empty URL")
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = "palisade.alerts"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.SpoolMaxAlerts <= 0 {
		cfg.SpoolMaxAlerts = 100000
	}
	if cfg.SpoolMaxSize <= 0 {
		cfg.SpoolMaxSize = 256 << 20
	}
	o := &NATSOutput{cfg: cfg, streams: map[string]streamLookup{}, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	if cfg.SpoolDir != "" && cfg.SpoolDir != "none" {
		sp, err := openSpool(cfg.SpoolDir, cfg.SpoolMaxAlerts, int64(cfg.SpoolMaxSize))
		if err != nil {
			return nil, fmt.Errorf("nats output: %w", err)
		}
		o.spool = sp
	}
	opts := []nats.Option{nats.Name("palisade"), nats.Timeout(cfg.Timeout), nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true), nats.ReconnectBufSize(8 << 20), nats.DrainTimeout(cfg.Timeout),
		nats.ReconnectHandler(func(*nats.Conn) { o.poke() })}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats output: connect %s: %w", cfg.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats output: %w", err)
	}
	o.nc, o.js = nc, js
	if o.spool != nil {
		o.done.Add(1)
		go o.resend()
		o.poke() // whatever an earlier run left
	}
	return o, nil
}

// Subject returns the subject an alert of priority p goes to.
func (o *NATSOutput) Subject(p alert.Priority) string {
	return o.cfg.SubjectPrefix + "." + strings.ToLower(p.String())
}

// Name implements Output.
func (o *NATSOutput) Name() string { return "nats" }

// Spooled is how many alerts wait in the spool.
func (o *NATSOutput) Spooled() int {
	if o.spool == nil {
		return 0
	}
	return o.spool.Len()
}

// SpoolDropped counts alerts dropped because the spool was full.
func (o *NATSOutput) SpoolDropped() uint64 {
	if o.spool == nil {
		return 0
	}
	return o.spool.Dropped()
}

// Failing reports that the latest delivery attempt failed (alerts pile up
// in the spool).
func (o *NATSOutput) Failing() bool { return o.failing.Load() }

func (o *NATSOutput) usesJetStream(ctx context.Context, subject string) bool {
	o.mu.Lock()
	l, ok := o.streams[subject]
	o.mu.Unlock()
	if ok && time.Since(l.at) < streamRecheck {
		return l.jetstream
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	_, err := o.js.StreamNameBySubject(ctx, subject)
	if err != nil && !o.nc.IsConnected() {
		return false // unknown; not cached, asked again once connected
	}
	l = streamLookup{jetstream: err == nil, at: time.Now()}
	o.mu.Lock()
	o.streams[subject] = l
	o.mu.Unlock()
	return l.jetstream
}

// Write implements Output.
func (o *NATSOutput) Write(ctx context.Context, batch []alert.Alert) error {
	msgs := make([]*nats.Msg, len(batch))
	for i, a := range batch {
		body, err := FalcoJSONWithin(a, int(o.nc.MaxPayload())-1024)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		msgs[i] = &nats.Msg{Subject: o.Subject(a.Priority), Data: body}
	}
	if o.spool == nil {
		_, err := o.publish(ctx, msgs)
		return err
	}
	// The sender lock keeps order: nothing new is published while older
	// alerts still wait in the spool.
	o.sendMu.Lock()
	defer o.sendMu.Unlock()
	if o.spool.Len() == 0 {
		n, err := o.publish(ctx, msgs)
		if err == nil {
			o.failing.Store(false)
			return nil
		}
		o.failing.Store(true)
		msgs = msgs[n:]
	}
	bodies := make([][]byte, len(msgs))
	for i, m := range msgs {
		// A spooled line is "subject<TAB>body": JSON holds no raw tab.
		bodies[i] = append(append([]byte(m.Subject), '\t'), m.Data...)
	}
	if err := o.spool.Push(bodies); err != nil {
		return err
	}
	o.poke()
	return nil
}

// publish sends msgs in order and returns how many leading ones are
// delivered. JetStream publishes go out together and their acks are
// awaited together, which is many times faster than one at a time.
func (o *NATSOutput) publish(ctx context.Context, msgs []*nats.Msg) (int, error) {
	if !o.nc.IsConnected() {
		return 0, fmt.Errorf("publish %d alerts: %w", len(msgs), nats.ErrConnectionClosed)
	}
	type pending struct {
		i int
		f jetstream.PubAckFuture
	}
	var acks []pending
	core := false
	failed := len(msgs)
	var ferr error
	for i, m := range msgs {
		if o.usesJetStream(ctx, m.Subject) {
			f, err := o.js.PublishMsgAsync(m)
			if err != nil {
				failed, ferr = i, fmt.Errorf("jetstream publish %s (%d of %d alerts): %w", m.Subject, len(msgs)-i, len(msgs), err)
				break
			}
			acks = append(acks, pending{i, f})
			continue
		}
		if err := o.nc.PublishMsg(m); err != nil {
			failed, ferr = i, fmt.Errorf("publish %s (%d of %d alerts): %w", m.Subject, len(msgs)-i, len(msgs), err)
			break
		}
		core = true
	}
	timeout := time.NewTimer(o.cfg.Timeout)
	defer timeout.Stop()
	for _, p := range acks {
		select {
		case <-p.f.Ok():
			continue
		case err := <-p.f.Err():
			ferr = fmt.Errorf("jetstream publish %s (%d of %d alerts): %w", p.f.Msg().Subject, len(msgs)-p.i, len(msgs), err)
		case <-timeout.C:
			ferr = fmt.Errorf("jetstream publish %s (%d of %d alerts): no acknowledgement within %s", p.f.Msg().Subject, len(msgs)-p.i, len(msgs), o.cfg.Timeout)
		case <-ctx.Done():
			ferr = ctx.Err()
		}
		o.forget(p.f.Msg().Subject)
		return p.i, ferr
	}
	if ferr != nil {
		return failed, ferr
	}
	if core {
		fctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
		defer cancel()
		if err := o.nc.FlushWithContext(fctx); err != nil {
			return 0, fmt.Errorf("flush to nats: %w", err)
		}
	}
	return len(msgs), nil
}

func (o *NATSOutput) poke() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// resend drains the spool oldest first in batches, retrying every second
// (or at once on reconnect) while NATS is away.
func (o *NATSOutput) resend() {
	defer o.done.Done()
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		select {
		case <-o.stop:
			return
		case <-o.kick:
		case <-retry.C:
		}
		for o.drainOnce(ctx) {
		}
	}
}

// drainOnce sends up to 512 spooled alerts; false when it sent nothing
// more (empty spool or NATS still away).
func (o *NATSOutput) drainOnce(ctx context.Context) bool {
	o.sendMu.Lock()
	defer o.sendMu.Unlock()
	var segs []*segment
	var msgs []*nats.Msg
	o.spool.mu.Lock()
	for _, seg := range o.spool.segs {
		for _, line := range seg.lines[seg.offset:] {
			subject, body, ok := strings.Cut(string(line), "\t")
			if !ok { // a line without a subject (not this output's) must not block the spool
				subject, body = o.cfg.SubjectPrefix+".unknown", string(line)
			}
			segs = append(segs, seg)
			msgs = append(msgs, &nats.Msg{Subject: subject, Data: []byte(body)})
		}
		if len(msgs) >= 512 {
			break
		}
	}
	o.spool.mu.Unlock()
	if len(msgs) == 0 {
		return false
	}
	n, err := o.publish(ctx, msgs)
	for _, seg := range segs[:n] {
		o.spool.Ack(seg)
	}
	o.failing.Store(err != nil)
	return err == nil
}

// StartHeartbeat publishes beat() every interval on
// palisade.heartbeat.<host> until Close. Heartbeats are not spooled: a
// late one says nothing about now.
func (o *NATSOutput) StartHeartbeat(interval time.Duration, beat func() Heartbeat) {
	o.done.Add(1)
	go func() {
		defer o.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			h := beat()
			h.IntervalSec = interval.Seconds()
			h.Spooled = o.Spooled()
			o.PublishHeartbeat(context.Background(), h)
			select {
			case <-o.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// PublishHeartbeat sends one heartbeat, with a JetStream ack when a stream
// covers the subject.
func (o *NATSOutput) PublishHeartbeat(ctx context.Context, h Heartbeat) error {
	if !o.nc.IsConnected() {
		return nats.ErrConnectionClosed
	}
	body, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = o.publish(ctx, []*nats.Msg{{Subject: HeartbeatPrefix + "." + HostToken(h.Hostname), Data: body}})
	return err
}

func (o *NATSOutput) forget(subject string) {
	o.mu.Lock()
	delete(o.streams, subject)
	o.mu.Unlock()
}

// Close implements Output: it stops the heartbeat and the resender (what
// is still spooled is sent by the next run) and drains pending publishes.
func (o *NATSOutput) Close() error {
	close(o.stop)
	o.done.Wait()
	if err := o.nc.Drain(); err != nil {
		o.nc.Close()
		return fmt.Errorf("close nats: %w", err)
	}
	return nil
}
