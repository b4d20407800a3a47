// Package metrics exposes Palisade's counters in the Prometheus text
// exposition format (version 0.0.4) on /metrics, with /healthz beside it.
// It is a deliberately small implementation — counters, gauges, gauge
// functions and histograms, with or without labels — so the binary needs
// no Prometheus client library. Set holds the metrics Palisade publishes;
// watch and the outputs increment them.
//
// It does not push anywhere; Prometheus scrapes it.
package metrics
