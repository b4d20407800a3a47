// Package respond acts on alerts: the responses section of the config file
// (docs/respond.md) names rules, tags, a minimum priority and containers or
// images, and the action to take when an alert matches — kill the process
// (through a pidfd, after checking that its pid still names the process the
// event saw), stop, pause or isolate its container through the container's
// engine, or only log. The outcome becomes the alert's Response.
//
// The guard rails (Guard) are code, not configuration: the agent, its
// ancestors, host pid 1, container runtime processes and the kubelet are
// never killed; host processes only with allow_host in the config file
// (never from a rule file); actions are rate limited with hard caps. It
// does not act on recorded events (replay): their processes are gone.
package respond
