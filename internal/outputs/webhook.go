package outputs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// WebhookConfig configures the webhook output.
type WebhookConfig struct {
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	// CAFile adds PEM CA certificates to trust for https URLs.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile present a client certificate (mutual TLS).
	CertFile           string        `yaml:"cert_file"`
	KeyFile            string        `yaml:"key_file"`
	InsecureSkipVerify bool          `yaml:"insecure_skip_verify"`
	Timeout            time.Duration `yaml:"timeout"`          // per request; default 5s
	MaxBackoff         time.Duration `yaml:"max_backoff"`      // cap between spool resends; default 5s
	SpoolDir           string        `yaml:"spool_dir"`        // default /var/lib/palisade/spool/webhook
	SpoolMaxAlerts     int           `yaml:"spool_max_alerts"` // default 100000
	SpoolMaxSize       ByteSize      `yaml:"spool_max_size"`
}

// DefaultSpoolDir is where the webhook spool lives unless configured.
const DefaultSpoolDir = "/var/lib/palisade/spool/webhook"

// WebhookOutput POSTs each alert as one Falco JSON object, as Falco's
// http_output does, so falcosidekick accepts it. Every batch first goes to
// a bounded on-disk spool (one file write per batch), and a sender
// goroutine posts from it in order, retrying with exponential backoff while
// the endpoint is unreachable. So a dead or hung endpoint never holds up
// the dispatcher, an outage loses nothing up to the spool's bounds, and
// alerts still spooled at exit are sent by the next run.
type WebhookOutput struct {
	cfg     WebhookConfig
	client  *http.Client
	spool   *spool
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closeMu sync.Once
	// rejected counts spooled alerts the endpoint refused with a 4xx.
	rejected atomic.Uint64
	sent     atomic.Uint64
	failing  atomic.Bool // the latest post failed for a reason worth retrying
	// OnReject, if set before the first Write, is called from the sender
	// for each alert the endpoint refused.
	OnReject func(err error)
}

// NewWebhookOutput checks the URL, loads TLS material and opens the spool
// (resending whatever an earlier run left in it).
func NewWebhookOutput(cfg WebhookConfig) (*WebhookOutput, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook output: bad URL %q (want http:// or https://)", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = DefaultSpoolDir
	}
	if cfg.SpoolMaxAlerts <= 0 {
		cfg.SpoolMaxAlerts = 100000
	}
	if cfg.SpoolMaxSize <= 0 {
		cfg.SpoolMaxSize = 256 << 20
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("webhook output: read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("webhook output: %s holds no PEM certificate", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("webhook output: load client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	sp, err := openSpool(cfg.SpoolDir, cfg.SpoolMaxAlerts, int64(cfg.SpoolMaxSize))
	if err != nil {
		return nil, fmt.Errorf("webhook output: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.Proxy = nil // alerts go where they are configured to go, not via an environment proxy
	o := &WebhookOutput{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.Timeout},
		spool: sp, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go o.resend()
	if sp.Len() > 0 {
		o.poke()
	}
	return o, nil
}

// Name implements Output.
func (o *WebhookOutput) Name() string { return "webhook" }

// Spooled reports how many alerts wait in the spool.
func (o *WebhookOutput) Spooled() int { return o.spool.Len() }

// SpoolDropped reports alerts dropped because the spool was full.
func (o *WebhookOutput) SpoolDropped() uint64 { return o.spool.Dropped() }

// Sent reports alerts the endpoint accepted.
func (o *WebhookOutput) Sent() uint64 { return o.sent.Load() }

// Failing reports whether the latest attempt to reach the endpoint failed
// (it is down, hung or answering 5xx); alerts are piling up in the spool.
func (o *WebhookOutput) Failing() bool { return o.failing.Load() }

// Rejected reports spooled alerts the endpoint later refused with a 4xx.
func (o *WebhookOutput) Rejected() uint64 { return o.rejected.Load() }

// Write implements Output: it spools the batch and wakes the sender. It
// returns an error only when an alert could not be spooled.
func (o *WebhookOutput) Write(_ context.Context, batch []alert.Alert) error {
	var errs []error
	bodies := make([][]byte, 0, len(batch))
	for _, a := range batch {
		body, err := FalcoJSON(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("encode alert: %w", err))
			continue
		}
		bodies = append(bodies, body)
	}
	if err := o.spool.Push(bodies); err != nil {
		errs = append(errs, err)
	}
	o.poke()
	return errors.Join(errs...)
}

func (o *WebhookOutput) poke() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

type permanentError struct{ status int }

func (e *permanentError) Error() string { return fmt.Sprintf("endpoint answered HTTP %d", e.status) }

func (o *WebhookOutput) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "palisade")
	for k, v := range o.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("post alert: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	// 4xx other than 408/429 means the receiver rejects this body; it will
	// not get better by resending.
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != 408 && resp.StatusCode != 429 {
		return &permanentError{status: resp.StatusCode}
	}
	return fmt.Errorf("post alert: endpoint answered HTTP %d", resp.StatusCode)
}

// resend drains the spool oldest first, backing off exponentially (up to
// MaxBackoff) while the endpoint stays unreachable. A body the endpoint
// rejects with a 4xx leaves the spool (it would block it forever) and is
// counted in Rejected and reported through OnReject.
func (o *WebhookOutput) resend() {
	defer close(o.done)
	backoff := 250 * time.Millisecond
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-o.stop; cancel() }()
	for {
		select {
		case <-o.stop:
			return
		case <-o.kick:
		case <-timer.C:
		}
		for {
			seg, body, ok := o.spool.Peek()
			if !ok {
				backoff = 250 * time.Millisecond
				break
			}
			err := o.post(ctx, body)
			var perm *permanentError
			if err == nil || errors.As(err, &perm) {
				// Delivered, or rejected for good: a rejected body would
				// block the queue forever, so it leaves the spool.
				o.failing.Store(false)
				if err == nil {
					o.sent.Add(1)
				} else {
					o.rejected.Add(1)
					if o.OnReject != nil {
						o.OnReject(err)
					}
				}
				o.spool.Ack(seg)
				backoff = 250 * time.Millisecond
				continue
			}
			if ctx.Err() != nil {
				return
			}
			o.failing.Store(true)
			timer.Reset(backoff)
			backoff = min(backoff*2, o.cfg.MaxBackoff)
			break
		}
	}
}

// Drain waits until the spool is empty (every alert delivered or
// rejected) or ctx is done; what is left then stays spooled for the next
// run.
func (o *WebhookOutput) Drain(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		n := o.spool.Len()
		if n == 0 {
			return nil
		}
		o.poke()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d alerts still spooled for the next run (endpoint unreachable?)", n)
		case <-t.C:
		}
	}
}

// Close stops the resender. Spooled alerts stay on disk for the next run.
func (o *WebhookOutput) Close() error {
	o.closeMu.Do(func() { close(o.stop) })
	<-o.done
	o.client.CloseIdleConnections()
	return nil
}
