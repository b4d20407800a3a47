package respond

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/glob"
	"github.com/palisade-sec/palisade/internal/srcpos"
)

// Action is what a response does.
type Action string

// The actions.
const (
	Kill    Action = "kill"    // SIGKILL the process, through a pidfd
	Stop    Action = "stop"    // stop the container (SIGTERM, then SIGKILL after grace)
	Pause   Action = "pause"   // freeze the container
	Isolate Action = "isolate" // disconnect the container from its networks
	Log     Action = "log"     // only say that the alert matched
)

// onContainer reports whether a acts on the container rather than the process.
func (a Action) onContainer() bool { return a == Stop || a == Pause || a == Isolate }

// Config is the responses section of the config file.
type Config struct {
	// DryRun logs what each response would do and changes nothing
	// (watch --dry-run sets it too).
	DryRun bool `yaml:"dry_run"`
	// AllowHost lets kill act on processes outside containers (never the
	// agent, its ancestors, pid 1, a runtime or the kubelet).
	AllowHost bool `yaml:"allow_host"`
	// Rate limits actions; see the defaults and caps below.
	Rate RateConfig `yaml:"rate"`
	// ReadEvery is how often watch reads the kernel's ring when a kill
	// response is configured (default PollEvery, 1 ms; at most 10 ms, the
	// capture's own default). Lower is an earlier kill and more CPU
	// (BENCHMARKS.md).
	ReadEvery time.Duration `yaml:"read_every"`
	// DenyExec are executables (absolute paths) killed by the kernel at
	// exec, before they run (internal/kernel/execdeny); identified by
	// device and inode when watch starts.
	DenyExec []string `yaml:"deny_exec"`
	// Actions are tried in order; the first whose match fits the alert
	// is its response.
	Actions []Entry `yaml:"actions"`
}

// RateConfig is two token buckets: one for all actions, one per container
// (host processes share one).
type RateConfig struct {
	Global       Bucket `yaml:"global"`
	PerContainer Bucket `yaml:"per_container"`
}

// Bucket is a token bucket: PerSecond tokens added each second, at most
// Burst kept.
type Bucket struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
}

// Defaults and hard caps of the rate limit: a config may lower a limit
// freely but never raise it past the cap.
var (
	DefaultGlobal       = Bucket{PerSecond: 10, Burst: 20}
	DefaultPerContainer = Bucket{PerSecond: 1, Burst: 5}
	CapGlobal           = Bucket{PerSecond: 100, Burst: 500}
	CapPerContainer     = Bucket{PerSecond: 20, Burst: 100}
)

// Entry is one response: an action and the alerts it applies to.
type Entry struct {
	Name   string `yaml:"name"`
	Action Action `yaml:"action"`
	Match  Match  `yaml:"match"`
	// Grace is how long stop waits after SIGTERM before SIGKILL (default 10s).
	Grace time.Duration `yaml:"grace"`
	// Line is where the entry starts in the config file.
	Line int `yaml:"-"`
}

// UnmarshalYAML keeps the entry's line for error messages, and refuses
// unknown keys as the rest of the config file does (Decode inside an
// unmarshaler would not).
func (e *Entry) UnmarshalYAML(n *yaml.Node) error {
	var unknown []string
	checkKeys(n, "respond.Entry", map[string]bool{"name": true, "action": true, "match": true, "grace": true}, &unknown)
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "match" {
				checkKeys(n.Content[i+1], "respond.Match", map[string]bool{"rules": true, "tags": true, "priority": true, "containers": true, "images": true}, &unknown)
			}
		}
	}
	if len(unknown) > 0 {
		return &yaml.TypeError{Errors: unknown}
	}
	type plain Entry
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*e = Entry(p)
	e.Line = n.Line
	return nil
}

// checkKeys adds yaml's own message for each key of mapping n not in known.
func checkKeys(n *yaml.Node, typ string, known map[string]bool, out *[]string) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !known[k.Value] {
			*out = append(*out, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, k.Value, typ))
		}
	}
}

// Match says which alerts an entry applies to. Every field given must fit
// (and); within a list any item may (or). Rules, containers and images take
// exact text or globs (* any run of characters, ? one character).
type Match struct {
	Rules []string `yaml:"rules"`
	Tags  []string `yaml:"tags"`
	// Priority is the least severe priority that matches ("warning"
	// matches warning, error, critical, alert and emergency).
	Priority string `yaml:"priority"`
	// Containers are container names or id prefixes.
	Containers []string `yaml:"containers"`
	// Images are image references as the engine gives them
	// ("docker.io/library/nginx:1.27", "busybox*").
	Images []string `yaml:"images"`
}

// Validate checks the section; errors name the entry and its line.
func (c Config) Validate() error { return c.Check("") }

// Check is Validate with file:line positions in file.
func (c Config) Check(file string) error {
	var errs srcpos.ErrorList
	top := srcpos.Position{File: file}
	bucket := func(what string, b Bucket, cap Bucket) {
		if b.PerSecond < 0 || b.Burst < 0 {
			errs.Addf(top, "responses.rate.%s: values must not be negative", what)
		}
		if b.PerSecond > cap.PerSecond || b.Burst > cap.Burst {
			errs.Addf(top, "responses.rate.%s: at most %g per second and a burst of %d (the hard cap)", what, cap.PerSecond, cap.Burst)
		}
	}
	bucket("global", c.Rate.Global, CapGlobal)
	bucket("per_container", c.Rate.PerContainer, CapPerContainer)
	if c.ReadEvery != 0 && (c.ReadEvery < 100*time.Microsecond || c.ReadEvery > 10*time.Millisecond) {
		errs.Addf(top, "responses.read_every: %s: want between 100us and 10ms", c.ReadEvery)
	}
	for _, p := range c.DenyExec {
		if !strings.HasPrefix(p, "/") {
			errs.Addf(top, "responses.deny_exec: %q: want an absolute path", p)
		}
	}
	for i, e := range c.Actions {
		pos := srcpos.Position{File: file, Line: e.Line}
		at := fmt.Sprintf("responses.actions[%d]", i)
		switch e.Action {
		case Kill, Stop, Pause, Isolate, Log:
		case "":
			errs.Addf(pos, "%s: action missing (want kill, stop, pause, isolate or log)", at)
		default:
			errs.Addf(pos, "%s: unknown action %q (want kill, stop, pause, isolate or log)", at, string(e.Action))
		}
		if e.Match.Priority != "" {
			if _, ok := alert.ParsePriority(e.Match.Priority); !ok {
				errs.Addf(pos, "%s.match.priority: %v", at, &alert.UnknownPriorityError{Value: e.Match.Priority})
			}
		}
		if e.Grace < 0 || e.Grace > 5*time.Minute {
			errs.Addf(pos, "%s.grace: want between 0 and 5m", at)
		}
		m := e.Match
		if len(m.Rules)+len(m.Tags)+len(m.Containers)+len(m.Images) == 0 && m.Priority == "" {
			errs.Addf(pos, "%s.match: empty: an entry must name rules, tags, a priority, containers or images", at)
		}
		for _, list := range [][]string{m.Rules, m.Tags, m.Containers, m.Images} {
			for _, s := range list {
				if strings.TrimSpace(s) == "" {
					errs.Addf(pos, "%s.match: empty pattern", at)
				}
			}
		}
	}
	errs.Sort()
	return errs.Err()
}

// matches matches s against a response pattern: * is any run of
// characters and ? one character; every other character is itself (rule
// names hold brackets, images slashes).
func matches(pattern, s string) bool { return glob.Match(pattern, s, glob.Literal) }

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if matches(p, s) {
			return true
		}
	}
	return false
}

// Latency is how often watch should read the kernel's ring for c: 0 (the
// capture's default) unless a kill response is configured.
func (c Config) Latency() time.Duration {
	for _, e := range c.Actions {
		if e.Action == Kill {
			if c.ReadEvery > 0 {
				return c.ReadEvery
			}
			return PollEvery
		}
	}
	return 0
}
