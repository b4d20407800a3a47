package metrics

import "time"

// Set is every metric Palisade publishes. Create it with New, increment it
// from the detection loop (Events, EventsDropped) and hand it to
// outputs.FromConfig, which counts alerts and deliveries.
type Set struct {
	Registry *Registry

	// Events counts kernel (or replayed) events the detection loop handled.
	Events *Counter
	// EventsDropped counts events lost before detection (ring buffer full).
	EventsDropped *Counter
	// EventsShed counts events the kernel dropped on purpose under
	// pressure (low-value records, so that those rules need fit).
	EventsShed *Counter
	// ProtectedLeftOut counts protected file identities left out of the
	// kernel map or the agent's table because it was full.
	ProtectedLeftOut *Counter
	// Alerts counts alerts accepted for delivery, by rule and priority.
	Alerts *CounterVec
	// Suppressed counts alerts merged away by rate limiting / de-dup.
	Suppressed *CounterVec
	// Delivered, Failed and Dropped count alerts per output.
	Delivered, Failed, Dropped *CounterVec
	// Latency is the time from an alert's event to its delivery, per output.
	Latency *HistogramVec
	// StartTime is when the process started, for uptime dashboards.
	StartTime *Gauge
}

// LatencyBuckets (seconds) span a fast terminal write to a webhook retry.
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// New registers Palisade's metrics in a fresh registry.
func New() *Set {
	r := &Registry{}
	s := &Set{
		Registry:         r,
		Events:           r.NewCounter("palisade_events_total", "Events processed by the detection loop."),
		EventsDropped:    r.NewCounter("palisade_events_dropped_total", "Events lost before detection (kernel ring buffer full or decode failure)."),
		EventsShed:       r.NewCounter("palisade_events_shed_total", "Events the kernel dropped on purpose under pressure: low-value records kept out of a filling ring buffer so that those rules need fit."),
		ProtectedLeftOut: r.NewCounter("palisade_protected_files_left_out_total", "Protected file identities left out because the kernel map protected_inodes (65,536) or the agent's table (262,144) was full: io_uring reads and writes of those files are not recorded and their opens may be shed."),
		Alerts:           r.NewCounterVec("palisade_alerts_total", "Alerts accepted for delivery.", "rule", "priority"),
		Suppressed:       r.NewCounterVec("palisade_alerts_suppressed_total", "Alerts merged into others by rate limiting or de-duplication.", "rule"),
		Delivered:        r.NewCounterVec("palisade_output_delivered_total", "Alerts an output delivered.", "output"),
		Failed:           r.NewCounterVec("palisade_output_failures_total", "Alerts an output failed to deliver.", "output"),
		Dropped:          r.NewCounterVec("palisade_output_dropped_total", "Alerts dropped because an output's queue was full.", "output"),
		Latency:          r.NewHistogramVec("palisade_alert_latency_seconds", "Time from an alert's event to its delivery by an output.", LatencyBuckets, "output"),
		StartTime:        r.NewGauge("palisade_start_time_seconds", "Unix time the process started."),
	}
	s.StartTime.Set(float64(time.Now().UnixNano()) / 1e9)
	return s
}
