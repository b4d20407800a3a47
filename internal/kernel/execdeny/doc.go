// Package execdeny is a kernel exec deny list: a small BPF program on the
// sched_process_exec BTF tracepoint that sends SIGKILL (bpf_send_signal)
// to a task whose new executable's (device, inode) is in a map, before the
// new program runs a single instruction in user space. Files are denied by
// identity, not by name: a copy is a new inode and is not denied, a
// rename or a hard link still is. It is separate from the event capture
// (internal/kernel/ebpf) and can be loaded alone; it does not stop the
// exec from happening (the kernel has already replaced the image), it
// stops the new program from running.
package execdeny
