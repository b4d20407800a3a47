// Package record observes a workload and keeps what it did as a Recording:
// per-architecture syscall counts (the 32-bit x86 compat ABI apart), files
// read, written, created and executed, sockets, bound and listened ports,
// connect destinations, executed binaries, uid/gid changes and the
// capabilities those imply.
//
// The core is pure: a Builder turns kernel records (ebpf.Record) into a
// Recording, Merge unions recordings and Parse reads one back with
// file:line:col errors. The live edge (live_linux.go) opens the eBPF source,
// launches a command or follows a container's cgroup, and feeds the Builder.
//
// Capability checks come from the capability:cap_capable tracepoint
// (Linux 6.15+): the followed processes' own checks after their exec, per
// capability, granted or denied; SYS_ADMIN is needed only when a syscall
// proves it (the kernel probes it on every mmap). On older kernels a
// Recording says "collected": false and lists only the capabilities its
// syscalls prove. Profiles are derived elsewhere (internal/profile).
package record
