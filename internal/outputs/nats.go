package outputs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/palisade-sec/palisade/internal/alert"
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
}

// NATSOutput publishes each alert's Falco JSON to
// <prefix>.<priority>. When a JetStream stream covers the subject the
// publish waits for the stream's acknowledgement, so the alert is stored
// fleet-side before it counts as delivered; otherwise it is a core NATS
// publish confirmed by a round trip (flush).
type NATSOutput struct {
	cfg NATSConfig
	nc  *nats.Conn
	js  jetstream.JetStream

	mu      sync.Mutex
	streams map[string]streamLookup
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
	opts := []nats.Option{nats.Name("palisade"), nats.Timeout(cfg.Timeout), nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true), nats.ReconnectBufSize(8 << 20), nats.DrainTimeout(cfg.Timeout)}
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
	return &NATSOutput{cfg: cfg, nc: nc, js: js, streams: map[string]streamLookup{}}, nil
}

// Subject returns the subject an alert of priority p goes to.
func (o *NATSOutput) Subject(p alert.Priority) string {
	return o.cfg.SubjectPrefix + "." + strings.ToLower(p.String())
}

// Name implements Output.
func (o *NATSOutput) Name() string { return "nats" }

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
	l = streamLookup{jetstream: err == nil, at: time.Now()}
	o.mu.Lock()
	o.streams[subject] = l
	o.mu.Unlock()
	return l.jetstream
}

// Write implements Output.
func (o *NATSOutput) Write(ctx context.Context, batch []alert.Alert) error {
	core := 0
	for i, a := range batch {
		body, err := FalcoJSONWithin(a, int(o.nc.MaxPayload())-1024)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		subject := o.Subject(a.Priority)
		if o.usesJetStream(ctx, subject) {
			pctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
			_, err = o.js.Publish(pctx, subject, body)
			cancel()
			if err != nil {
				o.forget(subject)
				return fmt.Errorf("jetstream publish %s (%d of %d alerts): %w", subject, len(batch)-i, len(batch), err)
			}
			continue
		}
		if err := o.nc.Publish(subject, body); err != nil {
			return fmt.Errorf("publish %s (%d of %d alerts): %w", subject, len(batch)-i, len(batch), err)
		}
		core++
	}
	if core > 0 {
		fctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
		defer cancel()
		if err := o.nc.FlushWithContext(fctx); err != nil {
			return fmt.Errorf("flush to nats: %w", err)
		}
	}
	return nil
}

func (o *NATSOutput) forget(subject string) {
	o.mu.Lock()
	delete(o.streams, subject)
	o.mu.Unlock()
}

// Close implements Output; it drains pending publishes.
func (o *NATSOutput) Close() error {
	if err := o.nc.Drain(); err != nil {
		o.nc.Close()
		return fmt.Errorf("close nats: %w", err)
	}
	return nil
}
