package respond

import (
	"fmt"
	"sync"
	"time"
)

// bucket is a token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

// take adds the tokens earned since the last call and takes one if there is one.
func (b *bucket) take(now time.Time, c Bucket) bool {
	if b.last.IsZero() {
		b.tokens = float64(c.Burst)
	} else if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = min(float64(c.Burst), b.tokens+d*c.PerSecond)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// limiter is the global bucket and one bucket per container; a container's
// bucket is forgotten once it is full again.
type limiter struct {
	mu      sync.Mutex
	global  Bucket
	per     Bucket
	all     bucket
	buckets map[string]*bucket
}

func newLimiter(r RateConfig) *limiter {
	l := &limiter{global: r.Global, per: r.PerContainer, buckets: map[string]*bucket{}}
	l.global = withDefaults(l.global, DefaultGlobal)
	l.per = withDefaults(l.per, DefaultPerContainer)
	return l
}

// allow takes a token for an action on container key from both buckets,
// or returns why not. A refused action takes nothing.
func (l *limiter) allow(key string, now time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) > 4096 {
			l.sweep(now)
		}
		b = &bucket{}
		l.buckets[key] = b
	}
	saved, savedAll := *b, l.all
	if !b.take(now, l.per) {
		return fmt.Sprintf("rate limit: more than %g actions per second (burst %d) on this container", l.per.PerSecond, l.per.Burst)
	}
	if !l.all.take(now, l.global) {
		*b, l.all = saved, savedAll
		return fmt.Sprintf("rate limit: more than %g actions per second (burst %d) in all", l.global.PerSecond, l.global.Burst)
	}
	return ""
}

// sweep drops the buckets that have refilled, bounding the map.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if l.per.PerSecond <= 0 || now.Sub(b.last).Seconds()*l.per.PerSecond >= float64(l.per.Burst) {
			delete(l.buckets, k)
		}
	}
}

// withDefaults fills the fields of b left at zero from d.
func withDefaults(b, d Bucket) Bucket {
	if b.PerSecond == 0 {
		b.PerSecond = d.PerSecond
	}
	if b.Burst == 0 {
		b.Burst = d.Burst
	}
	return b
}
