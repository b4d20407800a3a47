// Package confine works out, from inside a process, what confines it now and
// which container-breakout paths are open: host mounts read from
// /proc/self/mountinfo, reachable container-runtime sockets, writable
// /proc/sys and cgroup release_agent files, and a probe of dangerous
// syscalls that tells a seccomp denial (EPERM or another errno from the
// filter), ENOSYS and a seccomp kill apart from a call the kernel ran.
//
// The core is pure: ParseMountinfo, MountFindings, PostureFindings,
// CapabilityFindings and Classify take values and return findings named by
// internal/audit's check slugs where one applies. The edges that touch the
// system (ProbeSyscall, RunProbes, ReachSockets, OpenableForWrite) are thin
// and never change state: every probe's arguments are chosen so the call
// fails even when allowed, sockets are only connected to and closed, and
// files are opened for writing and closed without a write.
//
// It does not read container configuration (internal/audit does) and does
// not load or generate seccomp filters (internal/seccomp does).
package confine
