package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds metric families in registration order.
type Registry struct {
	mu       sync.Mutex
	families []family
}

type family struct {
	name, help, typ string
	write           func(w *bufio.Writer, name string)
}

func (r *Registry) add(name, help, typ string, write func(*bufio.Writer, string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.families = append(r.families, family{name, help, typ, write})
}

// WriteText writes every family in the Prometheus text format.
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.Lock()
	fams := append([]family(nil), r.families...)
	r.mu.Unlock()
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
		f.write(bw, f.name)
	}
	return bw.Flush()
}

// escapeHelp escapes backslash and newline, as the format requires in HELP.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

// escapeLabel escapes a label value: backslash, double quote and newline.
// Label values can carry rule names, which rule authors (and so possibly
// attackers who can write rules) control.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

func labelString(names, values []string, extra ...string) string {
	if len(names) == 0 && len(extra) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n + `="` + escapeLabel(values[i]) + `"`)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(extra[i] + `="` + escapeLabel(extra[i+1]) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Counter only goes up.
type Counter struct{ v atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value returns the count.
func (c *Counter) Value() uint64 { return c.v.Load() }

// NewCounter registers a counter without labels.
func (r *Registry) NewCounter(name, help string) *Counter {
	c := &Counter{}
	r.add(name, help, "counter", func(w *bufio.Writer, n string) {
		fmt.Fprintf(w, "%s %d\n", n, c.Value())
	})
	return c
}

// Gauge is a value that goes up and down.
type Gauge struct{ bits atomic.Uint64 }

// Set sets the value.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Value returns the value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

// NewGauge registers a gauge without labels.
func (r *Registry) NewGauge(name, help string) *Gauge {
	g := &Gauge{}
	r.add(name, help, "gauge", func(w *bufio.Writer, n string) {
		fmt.Fprintf(w, "%s %s\n", n, formatFloat(g.Value()))
	})
	return g
}

// Sample is one labelled value a GaugeFunc reports.
type Sample struct {
	Labels []string // values, in the order of the family's label names
	Value  float64
}

// NewGaugeFunc registers a gauge family whose samples fn computes at scrape
// time (queue depths, for example).
func (r *Registry) NewGaugeFunc(name, help string, labels []string, fn func() []Sample) {
	r.add(name, help, "gauge", func(w *bufio.Writer, n string) {
		for _, s := range fn() {
			if len(s.Labels) != len(labels) {
				continue
			}
			fmt.Fprintf(w, "%s%s %s\n", n, labelString(labels, s.Labels), formatFloat(s.Value))
		}
	})
}

// NewCounterFunc registers a counter family whose samples fn reads at
// scrape time from counters kept elsewhere; fn must only ever grow.
func (r *Registry) NewCounterFunc(name, help string, labels []string, fn func() []Sample) {
	r.add(name, help, "counter", func(w *bufio.Writer, n string) {
		for _, s := range fn() {
			if len(s.Labels) != len(labels) {
				continue
			}
			fmt.Fprintf(w, "%s%s %s\n", n, labelString(labels, s.Labels), formatFloat(s.Value))
		}
	})
}

// vec is the label-set → child map shared by the Vec types.
type vec[T any] struct {
	labels []string
	mu     sync.RWMutex
	kids   map[string]*T
	vals   map[string][]string
	newT   func() *T
}

func (v *vec[T]) with(values []string) *T {
	if len(values) != len(v.labels) {
		panic(fmt.Sprintf("metrics: %d label values for %d labels", len(values), len(v.labels)))
	}
	key := strings.Join(values, "\xff")
	v.mu.RLock()
	k := v.kids[key]
	v.mu.RUnlock()
	if k != nil {
		return k
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if k = v.kids[key]; k == nil {
		k = v.newT()
		v.kids[key] = k
		v.vals[key] = append([]string(nil), values...)
	}
	return k
}

func (v *vec[T]) each(fn func(values []string, k *T)) {
	v.mu.RLock()
	keys := make([]string, 0, len(v.kids))
	for key := range v.kids {
		keys = append(keys, key)
	}
	v.mu.RUnlock()
	sort.Strings(keys)
	for _, key := range keys {
		v.mu.RLock()
		k, vals := v.kids[key], v.vals[key]
		v.mu.RUnlock()
		fn(vals, k)
	}
}

func newVec[T any](labels []string, newT func() *T) *vec[T] {
	return &vec[T]{labels: labels, kids: map[string]*T{}, vals: map[string][]string{}, newT: newT}
}

// CounterVec is a counter family with labels.
type CounterVec struct{ v *vec[Counter] }

// NewCounterVec registers a labelled counter family.
func (r *Registry) NewCounterVec(name, help string, labels ...string) *CounterVec {
	cv := &CounterVec{v: newVec(labels, func() *Counter { return &Counter{} })}
	r.add(name, help, "counter", func(w *bufio.Writer, n string) {
		cv.v.each(func(vals []string, c *Counter) {
			fmt.Fprintf(w, "%s%s %d\n", n, labelString(labels, vals), c.Value())
		})
	})
	return cv
}

// With returns the counter for these label values (in label order).
func (cv *CounterVec) With(values ...string) *Counter { return cv.v.with(values) }

// Histogram counts observations into cumulative buckets.
type Histogram struct {
	upper  []float64
	counts []atomic.Uint64 // per bucket, non-cumulative; last is +Inf
	count  atomic.Uint64
	sumMu  sync.Mutex
	sum    float64
}

func newHistogram(buckets []float64) *Histogram {
	return &Histogram{upper: buckets, counts: make([]atomic.Uint64, len(buckets)+1)}
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	i := sort.SearchFloat64s(h.upper, v) // first bucket with upper >= v
	h.counts[i].Add(1)
	h.count.Add(1)
	h.sumMu.Lock()
	h.sum += v
	h.sumMu.Unlock()
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 { return h.count.Load() }

func (h *Histogram) write(w *bufio.Writer, name string, labels, values []string) {
	var cum uint64
	for i, ub := range h.upper {
		cum += h.counts[i].Load()
		fmt.Fprintf(w, "%s_bucket%s %d\n", name, labelString(labels, values, "le", formatFloat(ub)), cum)
	}
	cum += h.counts[len(h.upper)].Load()
	fmt.Fprintf(w, "%s_bucket%s %d\n", name, labelString(labels, values, "le", "+Inf"), cum)
	h.sumMu.Lock()
	sum := h.sum
	h.sumMu.Unlock()
	fmt.Fprintf(w, "%s_sum%s %s\n", name, labelString(labels, values), formatFloat(sum))
	fmt.Fprintf(w, "%s_count%s %d\n", name, labelString(labels, values), cum)
}

// HistogramVec is a histogram family with labels.
type HistogramVec struct{ v *vec[Histogram] }

// NewHistogramVec registers a labelled histogram family; buckets are upper
// bounds in increasing order.
func (r *Registry) NewHistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	buckets = append([]float64(nil), buckets...)
	sort.Float64s(buckets)
	hv := &HistogramVec{v: newVec(labels, func() *Histogram { return newHistogram(buckets) })}
	r.add(name, help, "histogram", func(w *bufio.Writer, n string) {
		hv.v.each(func(vals []string, h *Histogram) { h.write(w, n, labels, vals) })
	})
	return hv
}

// With returns the histogram for these label values.
func (hv *HistogramVec) With(values ...string) *Histogram { return hv.v.with(values) }
