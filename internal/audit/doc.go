// Package audit is the pure core of `palisade audit`: one normalized
// container configuration (Container), the breakout-vector checks run over
// it, the daemon-level checks (Daemon), and the renderers for findings
// (table, JSON, SARIF 2.1.0).
//
// It reads no files and talks to no daemon. The sources that fill a
// Container live in subpackages (dockerinspect, compose, kube, oci, engine);
// scan walks paths and dispatches to them. Every check has a stable slug, a
// severity, the breakout it enables in one sentence, and a fix written in the
// terms of the source the container came from (a docker flag, a compose key,
// a securityContext field, an OCI config field).
package audit
