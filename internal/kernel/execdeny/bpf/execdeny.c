// SPDX-License-Identifier: GPL-2.0-only
//
// Palisade's kernel exec deny list: on sched_process_exec (the point of no
// return of execve, before the new image runs a single instruction in user
// space), if the new executable's (device, inode) is in the deny map, send
// SIGKILL to the task. The signal is delivered on the way back to user
// space, so the denied program never runs. A separate, small program: it
// does not depend on the event capture and can be loaded alone.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define SIGKILL_ 9

/* An executable by identity: the kernel's dev_t of its superblock (MKDEV:
 * major << 20 | minor) and its inode number. */
struct file_id {
	__u64 dev;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct file_id);
	__type(value, __u64); /* kills so far */
} deny SEC(".maps");

/* counters[0]: execs seen; [1]: kills sent; [2]: bpf_send_signal failures. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The last kill, for the log: pid, then the boot-clock time. */
struct kill_note {
	__u64 ts;
	__u64 dev;
	__u64 ino;
	__u32 pid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} kills SEC(".maps");

static __always_inline void count(__u32 i)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &i);

	if (c)
		*c += 1;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_deny, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct file_id id = {};
	struct inode *inode;
	struct kill_note *n;
	__u64 *hits;

	count(0);
	inode = BPF_CORE_READ(bprm, file, f_inode);
	if (!inode)
		return 0;
	id.ino = BPF_CORE_READ(inode, i_ino);
	id.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	hits = bpf_map_lookup_elem(&deny, &id);
	if (!hits)
		return 0;
	if (bpf_send_signal(SIGKILL_) != 0) {
		count(2);
		return 0;
	}
	__sync_fetch_and_add(hits, 1);
	count(1);
	n = bpf_ringbuf_reserve(&kills, sizeof(*n), 0);
	if (n) {
		n->ts = bpf_ktime_get_boot_ns();
		n->dev = id.dev;
		n->ino = id.ino;
		n->pid = bpf_get_current_pid_tgid() >> 32;
		n->pad = 0;
		bpf_ringbuf_submit(n, 0);
	}
	return 0;
}
