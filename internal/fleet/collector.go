package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/metrics"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/store"
)

// Names shared by agents and collectors.
const (
	AlertStream      = "PALISADE_ALERTS"
	HeartbeatStream  = "PALISADE_HEARTBEATS"
	DeadLetterStream = "PALISADE_DEADLETTER"
	// DeadLetterSubject receives messages the collector could not store,
	// unchanged, with the reason in the Palisade-Reason header.
	DeadLetterSubject = "palisade.deadletter.alerts"
	// DefaultConsumer is the durable consumer collectors share.
	DefaultConsumer = "palisade-collector"
	// SilentRule names the alert raised for an agent whose heartbeats stop.
	SilentRule = "Palisade agent silent"
	// DefaultHostRetention matches the heartbeat stream's age limit: a
	// host silent longer is gone from NATS too.
	DefaultHostRetention = 7 * 24 * time.Hour
)

// Config says where a Collector reads and writes.
type Config struct {
	NATSURL   string // nats://HOST:PORT[,...]
	CredsFile string // NATS .creds file, optional
	StoreURL  string // postgres://... (sqlite: works for one collector)
	// SubjectPrefix is the agents' alert subject prefix; default
	// palisade.alerts (the stream takes <prefix>.>).
	SubjectPrefix string
	Consumer      string // durable consumer name; default DefaultConsumer
	Batch         int    // alerts per transaction; default 500
	// Writers is how many transactions may be in flight at once; two
	// overlap one commit's wait for the disk with the next batch.
	Writers    int
	FlushEvery time.Duration // longest wait to fill a batch; default 50ms
	// MaxMessageBytes dead-letters larger messages; default 1 MiB.
	MaxMessageBytes int
	// AckWait is how long a delivered, unacknowledged message stays with
	// a collector before another gets it; default 30s.
	AckWait time.Duration
	// CheckEvery is how often heartbeats are checked and the latest of
	// each host upserted into the store; default 1s.
	CheckEvery time.Duration
	// HostRetention is how long a host whose heartbeats stopped stays in
	// the store's host table (and in the collector's memory) after its
	// last heartbeat; default DefaultHostRetention, negative keeps hosts
	// for ever. Its silent-agent alert is raised first, whatever this is.
	HostRetention time.Duration
	Log           io.Writer // one line per dead letter, silent host and error
	Timeout       time.Duration
	// Committed, if set, is called after each commit with its alerts and
	// the commit time (agent-to-store latency in benchmarks and metrics).
	Committed func(alerts []alert.Alert, at time.Time)
}

// Stats count what a Collector did since it started.
type Stats struct {
	Stored       uint64 // alerts committed (a redelivered one counts again)
	DeadLettered uint64
	Silent       uint64 // silent-agent alerts raised
	HostsPruned  uint64 // hosts deleted from the store after HostRetention
	// Redelivered counts committed alerts NATS had delivered before (to a
	// collector that died or timed out): the store keeps one copy of each.
	Redelivered uint64
	// StoreErrors counts failed insert attempts (each retry counts).
	StoreErrors uint64
}

// Collector moves alerts from JetStream to a store.
type Collector struct {
	cfg   Config
	nc    *nats.Conn
	js    jetstream.JetStream
	cons  jetstream.Consumer
	st    store.Store
	log   io.Writer
	logMu sync.Mutex

	stored, dead, silent   atomic.Uint64
	hostsPruned            atomic.Uint64
	lastPrune              time.Time // Run's goroutine only
	redelivered, storeErrs atomic.Uint64
	storeDown              atomic.Bool

	hostsMu sync.Mutex
	hosts   map[string]*hostState
	beats   map[string]store.Host // heartbeats not yet upserted, latest per host
}

type hostState struct {
	last   time.Time     // when the latest heartbeat was stored by NATS
	window time.Duration // silence longer than this raises an alert
	raised bool          // an alert for this silence is out
}

// Open connects to NATS and the store and makes sure the streams and the
// durable consumer exist. A wrong URL, refused credentials or an
// unreachable server fail here, not later.
func Open(ctx context.Context, cfg Config) (*Collector, error) {
	if cfg.NATSURL == "" || cfg.StoreURL == "" {
		return nil, errors.New("collect: needs --nats and --store")
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = "palisade.alerts"
	}
	if cfg.Consumer == "" {
		cfg.Consumer = DefaultConsumer
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 2
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 50 * time.Millisecond
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 1 << 20
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.HostRetention == 0 {
		cfg.HostRetention = DefaultHostRetention
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	c := &Collector{cfg: cfg, log: cfg.Log, hosts: map[string]*hostState{}, beats: map[string]store.Host{}}
	// No RetryOnFailedConnect: a wrong address or credentials must fail
	// at start; once connected the client reconnects for ever.
	opts := []nats.Option{nats.Name("palisade-collect"), nats.Timeout(cfg.Timeout), nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond)}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	nc, err := nats.Connect(cfg.NATSURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %s: %w", cfg.NATSURL, err)
	}
	c.nc = nc
	if c.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("NATS %s: %w", cfg.NATSURL, err)
	}
	if err := c.setup(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	if c.st, err = store.Open(ctx, cfg.StoreURL); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// maxAckPending bounds alerts handed out but not yet acknowledged, across
// all collectors: enough for several collectors' batches in flight.
const maxAckPending = 32768

// setup creates or updates the three streams and the shared consumer.
// The alert stream is a work queue: an alert leaves it once a collector
// acknowledged it, so NATS holds only what is not stored yet.
func (c *Collector) setup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*c.cfg.Timeout)
	defer cancel()
	for _, sc := range []jetstream.StreamConfig{
		{Name: AlertStream, Subjects: []string{c.cfg.SubjectPrefix + ".>"}, Retention: jetstream.WorkQueuePolicy,
			Storage: jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour, Description: "Palisade alerts not yet stored by a collector"},
		{Name: HeartbeatStream, Subjects: []string{outputs.HeartbeatPrefix + ".>"}, MaxMsgsPerSubject: 1,
			Storage: jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour, Description: "The latest heartbeat of each Palisade agent"},
		{Name: DeadLetterStream, Subjects: []string{DeadLetterSubject}, Storage: jetstream.FileStorage,
			MaxAge: 14 * 24 * time.Hour, MaxBytes: 1 << 30, Description: "Messages Palisade collectors could not store"},
	} {
		if _, err := c.js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("NATS %s: create stream %s: %w", c.cfg.NATSURL, sc.Name, err)
		}
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, AlertStream, jetstream.ConsumerConfig{
		Durable: c.cfg.Consumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: c.cfg.AckWait,
		MaxAckPending: maxAckPending, MaxDeliver: -1, Description: "Palisade collectors (shared work queue)"})
	if err != nil {
		return fmt.Errorf("NATS %s: create consumer %s: %w", c.cfg.NATSURL, c.cfg.Consumer, err)
	}
	c.cons = cons
	return nil
}

// Stats reports the counters.
func (c *Collector) Stats() Stats {
	return Stats{Stored: c.stored.Load(), DeadLettered: c.dead.Load(), Silent: c.silent.Load(), HostsPruned: c.hostsPruned.Load(),
		Redelivered: c.redelivered.Load(), StoreErrors: c.storeErrs.Load()}
}

// Healthy fails while the store refuses or cannot be reached (alerts then
// wait in NATS).
func (c *Collector) Healthy() error {
	if c.storeDown.Load() {
		return errors.New("store: inserts failing")
	}
	return nil
}

// Pending is the lag: alerts in the stream not yet delivered to any
// collector plus those delivered and not yet acknowledged.
func (c *Collector) Pending(ctx context.Context) (uint64, error) {
	info, err := c.cons.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// Store is the store the collector writes (for tests and serve).
func (c *Collector) Store() store.Store { return c.st }

func (c *Collector) logf(format string, args ...any) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.log, "palisade: collect: "+format+"\n", args...)
}

// Run consumes until ctx is done. Messages delivered but not committed
// then are left unacknowledged: the server hands them to another
// collector after AckWait.
func (c *Collector) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var errMu sync.Mutex
	var lastErr time.Time
	errHandler := jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if time.Since(lastErr) > 10*time.Second { // once per outage, not per retry
			lastErr = time.Now()
			c.logf("NATS: %s", escape.Text(err.Error()))
		}
	})
	msgs := make(chan jetstream.Msg, 2*c.cfg.Batch)
	cc, err := c.cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}, jetstream.PullMaxMessages(2*c.cfg.Batch), errHandler)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a stop, not a failure
		}
		return fmt.Errorf("consume %s: %w", AlertStream, err)
	}
	defer cc.Stop()
	hb, err := c.watchHeartbeats(ctx, errHandler)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer hb.Stop()
	check := time.NewTicker(c.cfg.CheckEvery)
	defer check.Stop()
	batches := make(chan []jetstream.Msg)
	var writers sync.WaitGroup
	for i := 0; i < c.cfg.Writers; i++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for b := range batches {
				c.commit(ctx, b)
			}
		}()
	}
	defer writers.Wait()
	defer close(batches)
	batch := make([]jetstream.Msg, 0, c.cfg.Batch)
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-check.C:
			c.saveHosts(ctx)
			c.checkSilent(ctx, now)
			c.pruneHosts(ctx, now)
			continue
		case m := <-msgs:
			if len(batch) == 0 {
				flush.Reset(c.cfg.FlushEvery)
			}
			batch = append(batch, m)
			if len(batch) < c.cfg.Batch {
				continue
			}
		case <-flush.C:
		}
		flush.Stop()
		select {
		case batches <- batch:
		case <-ctx.Done():
			return nil
		}
		batch = make([]jetstream.Msg, 0, c.cfg.Batch)
	}
}

// commit decodes a batch, stores the alerts in one transaction (retrying
// while the store is away) and only then acknowledges them.
func (c *Collector) commit(ctx context.Context, msgs []jetstream.Msg) {
	alerts := make([]alert.Alert, 0, len(msgs))
	good := make([]jetstream.Msg, 0, len(msgs))
	for _, m := range msgs {
		a, err := c.decode(m)
		if err != nil {
			c.deadLetter(ctx, m, err.Error())
			continue
		}
		alerts = append(alerts, a)
		good = append(good, m)
	}
	if len(alerts) == 0 {
		return
	}
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := c.st.Insert(ctx, alerts)
		if err == nil {
			c.storeDown.Store(false)
			break
		}
		c.storeErrs.Add(1)
		c.storeDown.Store(true)
		if ctx.Err() != nil {
			return // not acknowledged: redelivered to another collector
		}
		if attempt == 0 {
			c.logf("store: %s (retrying; alerts stay in NATS until stored)", escape.Text(err.Error()))
		}
		if store.Refused(err) && c.isolate(ctx, &alerts, &good) {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	if c.cfg.Committed != nil {
		c.cfg.Committed(alerts, time.Now())
	}
	for _, m := range good {
		if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
			c.redelivered.Add(1)
		}
		m.Ack()
	}
	c.stored.Add(uint64(len(alerts)))
}

// isolate inserts the alerts one at a time after the store refused the
// batch: those it refuses alone are dead-lettered and leave the batch. It
// gives up (false) as soon as an insert fails for another reason (the
// store went away), so nothing is dead-lettered for an outage.
func (c *Collector) isolate(ctx context.Context, alerts *[]alert.Alert, msgs *[]jetstream.Msg) bool {
	var bad []int
	for i := range *alerts {
		err := c.st.Insert(ctx, (*alerts)[i:i+1])
		if err == nil {
			continue
		}
		if !store.Refused(err) {
			return false
		}
		bad = append(bad, i)
	}
	keepA, keepM := (*alerts)[:0], (*msgs)[:0]
	j := 0
	for i := range *alerts {
		if j < len(bad) && bad[j] == i {
			c.deadLetter(ctx, (*msgs)[i], "store refused the alert")
			j++
			continue
		}
		keepA, keepM = append(keepA, (*alerts)[i]), append(keepM, (*msgs)[i])
	}
	*alerts, *msgs = keepA, keepM
	return true
}

// decode turns a message into an alert or says why it is not one. An
// alert without an ID (from Falco through falcosidekick, say) gets one
// derived from its stream position, so a redelivery is stored once too.
func (c *Collector) decode(m jetstream.Msg) (alert.Alert, error) {
	data := m.Data()
	if len(data) > c.cfg.MaxMessageBytes {
		return alert.Alert{}, fmt.Errorf("oversized: %d bytes (limit %d)", len(data), c.cfg.MaxMessageBytes)
	}
	var a alert.Alert
	// encoding/json's own behaviour on the faster json/v2 engine (what
	// Go's encoding/json becomes with GOEXPERIMENT=jsonv2): a third less
	// CPU and half the allocations per alert, the collector's largest cost
	// of its own. TestDecodeMatchesEncodingJSON holds the two to the same
	// results.
	if err := jsonv1.Unmarshal(data, &a); err != nil {
		return alert.Alert{}, fmt.Errorf("not Falco JSON: %v", err)
	}
	switch {
	case a.Rule == "":
		return alert.Alert{}, errors.New("not an alert: no rule")
	case a.Time.IsZero():
		return alert.Alert{}, errors.New("not an alert: no time")
	case len(a.ID) > 128:
		return alert.Alert{}, errors.New("not an alert: uuid longer than 128 bytes")
	}
	if a.ID == "" {
		md, err := m.Metadata()
		if err != nil {
			return alert.Alert{}, fmt.Errorf("no stream position: %v", err)
		}
		a.ID = alert.DerivedID("stream", md.Stream, strconv.FormatUint(md.Sequence.Stream, 10))
	}
	return a, nil
}

// deadLetter publishes the message unchanged to DeadLetterSubject, says
// why in one log line, and terminates it so it is never redelivered.
func (c *Collector) deadLetter(ctx context.Context, m jetstream.Msg, reason string) {
	c.dead.Add(1)
	seq := uint64(0)
	if md, err := m.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	dl := nats.NewMsg(DeadLetterSubject)
	dl.Data = m.Data()
	dl.Header.Set("Palisade-Reason", reason)
	dl.Header.Set("Palisade-Subject", m.Subject())
	dl.Header.Set("Palisade-Stream-Seq", strconv.FormatUint(seq, 10))
	pctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	_, err := c.js.PublishMsg(pctx, dl)
	cancel()
	if err != nil {
		// Not acknowledged either: it comes back and is tried again.
		c.logf("message %d on %s (%d bytes) not stored: %s; dead-letter publish failed: %s",
			seq, escape.Text(m.Subject()), len(m.Data()), escape.Text(reason), escape.Text(err.Error()))
		return
	}
	c.logf("message %d on %s (%d bytes) dead-lettered to %s: %s", seq, escape.Text(m.Subject()), len(m.Data()), DeadLetterSubject, escape.Text(reason))
	m.TermWithReason(reason)
}

// Close disconnects and closes the store.
func (c *Collector) Close() error {
	c.nc.Close()
	return c.st.Close()
}

// Metrics exposes a collector's counters and its lag; the lag is
// asked of NATS at each scrape (one consumer-info request).
func Metrics(ctx context.Context, c *Collector) *metrics.Registry {
	r := &metrics.Registry{}
	counter := func(name, help string, v func(Stats) uint64) {
		r.NewCounterFunc(name, help, nil, func() []metrics.Sample {
			return []metrics.Sample{{Value: float64(v(c.Stats()))}}
		})
	}
	counter("palisade_collect_stored_total", "Alerts committed to the store (a redelivered alert counts again; the store keeps one).", func(s Stats) uint64 { return s.Stored })
	counter("palisade_collect_redelivered_total", "Committed alerts NATS had delivered before: duplicates the store dropped by alert ID, or a first copy after a collector died.", func(s Stats) uint64 { return s.Redelivered })
	counter("palisade_collect_dead_lettered_total", "Messages moved to the dead-letter subject (not alerts, too large, refused by the store).", func(s Stats) uint64 { return s.DeadLettered })
	counter("palisade_collect_store_errors_total", "Failed insert attempts (each retry counts).", func(s Stats) uint64 { return s.StoreErrors })
	counter("palisade_collect_silent_alerts_total", "Silent-agent alerts raised.", func(s Stats) uint64 { return s.Silent })
	counter("palisade_collect_hosts_pruned_total", "Hosts deleted from the store's host table after --host-retention without a heartbeat.", func(s Stats) uint64 { return s.HostsPruned })
	r.NewGaugeFunc("palisade_collect_pending", "Alerts in the stream not yet stored: undelivered plus delivered and unacknowledged (the lag). Absent when NATS does not answer.", nil, func() []metrics.Sample {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		n, err := c.Pending(ctx)
		if err != nil {
			return nil
		}
		return []metrics.Sample{{Value: float64(n)}}
	})
	return r
}
