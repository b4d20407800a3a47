// Package confine works out, from inside a process, what confines it now and
// which container-breakout paths are open: host mounts read from
// /proc/self/mountinfo, reachable container-runtime sockets, writable
// /proc/sys and cgroup release_agent files, and a probe of dangerous
// syscalls that tells a seccomp denial (EPERM or another errno from the
// filter), ENOSYS and a seccomp kill apart from a call the kernel ran.
//
// ReadProcess gathers it all for one process into a Report: ids, the five
// capability sets, no_new_privs, seccomp, AppArmor and SELinux state, user
// namespace maps, cgroups and whether it runs in a container (cgroup paths
// read by internal/container, marker files, PID 1), with the findings;
// Report.WriteText renders it for a terminal, as audit.Report.WriteTable
// renders an audit.
//
// The core is pure: ParseStatus, ParseIDMap, ParseCgroups, ParseMountinfo,
// MountFindings, PostureFindings and Classify take values and return
// values, findings named by internal/audit's check slugs where one applies.
// The edges that touch the system (ReadProcess, Report.CheckLive,
// RunProbes, ReachSockets, OpenableForWrite) are thin
// and never change state: every probe's arguments are chosen so the call
// fails even when allowed, sockets are only connected to and closed, and
// files are opened for writing and closed without a write.
//
// It does not read container configuration (internal/audit does) and does
// not load or generate seccomp filters (internal/seccomp does).
package confine
