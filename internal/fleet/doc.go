// Package fleet collects the alerts of many agents into one store: a
// Collector consumes the alerts agents publish to NATS JetStream (a durable
// pull consumer several collectors share as a work queue), writes them
// idempotently by alert ID, acknowledges only what is committed,
// dead-letters messages that are not alerts, and raises an alert of its
// own for an agent whose heartbeats stop.
//
// It does not publish alerts (outputs.NATSOutput does, on the agents) and
// owns no storage format (internal/store does).
package fleet
