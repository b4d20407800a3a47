package alert

import (
	"strconv"
	"strings"
	"time"
)

// Priority is a Falco rule priority, ordered from most to least severe.
type Priority int

// The eight Falco priority levels, most severe first (syslog order).
// AlertLevel is Falco's "ALERT" priority (named so it does not clash with
// the Alert type).
const (
	Emergency Priority = iota
	AlertLevel
	Critical
	Error
	Warning
	Notice
	Informational
	Debug
)

var priorityNames = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}

// String returns the name Falco prints in alerts ("Warning", "Notice", ...).
func (p Priority) String() string {
	if p < 0 || int(p) >= len(priorityNames) {
		return "Unknown"
	}
	return priorityNames[p]
}

// ParsePriority accepts any case and Falco's aliases ("info", "warn").
func ParsePriority(s string) (Priority, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "emergency":
		return Emergency, true
	case "alert":
		return AlertLevel, true
	case "critical":
		return Critical, true
	case "error":
		return Error, true
	case "warning", "warn":
		return Warning, true
	case "notice":
		return Notice, true
	case "informational", "info":
		return Informational, true
	case "debug":
		return Debug, true
	}
	return 0, false
}

// MarshalText renders the priority as its Falco name.
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText accepts a Falco priority name in any case.
func (p *Priority) UnmarshalText(b []byte) error {
	v, ok := ParsePriority(string(b))
	if !ok {
		return &UnknownPriorityError{Value: string(b)}
	}
	*p = v
	return nil
}

// UnknownPriorityError reports a priority name that is not one of Falco's.
type UnknownPriorityError struct{ Value string }

func (e *UnknownPriorityError) Error() string {
	return "unknown priority " + quote(e.Value) + " (want emergency, alert, critical, error, warning, notice, informational or debug)"
}

func quote(s string) string { return "\"" + strings.ReplaceAll(s, "\"", "\\\"") + "\"" }

// Alert is one rule match, in Falco's JSON shape. OutputFields values are
// strings, numbers, booleans or nil (Falco's <NA> becomes null).
type Alert struct {
	Time         time.Time      `json:"time"`
	Rule         string         `json:"rule"`
	Priority     Priority       `json:"priority"`
	Output       string         `json:"output"`
	OutputFields map[string]any `json:"output_fields"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags"`
	Hostname     string         `json:"hostname"`
	// ID identifies the alert across a fleet (NewID); it is the top-level
	// "uuid" key falcosidekick gives each event, so receivers built for
	// Falco keep it or ignore it. Empty means not assigned yet.
	ID string `json:"uuid,omitempty"`
	// Response is what internal/respond did about the alert (nil: no
	// response configured for it). Receivers built for Falco ignore the
	// extra top-level key.
	Response *Response `json:"response,omitempty"`
}

// Response is the outcome of one response action (docs/respond.md).
type Response struct {
	Action string `json:"action"` // kill, stop, pause, isolate or log
	// Target names what the action was aimed at: "pid 4242 (cat)",
	// "container 3f2a9c1d0e4b (web)".
	Target string `json:"target"`
	// Result is done, dry_run (nothing changed), refused (a guard rail or
	// the rate limit; Error says which), gone (the process exited or its
	// pid now names another process) or failed.
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
	// LatencyUS is the time from the event to the end of the action, in
	// microseconds.
	LatencyUS int64 `json:"latency_us"`
	DryRun    bool  `json:"dry_run"`
}

// Short is the action and its result: "kill done", "pause dry_run".
func (r *Response) Short() string { return r.Action + " " + r.Result }

// String is the whole response on one line (not escaped: Target and Error
// hold process names): "kill pid 4242 (cat) in container 3f2a9c1d0e4b
// (web): done in 850us", "...: refused (the agent itself)".
func (r *Response) String() string {
	s := r.Action + " " + r.Target + ": " + r.Result
	if r.DryRun && r.Result != ResultDryRun {
		s += " (dry run)"
	}
	if r.Error != "" {
		s += " (" + r.Error + ")"
	}
	if r.LatencyUS > 0 {
		s += " in " + strconv.FormatInt(r.LatencyUS, 10) + "us"
	}
	return s
}

// The results of a Response.
const (
	ResultDone    = "done"
	ResultDryRun  = "dry_run"
	ResultRefused = "refused"
	ResultGone    = "gone"
	ResultFailed  = "failed"
)
