// Package engine audits a live Docker daemon through the Engine API: every
// container (running or not) via inspect, and the daemon's own settings via
// /info plus, for a local daemon, its command line and daemon.json. The
// client honours DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH and
// negotiates the API version down to what the daemon speaks.
//
// The parsing of daemon settings is pure (DaemonFromInfo, ParseDockerdArgs,
// ParseDaemonJSON); only Collect talks to the daemon and reads /proc.
package engine
