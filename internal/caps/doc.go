// Package caps names Linux capabilities and computes capability sets the way
// Docker does: its 14 default capabilities, --cap-add/--cap-drop with "ALL",
// and names with or without the CAP_ prefix. It is pure data; applying a set
// to a process is done by internal/seccomp/launch.
package caps
