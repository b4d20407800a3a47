package outputs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
	"github.com/spf13/pflag"
)

func TestExampleConfigParses(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "examples", "palisade.yaml")
	cfg, err := LoadConfig(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Outputs
	if o.File == nil || o.File.MaxSize != 100<<20 || o.Syslog == nil || o.Webhook == nil ||
		o.Webhook.Headers["Authorization"] != "Bearer change-me" || o.Program == nil || o.NATS == nil {
		t.Fatalf("example config decoded to %+v", o)
	}
	if r := cfg.Responses; !r.DryRun || len(r.Actions) != 4 || r.Actions[0].Action != "kill" || r.Actions[3].Line == 0 {
		t.Fatalf("responses: %+v", r)
	}
	if cfg.Limits.DedupWindow != 30*time.Second || cfg.Store.MaxAge != 720*time.Hour || cfg.Metrics.Address != "127.0.0.1:9376" {
		t.Fatalf("limits/store/metrics: %+v %+v %+v", cfg.Limits, cfg.Store, cfg.Metrics)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"outputs:\n  terminal:\n    colour: auto\n", `cfg.yaml:3: unknown key "colour"`},
		{"outputs:\n  file:\n    path: /x\n    max_size: lots\n", `cfg.yaml:4: bad size "lots"`},
		{"store:\n  url: mysql://x\n", `cfg.yaml: store.url: bad store URL "mysql://x"`},
		{"outputs:\n  syslog:\n    address: ftp://x\n", `outputs.syslog.address`},
		{"outputs:\n  terminal:\n    format: xml\n", `outputs.terminal.format: unknown alert format "xml"`},
		{"outputs: [\n", `cfg.yaml:`},
		{"limits:\n  dedup_window: soon\n", `cfg.yaml:2:`},
		{"bogus: 1\n", `cfg.yaml:1: unknown key "bogus"`},
		// A scalar holding newlines is echoed escaped, on the error's one line.
		{"limits: {burst: \"00\\n\\n0\"}", "cfg.yaml:1: cannot unmarshal !!str `00\\n\\n0` into int"},
		// Several problems: the first by line, then how many more.
		{"zz: 1\nlimits:\n  burst: x\naa: 2\n", `cfg.yaml:1: unknown key "zz" (and 2 more errors)`},
		{"outputs:\n  terminal:\n    \"col\\u202eour\": auto\n", `cfg.yaml:3: unknown key "col\u202eour"`},
		{"responses:\n  actions:\n    - action: kill\n      match: {rules: [x]}\n    - action: explode\n      match: {rules: [x]}\n", `cfg.yaml:5: responses.actions[1]: unknown action "explode"`},
		{"responses:\n  actions:\n    - action: kill\n      mtach: {rules: [x]}\n", `cfg.yaml:4: unknown key "mtach"`},
		{"responses:\n  allow_hosts: true\n", `cfg.yaml:2: unknown key "allow_hosts"`},
		{"responses:\n  rate: {global: {per_second: 1e6}}\n", `cfg.yaml: responses.rate.global: at most 100 per second`},
	} {
		_, err := ParseConfig("cfg.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.yaml, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error is not one line: %q", tc.yaml, err)
		}
	}
	if cfg, err := ParseConfig("empty.yaml", nil); err != nil || cfg.Outputs.File != nil {
		t.Errorf("empty config: %+v, %v", cfg, err)
	}
}

func TestFlagsOverrideConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(path, []byte("outputs:\n  file:\n    path: /from/config\n    max_backups: 9\nstore:\n  url: sqlite:/from/config.db\n"), 0o600)
	var f Flags
	fs := pflag.NewFlagSet("watch", pflag.ContinueOnError)
	f.Register(fs)
	err := fs.Parse([]string{"--config", path, "--file", "/from/flag", "--webhook", "http://127.0.0.1:2801/",
		"--webhook-header", "X-Token=abc=def", "--metrics", "none", "--dedup-window", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config(fs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Outputs.File.Path != "/from/flag" || cfg.Outputs.File.MaxBackups != 9 {
		t.Errorf("file = %+v", cfg.Outputs.File)
	}
	if cfg.Store.URL != "sqlite:/from/config.db" {
		t.Errorf("unset --store overrode the config: %q", cfg.Store.URL)
	}
	if w := cfg.Outputs.Webhook; w == nil || w.URL != "http://127.0.0.1:2801/" || w.Headers["X-Token"] != "abc=def" {
		t.Errorf("webhook = %+v", w)
	}
	if cfg.Metrics.Address != "none" || cfg.Limits.DedupWindow != 5*time.Second {
		t.Errorf("metrics %q dedup %v", cfg.Metrics.Address, cfg.Limits.DedupWindow)
	}
	fs2 := pflag.NewFlagSet("watch", pflag.ContinueOnError)
	var f2 Flags
	f2.Register(fs2)
	fs2.Parse([]string{"--webhook-header", "novalue"})
	if _, err := f2.Config(fs2); err == nil {
		t.Error("header without = accepted")
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"1024": 1024, "64KiB": 64 << 10, "100MiB": 100 << 20, "1GiB": 1 << 30, "2MB": 2 << 20, "10 K": 10 << 10} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1TiB", "99999999999999999GiB"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", bad)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{"", "outputs:\n  file:\n    path: /x\n", "store: {url: none}", "limits: {rate_per_rule: 1.5, burst: 2}", "outputs: {webhook: {url: 'http://x', headers: {a: b}}}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.yaml", data)
		if err != nil {
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r\x1b\u2028\u2029\u202e") {
				t.Fatalf("error spans lines or carries controls: %q", msg)
			} else if !strings.HasPrefix(msg, "fuzz.yaml") {
				t.Fatalf("error does not name the file: %q", msg)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("parsed config fails validation: %v", err)
		}
	})
}

// append_output sits beside the outputs, in Falco's form; absent it is nil
// (the commands then use the default), an empty list stays empty.
func TestConfigAppendOutput(t *testing.T) {
	cfg, err := ParseConfig("c.yaml", []byte("append_output:\n  - match: {source: syscall, tags: [container]}\n    extra_output: \"pod=%k8s.pod.name\"\n    extra_fields: [proc.pid, {team: sec}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.AppendOutput
	if len(a) != 1 || a[0].Match.Source != "syscall" || a[0].Match.Tags[0] != "container" || a[0].ExtraOutput != "pod=%k8s.pod.name" ||
		len(a[0].ExtraFields) != 2 || a[0].ExtraFields[0].Name != "proc.pid" || a[0].ExtraFields[1].Value != "sec" {
		t.Errorf("decoded %+v", a)
	}
	if cfg, _ := ParseConfig("c.yaml", []byte("store: {url: none}\n")); cfg.AppendOutput != nil {
		t.Errorf("absent: %+v", cfg.AppendOutput)
	}
	if cfg, _ := ParseConfig("c.yaml", []byte("append_output: []\n")); cfg.AppendOutput == nil || len(cfg.AppendOutput) != 0 {
		t.Errorf("empty list: %#v", cfg.AppendOutput)
	}
	if _, err := ParseConfig("c.yaml", []byte("append_output:\n  - extra_fields: [{a: 1, b: 2}]\n")); err == nil || !strings.HasPrefix(err.Error(), "c.yaml:2:") {
		t.Errorf("bad extra field: %v", err)
	}
}

// --metrics off loopback needs a credential and TLS (or a proxy), from flags
// or from the config file.
func TestMetricsOffLoopback(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(cfgFile, []byte("metrics:\n  address: 0.0.0.0:9376\n  token_file: /etc/palisade/metrics.token\n  insecure_no_tls: true\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics", "0.0.0.0:9376"}, "without a credential: give --metrics-token-file"},
		{[]string{"--metrics", ":9376", "--metrics-token-file", "t"}, "without TLS"},
		{[]string{"--metrics", ":9376", "--metrics-token-file", "t", "--metrics-insecure-no-tls"}, ""},
		{[]string{"--metrics", "127.0.0.1:9376"}, ""},
		{[]string{"--config", cfgFile}, ""},
		{[]string{"--config", cfgFile, "--metrics-insecure-no-tls=false"}, "without TLS"},
	} {
		var f Flags
		fs := pflag.NewFlagSet("watch", pflag.ContinueOnError)
		f.Register(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		_, err := f.Config(fs)
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
