package outputs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/endpoint"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/palisade-sec/palisade/internal/respond"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/store"
	"go.yaml.in/yaml/v3"

	"github.com/palisade-sec/palisade/internal/rules"
)

// Config describes the whole delivery side: outputs, limits, store and
// metrics. Its YAML form is documented in docs/outputs.md and
// examples/palisade.yaml. A larger config can embed it with `yaml:",inline"`.
type Config struct {
	Outputs OutputsConfig `yaml:"outputs"`
	Limits  LimiterConfig `yaml:"limits"`
	Store   StoreConfig   `yaml:"store"`
	Metrics MetricsConfig `yaml:"metrics"`
	// AppendOutput is Falco's append_output: text and fields added to the
	// outputs of the rules each entry matches. Absent, watch and replay
	// use rules.DefaultAppendOutput; an empty list appends nothing.
	AppendOutput []rules.AppendOutput `yaml:"append_output"`
	// Responses are the actions taken on alerts (internal/respond,
	// docs/respond.md); watch only.
	Responses respond.Config `yaml:"responses"`
}

// OutputsConfig lists the outputs; a nil pointer means that output is off.
type OutputsConfig struct {
	// QueueSize is each output's queue length (default 4096; the store's
	// queue is 16 times larger).
	QueueSize int            `yaml:"queue_size"`
	Terminal  TerminalConfig `yaml:"terminal"`
	File      *FileConfig    `yaml:"file"`
	Syslog    *SyslogConfig  `yaml:"syslog"`
	Webhook   *WebhookConfig `yaml:"webhook"`
	Program   *ProgramConfig `yaml:"program"`
	NATS      *NATSConfig    `yaml:"nats"`
}

// TerminalConfig configures the stdout output, on by default.
type TerminalConfig struct {
	Enabled *bool  `yaml:"enabled"` // default true
	Format  string `yaml:"format"`  // text (default) or json
	Color   string `yaml:"color"`   // auto (default), always, never
}

// StoreConfig configures the alert store.
type StoreConfig struct {
	// URL is sqlite:PATH, postgres://..., or "none" to keep no history.
	// Default store.DefaultURL.
	URL    string        `yaml:"url"`
	MaxAge time.Duration `yaml:"max_age"` // default 30 days; negative keeps forever
	// MaxCount keeps at most this many alerts; default 1,000,000, negative
	// keeps all.
	MaxCount int64 `yaml:"max_count"`
}

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	// Address is HOST:PORT (default 127.0.0.1:9376) or "none".
	Address string `yaml:"address"`
	// Off loopback the endpoint needs a token file or client CA, and TLS
	// or insecure_no_tls (see internal/endpoint).
	TokenFile     string `yaml:"token_file"`
	TLSCert       string `yaml:"tls_cert"`
	TLSKey        string `yaml:"tls_key"`
	ClientCA      string `yaml:"client_ca"`
	InsecureNoTLS bool   `yaml:"insecure_no_tls"`
}

// Auth is the endpoint.Options the config describes; the token variable
// fills in when no token file is named.
func (m MetricsConfig) Auth() endpoint.Options {
	o := endpoint.Options{TokenFile: m.TokenFile, TLSCert: m.TLSCert, TLSKey: m.TLSKey, ClientCA: m.ClientCA,
		InsecureNoTLS: m.InsecureNoTLS, FlagPrefix: "metrics-", TokenEnv: MetricsTokenEnv}
	o.FromEnv()
	return o
}

// MetricsTokenEnv holds the metrics bearer token when no file is named.
const MetricsTokenEnv = "PALISADE_METRICS_TOKEN"

// ByteSize is a size in bytes written as 1048576, "64KiB", "100MiB", "1GiB"
// (KB/MB/GB are taken as powers of 1024 too).
type ByteSize int64

// ParseByteSize parses a ByteSize.
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q (want e.g. 100MiB)", s)
	}
	return ByteSize(n * mult), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// LoadConfig reads a YAML config file, bounded by input.Config's limit and
// abandoned when ctx ends. Unknown keys are errors, reported as
// PATH:LINE: unknown key "name".
func LoadConfig(ctx context.Context, path string) (Config, error) {
	data, err := input.ReadFile(ctx, path, input.Config)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses YAML config text; name is used in error messages.
func ParseConfig(name string, data []byte) (Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // empty file: empty config
		return Config{}, configError(name, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, srcpos.Wrap(srcpos.Position{File: name}, err)
	}
	if err := cfg.Responses.Check(name); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

var (
	lineRe    = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)
	unknownRe = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// configError turns yaml's "line N: ..." messages into a sorted
// srcpos.ErrorList (one line each, however the YAML echoes a value) and names
// unknown keys plainly.
func configError(name string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	if len(msgs) == 0 {
		msgs = []string{err.Error()}
	}
	var out srcpos.ErrorList
	for _, m := range msgs {
		if sm := lineRe.FindStringSubmatch(m); sm != nil {
			text := sm[2]
			if um := unknownRe.FindStringSubmatch(text); um != nil {
				text = fmt.Sprintf("unknown key %q", um[1])
			}
			line, _ := strconv.Atoi(sm[1])
			out.Add(srcpos.Position{File: name, Line: line}, text)
			continue
		}
		out.Add(srcpos.Position{File: name}, strings.TrimPrefix(m, "yaml: "))
	}
	out.Sort()
	return out.Err()
}

// Validate checks values that decode fine but cannot work.
func (c Config) Validate() error {
	t := c.Outputs.Terminal
	if _, err := ParseFormat(t.Format); err != nil {
		return fmt.Errorf("outputs.terminal.format: %w", err)
	}
	switch ColorMode(t.Color) {
	case "", ColorAuto, ColorAlways, ColorNever:
	default:
		return fmt.Errorf("outputs.terminal.color: unknown mode %q (want auto, always or never)", t.Color)
	}
	if f := c.Outputs.File; f != nil {
		if f.Path == "" {
			return errors.New("outputs.file.path: missing")
		}
		if _, err := ParseFormat(f.Format); err != nil {
			return fmt.Errorf("outputs.file.format: %w", err)
		}
	}
	if s := c.Outputs.Syslog; s != nil {
		if _, _, err := parseSyslogAddress(s.Address); err != nil {
			return fmt.Errorf("outputs.syslog.address: %w", err)
		}
	}
	if w := c.Outputs.Webhook; w != nil && w.URL == "" {
		return errors.New("outputs.webhook.url: missing")
	}
	if p := c.Outputs.Program; p != nil && strings.TrimSpace(p.Command) == "" {
		return errors.New("outputs.program.command: missing")
	}
	if n := c.Outputs.NATS; n != nil && n.URL == "" {
		return errors.New("outputs.nats.url: missing")
	}
	if c.Limits.RatePerRule < 0 || c.Limits.DedupWindow < 0 || c.Limits.Burst < 0 {
		return errors.New("limits: values must not be negative")
	}
	if u := c.Store.URL; u != "" && u != "none" && !strings.HasPrefix(u, "sqlite:") &&
		!strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return fmt.Errorf("store.url: %w %q (want sqlite:PATH, postgres://... or none)", store.ErrBadURL, store.Redact(u))
	}
	if a := c.Metrics.Address; a != "none" {
		if a == "" {
			a = "127.0.0.1:9376"
		}
		if err := c.Metrics.Auth().Check(a); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}
