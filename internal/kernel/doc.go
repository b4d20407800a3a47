// Package kernel probes what the running kernel and host offer Palisade's
// event source: privileges, BTF, the BPF ring buffer, raw and BTF
// tracepoints, tracefs, lockdown, the cgroup version. Each probe returns a
// Check with a status and, when something is missing, the one-line fix.
//
// Parsers of /proc and /sys text are pure and tested without a kernel; the
// probes that touch the kernel are thin and memoised. It does not load the
// capture programs (package ebpf does) or talk to Docker.
package kernel
