// Package outputs delivers alerts to the places a team already reads them:
// the terminal, JSON lines, a rotating file, syslog (RFC 5424), a webhook in
// Falco's JSON shape (falcosidekick accepts it) with an on-disk spool,
// a program's stdin and NATS (JetStream when a stream covers the subject).
//
// A Dispatcher fans each alert out to every output through a bounded queue
// per output, so a slow or dead output never blocks detection: what does not
// fit is dropped and counted. Optional per-rule rate limiting and
// de-duplication run before the fan-out. FromConfig builds the whole
// delivery side (outputs, the alert store and the metrics endpoint) from a
// YAML Config and command-line flags.
//
// It does not evaluate rules or read kernel events; it only delivers alerts
// it is given.
package outputs
