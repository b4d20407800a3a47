// Package syscalls maps Linux syscall names to numbers and back for the
// architectures Palisade filters and traces: x86_64, x86 (i386), x32, aarch64
// and arm. It holds the one table of those architectures (Arch: names,
// audit tokens, argument widths, compat ABIs) and the one descriptor table
// of the syscalls Palisade decodes (Desc: argument names, what the kernel
// resolves, the effect on the process and fd tables), which seccomp, the
// capture, the state table, the recorder and watch --list-syscalls read.
//
// The tables are generated (tables_generated.go, see gen_tables.go) from
// libseccomp and golang.org/x/sys, so names are the kernel's and libseccomp's
// names ("newfstatat", "_llseek", "arm_fadvise64_64"). Numbers are what the
// kernel puts in seccomp_data.nr and in the raw_syscalls tracepoints: x32
// numbers carry the x32 bit (0x40000000) and arm's private syscalls live at
// 0x0f0000 and up. The package does no I/O and knows nothing about seccomp
// actions or profiles.
package syscalls

//go:generate go run gen_tables.go
