package outputs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/endpoint"
	"github.com/spf13/pflag"
)

// Flags are the command-line overrides of Config. Register them on a
// command's flag set, then call Config after parsing: the --config file is
// read first and every flag the user set replaces the matching value.
type Flags struct {
	ConfigPath     string
	File           string
	Syslog         string
	Webhook        string
	WebhookHeaders []string
	WebhookCA      string
	Program        string
	NATS           string
	Store          string
	Metrics        string
	MetricsAuth    endpoint.Options
	RatePerRule    float64
	DedupWindow    time.Duration
}

// Register adds the delivery flags to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.ConfigPath, "config", "", "delivery config file (YAML: outputs, limits, store, metrics, responses)")
	fs.StringVar(&f.File, "file", "", "append alerts as JSON lines to `PATH` (rotated by size)")
	fs.StringVar(&f.Syslog, "syslog", "", "send alerts to syslog (RFC 5424): unix:///dev/log, udp://HOST:PORT or tcp://HOST:PORT")
	fs.StringVar(&f.Webhook, "webhook", "", "POST each alert as Falco JSON to `URL` (spooled on disk while it is down)")
	fs.StringArrayVar(&f.WebhookHeaders, "webhook-header", nil, "extra webhook header `NAME=VALUE` (repeatable)")
	fs.StringVar(&f.WebhookCA, "webhook-ca", "", "PEM CA `FILE` to trust for an https webhook")
	fs.StringVar(&f.Program, "program", "", "run `CMD` (via /bin/sh -c) per alert with its JSON on stdin")
	fs.StringVar(&f.NATS, "nats", "", "publish alerts to NATS `URL` on palisade.alerts.<priority>")
	fs.StringVar(&f.Store, "store", "", "alert store: sqlite:PATH, postgres://... or none (default "+defaultStoreURL()+")")
	fs.StringVar(&f.Metrics, "metrics", "", "serve Prometheus /metrics and /healthz on `ADDR`, or none (default 127.0.0.1:9376)")
	f.MetricsAuth.Register(fs, "metrics-", MetricsTokenEnv)
	fs.Float64Var(&f.RatePerRule, "rate-limit", 0, "at most `N` alerts per second per rule (0 = no limit; merged count kept)")
	fs.DurationVar(&f.DedupWindow, "dedup-window", 0, "merge identical alerts seen within `D` (0 = off)")
}

// Config is ConfigContext without cancellation: the config file's read is
// bounded but cannot be interrupted.
func (f *Flags) Config(fs *pflag.FlagSet) (Config, error) {
	return f.ConfigContext(context.Background(), fs)
}

// ConfigContext loads --config (if given) and applies the flags the user
// set; reading the file stops when ctx ends.
func (f *Flags) ConfigContext(ctx context.Context, fs *pflag.FlagSet) (Config, error) {
	var cfg Config
	if f.ConfigPath != "" {
		var err error
		if cfg, err = LoadConfig(ctx, f.ConfigPath); err != nil {
			return Config{}, err
		}
	}
	changed := func(name string) bool { return fs.Changed(name) }
	o := &cfg.Outputs
	if changed("file") {
		if o.File == nil {
			o.File = &FileConfig{}
		}
		o.File.Path = f.File
	}
	if changed("syslog") {
		if o.Syslog == nil {
			o.Syslog = &SyslogConfig{}
		}
		o.Syslog.Address = f.Syslog
	}
	if changed("webhook") || changed("webhook-header") || changed("webhook-ca") {
		if o.Webhook == nil {
			o.Webhook = &WebhookConfig{}
		}
		if changed("webhook") {
			o.Webhook.URL = f.Webhook
		}
		if changed("webhook-ca") {
			o.Webhook.CAFile = f.WebhookCA
		}
		for _, h := range f.WebhookHeaders {
			k, v, ok := strings.Cut(h, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return Config{}, fmt.Errorf("--webhook-header %q: want NAME=VALUE", h)
			}
			if o.Webhook.Headers == nil {
				o.Webhook.Headers = map[string]string{}
			}
			o.Webhook.Headers[strings.TrimSpace(k)] = v
		}
	}
	if changed("program") {
		if o.Program == nil {
			o.Program = &ProgramConfig{}
		}
		o.Program.Command = f.Program
	}
	if changed("nats") {
		if o.NATS == nil {
			o.NATS = &NATSConfig{}
		}
		o.NATS.URL = f.NATS
	}
	if changed("store") {
		cfg.Store.URL = f.Store
	}
	if changed("metrics") {
		cfg.Metrics.Address = f.Metrics
	}
	m, a := &cfg.Metrics, f.MetricsAuth
	for name, set := range map[string]func(){
		"metrics-token-file":      func() { m.TokenFile = a.TokenFile },
		"metrics-tls-cert":        func() { m.TLSCert = a.TLSCert },
		"metrics-tls-key":         func() { m.TLSKey = a.TLSKey },
		"metrics-client-ca":       func() { m.ClientCA = a.ClientCA },
		"metrics-insecure-no-tls": func() { m.InsecureNoTLS = a.InsecureNoTLS },
	} {
		if changed(name) {
			set()
		}
	}
	if changed("rate-limit") {
		cfg.Limits.RatePerRule = f.RatePerRule
	}
	if changed("dedup-window") {
		cfg.Limits.DedupWindow = f.DedupWindow
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
