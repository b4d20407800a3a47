package outputs

import (
	"maps"
	"sync"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// MergedField is the output_fields key that carries how many alerts one
// delivered alert stands for when de-duplication or rate limiting merged
// several into it. It is absent when an alert stands only for itself.
const MergedField = "palisade.merged"

// LimiterConfig turns on per-rule rate limiting and de-duplication. Both
// are off in the zero value.
type LimiterConfig struct {
	// RatePerRule is the sustained number of alerts per second one rule may
	// deliver; 0 disables rate limiting.
	RatePerRule float64 `yaml:"rate_per_rule"`
	// Burst is how many alerts a rule may deliver at once; default 10.
	Burst int `yaml:"burst"`
	// DedupWindow merges alerts with the same rule and output text seen
	// within this window of the first one; 0 disables de-duplication.
	DedupWindow time.Duration `yaml:"dedup_window"`
}

// Enabled reports whether the limiter would do anything.
func (c LimiterConfig) Enabled() bool { return c.RatePerRule > 0 || c.DedupWindow > 0 }

// Limiter decides which alerts pass and keeps the count of those it merged.
// Suppressed alerts are never silently lost: the count is carried in
// MergedField by the next alert of the same rule, or by a summary alert
// (the last suppressed one) that Flush emits when the window ends.
type Limiter struct {
	cfg     LimiterConfig
	mu      sync.Mutex
	buckets map[string]*bucket
	dedup   map[string]*dedupEntry
	// onSuppress, if set, is called (under the lock) per merged alert.
	onSuppress func(rule string)
}

type bucket struct {
	tokens   float64
	last     time.Time
	held     int // alerts suppressed since the last one delivered
	heldLast alert.Alert
}

type dedupEntry struct {
	start    time.Time
	held     int
	heldLast alert.Alert
}

// NewLimiter returns nil when cfg enables nothing.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if !cfg.Enabled() {
		return nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	return &Limiter{cfg: cfg, buckets: map[string]*bucket{}, dedup: map[string]*dedupEntry{}}
}

func (l *Limiter) tick() time.Duration { return 250 * time.Millisecond }

// Admit reports whether a passes now; the returned alert may carry a merged
// count in MergedField.
func (l *Limiter) Admit(a alert.Alert, now time.Time) (alert.Alert, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.DedupWindow > 0 {
		key := a.Rule + "\x00" + a.Output
		if e, ok := l.dedup[key]; ok && now.Sub(e.start) < l.cfg.DedupWindow {
			e.held++
			e.heldLast = a
			l.suppressed(a.Rule)
			return a, false
		}
		l.dedup[key] = &dedupEntry{start: now}
	}
	if l.cfg.RatePerRule > 0 {
		b := l.buckets[a.Rule]
		if b == nil {
			b = &bucket{tokens: float64(l.cfg.Burst), last: now}
			l.buckets[a.Rule] = b
		}
		l.refill(b, now)
		if b.tokens < 1 {
			b.held++
			b.heldLast = a
			l.suppressed(a.Rule)
			return a, false
		}
		b.tokens--
		if b.held > 0 {
			a = withMerged(a, b.held+1)
			b.held = 0
		}
	}
	return a, true
}

func (l *Limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(float64(l.cfg.Burst), b.tokens+el*l.cfg.RatePerRule)
		b.last = now
	}
}

// Flush returns summary alerts for merges whose window has ended at now; a
// zero now flushes everything (used on shutdown).
func (l *Limiter) Flush(now time.Time) []alert.Alert {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []alert.Alert
	for k, e := range l.dedup {
		if now.IsZero() || now.Sub(e.start) >= l.cfg.DedupWindow {
			if e.held > 0 {
				out = append(out, withMerged(e.heldLast, e.held))
			}
			delete(l.dedup, k)
		}
	}
	for _, b := range l.buckets {
		if b.held == 0 {
			continue
		}
		if !now.IsZero() {
			l.refill(b, now)
			if b.tokens < 1 {
				continue
			}
			b.tokens--
		}
		out = append(out, withMerged(b.heldLast, b.held))
		b.held = 0
	}
	return out
}

// withMerged copies the alert's fields (they may be shared with other
// outputs) and records that it stands for n alerts.
func withMerged(a alert.Alert, n int) alert.Alert {
	if prev, ok := a.OutputFields[MergedField].(int); ok && prev > 1 {
		n += prev - 1
	}
	f := make(map[string]any, len(a.OutputFields)+1)
	maps.Copy(f, a.OutputFields)
	f[MergedField] = n
	a.OutputFields = f
	return a
}

func (l *Limiter) suppressed(rule string) {
	if l.onSuppress != nil {
		l.onSuppress(rule)
	}
}
