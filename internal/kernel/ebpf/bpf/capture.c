// SPDX-License-Identifier: GPL-2.0-only
//
// Palisade's kernel capture: syscall exit (and, on demand, entry) events from
// BTF tracepoints plus the sched_process_exec/fork/exit tracepoints, written
// to one BPF ring buffer. Tracepoints only: no kprobes, fentry or LSM.
//
// Design notes (the why; the Go side has the what):
//  * Syscall arguments are read from the saved user registers at sys_exit, so
//    one program and one event per syscall carry both arguments and result.
//  * The per-syscall descriptor table (sc_conf) is both the in-kernel filter
//    and a tiny interpreter program: which args are paths, strings, fds,
//    socket addresses or structs to copy. Unselected syscalls cost one inlined
//    array lookup.
//  * Paths come from the kernel's own objects at exit (the opened struct
//    file, the dirfd's file, the task's cwd), walked dentry by dentry up to
//    the task's root, crossing mounts.
//  * Events with items are built in a per-CPU scratch buffer as a fixed
//    header followed by TLV items, then copied into the ring buffer; records
//    of a fixed size (a header alone, or the minimal record of fd-only
//    syscalls) are written straight into the ring. A record that does not
//    fit is counted in a per-CPU drop counter.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define NR_SLOTS     1024 /* [0,512) native ABI, [512,1024) 32-bit compat */
#define COMPAT_BASE  512
#define SCRATCH_SIZE 16384
#define MAX_OFF      8192 /* items start below this; each is < SCRATCH_SIZE-MAX_OFF */
#define MAX_STR      4096
#define MAX_NAME     256
#define MAX_DEPTH    64
#define MAX_ADDR     128
#define MAX_STRUCT   128
#define TS_COMPAT_   0x0002
#define AT_FDCWD_    -100
#define S_IFMT_      00170000
#define S_IFSOCK_    0140000
#define AF_INET_     2
#define AF_INET6_    10

enum rec_kind {
	KIND_SYSCALL = 1,
	KIND_ENTER   = 2,
	KIND_EXEC    = 3,
	KIND_FORK    = 4,
	KIND_EXIT    = 5,
	KIND_CAP     = 6, /* capability:cap_capable (nr = capability, ret = result) */
};

enum path_flag {
	PF_COMPLETE = 1, /* reached the task's root or the global root */
	PF_TRUNC    = 2, /* ran out of depth or room */
	PF_GLOBAL   = 4, /* reached the global root, not the task's root */
	PF_PSEUDO   = 8, /* a pseudo file: u32 fs magic, u64 inode, then its name */
};

enum hdr_flag {
	HF_COMPAT = 1,
	HF_LEAN   = 2, /* vtid, vpid, ppid, mntns, pidns, cgroup_id not read */
	HF_MIN    = 4, /* a short record: only the fields before cgroup_id */
	HF_SOCKETCALL = 8, /* made through socketcall(2); nr is the native equivalent */
	HF_X32        = 16, /* an x32 syscall; nr is the native equivalent */
	HF_IO_URING   = 32, /* an io_uring request's completion (nr is the call it stands for: openat, connect, accept4, read, write) */
	HF_URING_SUBMIT = 64, /* with HF_IO_URING: recorded at submission (IOSQE_CQE_SKIP_SUCCESS), the result unknown */
};

enum item_type {
	IT_STR      = 1,  /* user string argument (arg) */
	IT_BASE     = 2,  /* directory a relative path argument resolves against (arg) */
	IT_FDPATH   = 3,  /* path of the file behind an fd argument (arg, 0xfe = ret) */
	IT_TUPLE    = 4,  /* socket tuple behind an fd argument (arg, 0xfe = ret) */
	IT_ADDR     = 5,  /* raw sockaddr from user memory (arg) */
	IT_STRUCT   = 6,  /* raw struct from user memory (arg) */
	IT_CWD      = 7,  /* task cwd */
	IT_EXE      = 8,  /* mm->exe_file path */
	IT_ARGV     = 9,  /* NUL-separated argv of the new image */
	IT_FILENAME = 10, /* bprm->filename */
	IT_TTY      = 11, /* controlling tty name */
	IT_FORK     = 12, /* struct fork_info */
	IT_EXIT     = 13, /* struct exit_info */
	IT_CGROUP   = 14, /* cgroup path (v2, or the v1 pids hierarchy) */
	IT_ENV      = 15, /* NUL-separated environment of the new image (capture_env) */
	IT_INODE    = 16, /* struct file_id of the regular file behind an fd (arg, 0xfe = ret) */
};

#define ARG_PAIR 0xfc /* and 0xfd: the two fds of a CF2_FD_PAIR call */
#define ARG_RET 0xfe
#define ARG_NONE 0xff

enum conf_flag {
	CF_RET_FD      = 1, /* the return value is an fd: resolve it */
	CF_CWD         = 2, /* emit the cwd after the call (chdir family) */
	CF_ENTER       = 4, /* emit an entry record (syscalls that never return) */
	CF_ZERO_ON_OK  = 8, /* registers are reset on success (execve) */
	CF_ADDRLEN_PTR = 16,/* addrlen_arg is a pointer to socklen_t */
	CF_FULL_ID     = 32,/* always read the full identity (lean_header) */
	CF_MIN         = 64,/* a minimal record: ts, ids, nr, args, ret (HF_MIN) */
	CF_MSGHDR      = 128,/* args[1] is a struct (user_)msghdr: copy its msg_name */
};

enum conf_flag2 {
	CF2_SOCKETCALL = 1, /* i386 socketcall(2): decode the call it multiplexes */
	CF2_FD_PAIR    = 2, /* struct_arg is an int[2] of new fds (pipe, socketpair): describe both */
	CF2_SHED       = 4, /* low value: dropped first while the ring is over shed_bytes (see shed) */
};

struct sc_conf {
	__u8 on;
	__u8 flags;
	__u8 path_mask;
	__u8 str_mask;
	__u8 fd_mask;
	__u8 addr_arg;
	__u8 addrlen_arg;
	__u8 struct_arg;
	__u8 struct_len;
	__u8 dirfd[6];
	__u8 flags2;
};

/*
 * The fields up to pid are the whole of a minimal (HF_MIN) record, which is
 * MIN_HDR_SIZE bytes long; every other record has the full header.
 */
struct event_hdr {
	__u64 ts;
	__u64 args[6];
	__s64 ret;
	__u32 kind;
	__u32 nr;
	__u32 cpu;
	__u32 flags;
	__u32 tid;
	__u32 pid;
	__u64 cgroup_id;
	__u64 cap_eff;
	__u64 cap_prm;
	__u32 vtid;
	__u32 vpid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 loginuid;
	__u32 mntns;
	__u32 pidns;
	char comm[16];
};

#define MIN_HDR_SIZE __builtin_offsetof(struct event_hdr, cgroup_id)

struct item {
	__u8 type;
	__u8 arg;
	__u16 len; /* payload bytes after this header */
};

struct tuple {
	__u16 family;
	__u16 type;
	__u16 proto;
	__u16 sport; /* host order */
	__u16 dport; /* host order */
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct fork_info {
	__u32 tid;
	__u32 pid;
	__u32 vtid;
	__u32 vpid;
	__u32 flags; /* 1: new thread, not a new process */
	__u32 pad;
};

/*
 * The identity of a regular file: its inode number, the kernel dev_t of
 * its super block (major << 20 | minor) and its link count, so that a file
 * reached through a hard link is still known for what it is.
 */
struct file_id {
	__u64 ino;
	__u32 dev;
	__u32 nlink;
};

/* A key of protected_inodes. */
struct inode_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

struct exit_info {
	__s32 code;
	__u32 group_dead;
	__u32 reaper; /* with group_dead: the tgid the kernel re-parents the children to */
	__u32 pad;
};

/* Keep the types in the object's BTF so bpf2go emits Go mirrors of them. */
const struct event_hdr *unused_hdr __attribute__((unused));
const struct item *unused_item __attribute__((unused));
const struct tuple *unused_tuple __attribute__((unused));
const struct fork_info *unused_fork __attribute__((unused));
const struct exit_info *unused_exit __attribute__((unused));
const struct file_id *unused_file_id __attribute__((unused));
const struct inode_key *unused_inode_key __attribute__((unused));
const enum rec_kind *unused_kind __attribute__((unused));
const enum item_type *unused_itype __attribute__((unused));
const enum conf_flag *unused_cflag __attribute__((unused));
const enum conf_flag2 *unused_cflag2 __attribute__((unused));
const enum path_flag *unused_pflag __attribute__((unused));
const enum hdr_flag *unused_hflag __attribute__((unused));
const enum cgroup_mode *unused_cgmode __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_SLOTS);
	__type(key, __u32);
	__type(value, struct sc_conf);
} sc_confs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/*
 * counters[0] = events written, counters[1] = events dropped (ring full),
 * counters[2] = when this CPU last forced a wakeup (boot-clock ns),
 * counters[3] = records shed on purpose (ring over shed_bytes, see shed).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * The inodes of files that must never be shed (credential files, the files
 * of binary directories, on the host and in each container's root), filled
 * by the agent; the opens of anything else may be shed under pressure.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct inode_key);
	__type(value, __u8);
} protected_inodes SEC(".maps");

/*
 * The capability checks already reported when cap_once is set: a process
 * image's (tgid and the task's self_exec_id, which every exec increments,
 * so an exec starts afresh; an mm's address could come back for a later
 * image of the same process) first check of a capability with one result
 * against one user namespace. An evicted entry only means a repeat is
 * reported again.
 */
struct cap_key {
	__u64 exec_id;
	__u32 tgid;
	__s32 cap;
	__u32 target_ns;
	__s32 ret;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct cap_key);
	__type(value, __u8);
} cap_seen SEC(".maps");

struct scratch_buf {
	__u8 b[SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_buf);
} scratch SEC(".maps");

/*
 * The fast filter: bit nr is set when syscall number nr is selected in the
 * native or the compat ABI. It lives in .bss (an array map the agent writes
 * through mmap), so an unselected syscall costs one load and one test, no
 * helper call and no lookup. Only selected numbers pay for the ABI check and
 * the descriptor lookup.
 */
volatile __u64 sc_bits[COMPAT_BASE / 64];

/* Set at load time: the tgid whose events are ignored (the agent), 0 for none. */
volatile const __u32 ignore_tgid = 0;

/* Set at load time: which cgroup path exec and fork records carry. */
enum cgroup_mode {
	CGROUP_NONE = 0,
	CGROUP_V2   = 1, /* the unified hierarchy (dfl_cgrp) */
	CGROUP_V1   = 2, /* the v1 pids (else memory) hierarchy, for v1/hybrid hosts */
};
volatile const __u32 cgroup_mode = CGROUP_NONE;

/*
 * Set at load time: unread bytes in the ring that make a record wake the
 * reader (a quarter of the ring). A wakeup is an IPI, a VM exit on virtual
 * machines, and costs more than several records; below the mark the
 * reader's poll tick collects them.
 */
volatile const __u64 wakeup_bytes = 4 << 20;

/*
 * Set at load time: syscall records skip the namespace-local ids, the
 * parent, the namespace ids and the cgroup id (HF_LEAN); process records
 * and CF_FULL_ID syscalls always carry them. Since these are all direct
 * loads (no helper call) the saving is small: a few ns of an openat record.
 */
volatile const __u32 lean_header = 0;

/*
 * Set at load time: exec records carry the new image's environment
 * (IT_ENV), for rules that read proc.env. Off by default: environments
 * hold secrets, and most rule sets never look at them.
 */
volatile const __u32 capture_env = 0;

/*
 * Set at load time: cap_capable reports only the first of repeated checks
 * (cap_seen) and none made with credentials other than the task's own.
 * Every mmap of writable private memory checks CAP_SYS_ADMIN; a detector
 * needs to see that once per process, a recording counts them all.
 */
volatile const __u32 cap_once = 0;

/*
 * Set at load time: unread bytes in the ring above which records of
 * CF2_SHED syscalls are shed (counted in counters[3]) so that the rest of
 * the ring stays for records rules need; 0 turns shedding off.
 */
volatile const __u64 shed_bytes = 0;

/*
 * Set at load time: for each socketcall(2) call number (SYS_SOCKET = 1 ..
 * SYS_SENDMMSG = 20), the native x86_64 number of the call it stands for
 * (send and recv are sendto and recvfrom without an address), 0 for none.
 */
#define NR_SOCKETCALLS   21
#define SOCKETCALL_SLOTS 32 /* a power of two, so that a mask bounds the index */
volatile const __u16 socketcall_nr[SOCKETCALL_SLOTS];

/*
 * x32 syscalls are x86_64 syscalls with bit 30 set in the number: below
 * 512 the native numbering, from 512 the x32-specific entry points of
 * calls whose structs differ. Set at load time: for x32 number 512 + i,
 * the native number of the same call, 0 for none.
 */
#define X32_BIT   0x40000000ULL
#define X32_BASE  512
#define X32_SLOTS 64
volatile const __u16 x32_nr[X32_SLOTS];

/* How many 32-bit argument words each socketcall(2) call reads (net/socket.c's nargs). */
static const __u8 socketcall_nargs[SOCKETCALL_SLOTS] = {
	0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4, 6, 6, 2, 5, 5, 3, 3, 4, 5, 4,
};

/*
 * lean_flag is HF_LEAN when syscall records skip the identity fields
 * (lean_header) and this syscall's descriptor does not ask for them.
 */
static __always_inline __u32 lean_flag(const struct sc_conf *c)
{
	return lean_header && !(c->flags & CF_FULL_ID) ? HF_LEAN : 0;
}

/* ignored says whether the current task is the agent (ignore_tgid). */
static __always_inline bool ignored(void)
{
	return ignore_tgid && (bpf_get_current_pid_tgid() >> 32) == ignore_tgid;
}

/*
 * Items start below MAX_OFF. BOUND restates that as a mask the verifier can
 * track; barrier_var stops clang from folding the mask away.
 */
#define BOUND(off) ({ __u32 __o = (off); barrier_var(__o); __o & (MAX_OFF - 1); })

/*
 * IN_SCRATCH bounds an offset that may run past MAX_OFF (the end of an item
 * that started below it) by the whole buffer, so that it cannot wrap back
 * into the record's header as BOUND would.
 */
#define IN_SCRATCH(off) ({ __u32 __o = (off); barrier_var(__o); __o & (SCRATCH_SIZE - 1); })

static __always_inline __u8 *scratch_buf(void)
{
	__u32 k = 0;
	return bpf_map_lookup_elem(&scratch, &k);
}

/* counter returns this CPU's counter which (see counters). */
static __always_inline __u64 *counter(__u32 which)
{
	return bpf_map_lookup_elem(&counters, &which);
}

static __always_inline void count(__u32 which)
{
	__u64 *c = counter(which);
	if (c)
		(*c)++;
}

/* ---- items --------------------------------------------------------------- */

static __always_inline __u32 align4(__u32 off)
{
	return (off + 3) & ~3u;
}

static __always_inline void put_item_hdr(__u8 *buf, __u32 off, __u8 type, __u8 arg, __u16 len)
{
	struct item *it;
	if (off >= MAX_OFF)
		return;
	it = (struct item *)(buf + BOUND(off));
	it->type = type;
	it->arg = arg;
	it->len = len;
}

/*
 * CAST turns a kernel address into an untrusted BTF pointer: field loads
 * through it are plain exception-handled loads, not helper calls. The
 * verifier rewrites bpf_rdonly_cast into a register move.
 */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym;
#define CAST(ptr, type) ((type *)bpf_rdonly_cast((void *)(ptr), bpf_core_type_id_kernel(type)))

/*
 * WORD_AT loads the 8 bytes at a kernel address the same way, read as the
 * first member of a struct that starts with a pointer.
 */
#define WORD_AT(addr) ((__u64)CAST(addr, struct list_head)->next)

#define MNT_INTERNAL_ 0x4000 /* vfsmount.mnt_flags: a kernel-internal mount (pipefs, anon_inodefs, shm) */

/* Bytes of a pseudo file's path item before its name: the fs magic and the inode number. */
#define PSEUDO_INFO 12

/* Names shorter than this are copied as five words (a dentry's inline name is 40 bytes). */
#define SHORT_NAME 40

struct walk_ctx {
	__u8 *buf;
	__u64 d;  /* struct dentry * */
	__u64 vm; /* struct vfsmount * */
	__u64 m;  /* struct mount * */
	__u64 root_d;
	__u64 root_m;
	__u32 off;
	__u8 flags;
};

static long walk_step(__u64 index, void *arg)
{
	struct walk_ctx *w = arg;
	struct dentry *d = CAST(w->d, struct dentry);
	struct vfsmount *vm = CAST(w->vm, struct vfsmount);
	__u64 mnt_root, parent;
	const unsigned char *name;
	bool pseudo = false;
	long n;
	__u32 off;

	if (w->d == w->root_d && w->vm == w->root_m) {
		w->flags = PF_COMPLETE;
		return 1;
	}
	mnt_root = (__u64)vm->mnt_root;
	parent = (__u64)d->d_parent;
	if (w->d == parent && w->d != mnt_root) {
		/*
		 * A pseudo file (pipe, anon inode, memfd, pidfd): its dentry is
		 * its own parent and not a mount root, on a kernel-internal
		 * mount, and it is always the opened file itself, the walk's
		 * first step. Its name (empty for a pipe) is the whole path; the
		 * file system's magic and the inode number come first, to tell a
		 * pipe from an eventfd. A dentry that is its own parent on an
		 * ordinary mount is disconnected (open_by_handle_at with a cold
		 * cache): its place in the tree is unknown, so it is outside the
		 * task's root as far as the walk can tell.
		 */
		if (index != 0 || !(vm->mnt_flags & MNT_INTERNAL_)) {
			w->flags = PF_COMPLETE | PF_GLOBAL;
			return 1;
		}
		w->flags = PF_COMPLETE | PF_PSEUDO;
		parent = 0;
		pseudo = true;
	} else if (w->d == mnt_root || w->d == parent) {
		struct mount *m = CAST(w->m, struct mount);
		__u64 mp = (__u64)m->mnt_parent;
		if (mp == w->m || !mp) {
			w->flags = PF_COMPLETE | PF_GLOBAL;
			return 1;
		}
		w->d = (__u64)m->mnt_mountpoint;
		w->m = mp;
		w->vm = mp + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	off = w->off;
	if (off >= MAX_OFF) {
		w->flags = PF_TRUNC;
		return 1;
	}
	off = BOUND(off);
	if (pseudo) {
		*(__u32 *)(w->buf + off) = d->d_sb->s_magic;
		*(__u64 *)(w->buf + off + 4) = d->d_inode->i_ino;
		off += PSEUDO_INFO;
	}
	/*
	 * The name's length is known: a plain copy of it is cheaper than a
	 * string copy that tests every byte, and a name shorter than a
	 * dentry's inline name (most are) is copied with five direct loads,
	 * no helper call; bytes past its end are overwritten by the NUL and
	 * the next component. A rename racing the walk can pair a name with
	 * another's length; the NUL written after it keeps the components
	 * apart.
	 */
	name = d->d_name.name;
	n = d->d_name.len;
	if (n == 0 && pseudo) {
		w->buf[off] = 0;
		w->off = off + 1;
		return 1;
	}
	if (n == 0 || n >= MAX_NAME) {
		w->flags = PF_TRUNC;
		return 1;
	}
	n &= MAX_NAME - 1;
	if (n < SHORT_NAME) {
		__u64 *dst = (__u64 *)(w->buf + off);
		dst[0] = WORD_AT(name);
		dst[1] = WORD_AT(name + 8);
		dst[2] = WORD_AT(name + 16);
		dst[3] = WORD_AT(name + 24);
		dst[4] = WORD_AT(name + 32);
	} else if (bpf_probe_read_kernel(w->buf + off, n, name) < 0) {
		w->flags = PF_TRUNC;
		return 1;
	}
	w->buf[IN_SCRATCH(off + n)] = 0;
	w->off = off + n + 1;
	w->d = parent;
	return parent ? 0 : 1;
}

/*
 * put_path appends a path item: one flag byte, then the path's components
 * leaf first, each NUL-terminated. Static: its callers pass BTF pointers.
 */
static __noinline int put_path(__u64 dentry, __u64 vfsmnt, __u32 off, __u32 tag)
{
	struct walk_ctx w = {};
	struct task_struct *task;
	__u8 *buf = scratch_buf();
	__u32 start;

	if (!buf || !dentry || !vfsmnt)
		return off;
	off = align4(off);
	if (off >= MAX_OFF)
		return off;
	start = BOUND(off);
	task = bpf_get_current_task_btf();
	w.buf = buf;
	w.d = dentry;
	w.vm = vfsmnt;
	w.m = vfsmnt - bpf_core_field_offset(struct mount, mnt);
	w.root_d = (__u64)task->fs->root.dentry;
	w.root_m = (__u64)task->fs->root.mnt;
	w.off = start + sizeof(struct item) + 1;
	w.flags = PF_TRUNC;
	bpf_loop(MAX_DEPTH, walk_step, &w, 0);
	if (w.off > MAX_OFF + MAX_NAME * 2)
		return start;
	buf[BOUND(start) + sizeof(struct item)] = w.flags;
	put_item_hdr(buf, start, tag & 0xff, (tag >> 8) & 0xff, w.off - start - sizeof(struct item));
	return w.off;
}

static __always_inline struct file *fd_file(struct task_struct *task, __s32 fd)
{
	struct fdtable *fdt;
	struct file **fds;
	unsigned int max;

	if (fd < 0)
		return NULL;
	fdt = task->files->fdt;
	max = fdt->max_fds;
	if ((unsigned int)fd >= max)
		return NULL;
	fds = fdt->fd;
	return (struct file *)WORD_AT(&fds[fd]);
}

static __noinline int put_tuple(__u64 filep, __u32 off, __u32 tag)
{
	struct file *f = (struct file *)filep;
	__u8 *buf = scratch_buf();
	struct socket *sock;
	struct sock *sk;
	struct tuple *t;

	if (!buf || !f)
		return off;
	off = align4(off);
	if (off >= MAX_OFF)
		return off;
	off = BOUND(off);
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return off;
	t = (struct tuple *)(buf + off + sizeof(struct item));
	__builtin_memset(t, 0, sizeof(*t));
	t->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	t->type = BPF_CORE_READ(sk, sk_type);
	t->proto = BPF_CORE_READ(sk, sk_protocol);
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (t->family == AF_INET_) {
		bpf_probe_read_kernel(t->saddr, 4, __builtin_preserve_access_index(&sk->__sk_common.skc_rcv_saddr));
		bpf_probe_read_kernel(t->daddr, 4, __builtin_preserve_access_index(&sk->__sk_common.skc_daddr));
	} else if (t->family == AF_INET6_) {
		bpf_probe_read_kernel(t->saddr, 16, __builtin_preserve_access_index(&sk->__sk_common.skc_v6_rcv_saddr));
		bpf_probe_read_kernel(t->daddr, 16, __builtin_preserve_access_index(&sk->__sk_common.skc_v6_daddr));
	}
	put_item_hdr(buf, off, IT_TUPLE, tag, sizeof(struct tuple));
	return off + sizeof(struct item) + sizeof(struct tuple);
}

/* put_file describes a file: a socket tuple or a path (for argument arg). */
static __noinline int put_file(__u64 filep, __u32 off, __u32 arg)
{
	struct file *f;
	umode_t mode;

	if (!filep)
		return off;
	f = CAST(filep, struct file);
	mode = f->f_inode->i_mode;
	if ((mode & S_IFMT_) == S_IFSOCK_)
		return put_tuple((__u64)f, off, arg);
	return put_path((__u64)f->f_path.dentry, (__u64)f->f_path.mnt, off, IT_FDPATH | (arg << 8));
}

/* put_fd describes the file behind fd: a socket tuple or a path. */
__noinline int put_fd(__s32 fd, __u32 off, __u32 arg)
{
	return put_file((__u64)fd_file(bpf_get_current_task_btf(), fd), off, arg);
}

#define S_IFREG_ 0100000

/* file_ident reads the identity of f's inode; false when f is not a regular file. */
static __always_inline bool file_ident(struct file *f, struct file_id *id)
{
	struct inode *in;

	if (!f)
		return false;
	f = CAST(f, struct file);
	in = f->f_inode;
	if ((in->i_mode & S_IFMT_) != S_IFREG_)
		return false;
	id->ino = in->i_ino;
	id->dev = in->i_sb->s_dev;
	id->nlink = in->__i_nlink;
	return true;
}

/* put_file_inode appends the identity of a regular file (IT_INODE, for argument arg). */
static __noinline int put_file_inode(__u64 filep, __u32 off, __u32 arg)
{
	__u8 *buf = scratch_buf();
	struct file_id id;

	if (!buf || !file_ident((struct file *)filep, &id))
		return off;
	off = align4(off);
	if (off >= MAX_OFF)
		return off;
	off = BOUND(off);
	__builtin_memcpy(buf + off + sizeof(struct item), &id, sizeof(id));
	put_item_hdr(buf, off, IT_INODE, arg, sizeof(id));
	return off + sizeof(struct item) + sizeof(id);
}

/* put_inode appends the identity of the regular file behind fd (IT_INODE). */
__noinline int put_inode(__s32 fd, __u32 off, __u32 arg)
{
	return put_file_inode((__u64)fd_file(bpf_get_current_task_btf(), fd), off, arg);
}

__noinline int put_cwd(__u32 off, __u32 tag)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return put_path((__u64)task->fs->pwd.dentry, (__u64)task->fs->pwd.mnt, off, tag);
}

/* put_str copies a NUL-terminated string from user or kernel memory. */
static __always_inline int put_str(__u64 ptr, __u32 off, __u32 tag, bool user)
{
	__u8 *buf = scratch_buf();
	long n;

	if (!buf || !ptr)
		return off;
	off = align4(off);
	if (off >= MAX_OFF)
		return off;
	off = BOUND(off);
	if (user)
		n = bpf_probe_read_user_str(buf + off + sizeof(struct item), MAX_STR, (void *)ptr);
	else
		n = bpf_probe_read_kernel_str(buf + off + sizeof(struct item), MAX_STR, (void *)ptr);
	if (n <= 0)
		return off;
	n &= MAX_STR * 2 - 1;
	put_item_hdr(buf, off, tag & 0xff, (tag >> 8) & 0xff, n);
	return off + sizeof(struct item) + n;
}

/* put_user_str copies a NUL-terminated user string; returns the new offset. */
__noinline int put_user_str(__u64 uptr, __u32 off, __u32 tag)
{
	return put_str(uptr, off, tag, true);
}

__noinline int put_kernel_str(__u64 kptr, __u32 off, __u32 tag)
{
	return put_str(kptr, off, tag, false);
}

/* put_user_bytes copies len (< 4096) bytes of user memory. */
__noinline int put_user_bytes(__u64 uptr, __u32 len, __u32 off, __u32 tag)
{
	__u8 *buf = scratch_buf();

	if (!buf || !uptr || len == 0)
		return off;
	off = align4(off);
	if (off >= MAX_OFF)
		return off;
	off = BOUND(off);
	if (len >= MAX_STR)
		len = MAX_STR - 1;
	barrier_var(len);
	len &= MAX_STR - 1;
	if (bpf_probe_read_user(buf + off + sizeof(struct item), len, (void *)uptr) < 0)
		return off;
	put_item_hdr(buf, off, tag & 0xff, (tag >> 8) & 0xff, len);
	return off + sizeof(struct item) + len;
}

/*
 * path_arg emits a path string (from user or kernel memory) and, when it
 * is relative, the directory it resolves against (dirfd's file or the cwd).
 */
static __always_inline int path_arg(__u64 ptr, __s32 dirfd, __u32 off, __u32 arg, bool user)
{
	__u8 *buf = scratch_buf();
	__u32 start, first;

	if (!buf || !ptr)
		return off;
	start = align4(off);
	if (user)
		off = put_user_str(ptr, start, IT_STR | (arg << 8));
	else
		off = put_kernel_str(ptr, start, IT_STR | (arg << 8));
	if (off == start || start >= MAX_OFF)
		return off;
	first = BOUND(start) + sizeof(struct item);
	if (buf[first] == '/')
		return off;
	if (dirfd == AT_FDCWD_)
		return put_cwd(off, IT_BASE | (arg << 8));
	{
		struct task_struct *task = bpf_get_current_task_btf();
		struct file *f = fd_file(task, dirfd);
		if (!f)
			return off;
		return put_path((__u64)BPF_CORE_READ(f, f_path.dentry), (__u64)BPF_CORE_READ(f, f_path.mnt),
				off, IT_BASE | (arg << 8));
	}
}

/* put_path_arg emits a user path argument (path_arg). */
__noinline int put_path_arg(__u64 uptr, __s32 dirfd, __u32 off, __u32 arg)
{
	return path_arg(uptr, dirfd, off, arg, true);
}

/* put_kernel_path_arg emits a path the kernel copied (path_arg). */
__noinline int put_kernel_path_arg(__u64 kptr, __s32 dirfd, __u32 off, __u32 arg)
{
	return path_arg(kptr, dirfd, off, arg, false);
}

/* kernfs_node's parent before it was renamed __parent (6.15). */
struct kernfs_node___old {
	struct kernfs_node *parent;
};

struct cg_ctx {
	__u8 *buf;
	struct kernfs_node *kn;
	__u32 off;
	__u8 flags;
};

static long cg_step(__u64 index, void *arg)
{
	struct cg_ctx *c = arg;
	struct kernfs_node *kn = c->kn;
	struct kernfs_node *parent;
	const char *name;
	__u32 off;
	long n;

	if (bpf_core_field_exists(kn->__parent))
		parent = BPF_CORE_READ(kn, __parent);
	else
		parent = BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
	if (!parent) {
		c->flags = PF_COMPLETE; /* the hierarchy's root has no name in the path */
		return 1;
	}
	off = c->off;
	if (off >= MAX_OFF) {
		c->flags = PF_TRUNC;
		return 1;
	}
	off = BOUND(off);
	name = BPF_CORE_READ(kn, name);
	n = bpf_probe_read_kernel_str(c->buf + off, MAX_NAME, name);
	if (n <= 0) {
		c->flags = PF_TRUNC;
		return 1;
	}
	c->off = off + (__u32)(n & (MAX_NAME * 2 - 1));
	c->kn = parent;
	return 0;
}

/* put_cgroup appends the current task's cgroup path, encoded like put_path. */
__noinline int put_cgroup(__u32 off)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cg_ctx c = {};
	__u8 *buf = scratch_buf();
	__u32 start;

	if (!buf || cgroup_mode == CGROUP_NONE)
		return off;
	off = align4(off);
	if (off >= MAX_OFF)
		return off;
	start = BOUND(off);
	if (cgroup_mode == CGROUP_V2) {
		c.kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	} else {
		int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, pids_cgrp_id))
			id = bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id);
		struct cgroup_subsys_state *css;
		bpf_probe_read_kernel(&css, sizeof(css),
				      __builtin_preserve_access_index(&task->cgroups->subsys[id & 15]));
		c.kn = BPF_CORE_READ(css, cgroup, kn);
	}
	if (!c.kn)
		return off;
	c.buf = buf;
	c.off = start + sizeof(struct item) + 1;
	c.flags = PF_TRUNC;
	bpf_loop(32, cg_step, &c, 0);
	if (c.off > MAX_OFF + MAX_NAME * 2)
		return start;
	buf[BOUND(start) + sizeof(struct item)] = c.flags;
	put_item_hdr(buf, start, IT_CGROUP, ARG_NONE, c.off - start - sizeof(struct item));
	return c.off;
}

/* ---- header -------------------------------------------------------------- */

/*
 * Header fields are read with direct loads through BTF pointers (exception
 * handled by the kernel, no helper call), which is several times cheaper
 * than bpf_probe_read_kernel for each field. pid->numbers[level], at a
 * variable offset, is cast to its own BTF pointer first.
 */
static __always_inline struct upid *task_upid(struct task_struct *task)
{
	struct pid *p = task->thread_pid;
	unsigned int level = p->level;

	return CAST((void *)p + bpf_core_field_offset(struct pid, numbers) +
		    (level & 63) * bpf_core_type_size(struct upid), struct upid);
}

static __always_inline void task_vids(struct task_struct *task, __u32 *vtid, __u32 *vpid, __u32 *pidns)
{
	struct task_struct *leader = task->group_leader;
	struct upid *u = task_upid(task);

	*vtid = u->nr;
	*pidns = u->ns->ns.inum;
	if (leader == task) {
		*vpid = *vtid;
		return;
	}
	*vpid = task_upid(leader)->nr;
}

/* fill_hdr_at writes the record header for the current task at h. */
static __always_inline void fill_hdr_at(struct event_hdr *h, __u32 kind, __u32 nr, __u32 flags)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const struct cred *cred;
	__u64 pt = bpf_get_current_pid_tgid();

	h->ts = bpf_ktime_get_boot_ns();
	h->kind = kind;
	h->nr = nr;
	h->cpu = bpf_get_smp_processor_id();
	h->flags = flags;
	h->tid = (__u32)pt;
	h->pid = pt >> 32;
	if (flags & HF_LEAN) {
		h->vtid = h->vpid = h->pidns = h->ppid = h->mntns = 0;
		h->cgroup_id = 0;
	} else {
		/* What bpf_get_current_cgroup_id returns, without the call. */
		h->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
		task_vids(task, &h->vtid, &h->vpid, &h->pidns);
		h->ppid = task->real_parent->tgid;
		h->mntns = task->nsproxy->mnt_ns->ns.inum;
	}
	cred = task->cred;
	h->uid = cred->uid.val;
	h->gid = cred->gid.val;
	h->euid = cred->euid.val;
	h->egid = cred->egid.val;
	h->cap_eff = cred->cap_effective.val;
	h->cap_prm = cred->cap_permitted.val;
	if (bpf_core_field_exists(task->loginuid))
		h->loginuid = task->loginuid.val;
	else
		h->loginuid = (__u32)-1;
	__builtin_memcpy(h->comm, task->comm, sizeof(h->comm));
}

/* fill_hdr writes the record header for the current task into scratch. */
__noinline int fill_hdr(__u32 kind, __u32 nr, __u32 flags)
{
	__u8 *buf = scratch_buf();

	if (!buf)
		return 0;
	fill_hdr_at((struct event_hdr *)buf, kind, nr, flags);
	return sizeof(struct event_hdr);
}

/*
 * Wake the reader only once a batch has built up: a wakeup per record costs
 * more than the record. The reader also polls every few ms, so a lone
 * record is never stuck. The fill level is asked every WAKEUP_EVERY records
 * a CPU writes (the query touches the consumer's cache line), so a wakeup
 * comes at most that many records late. A CPU forces a wakeup at most once
 * per WAKEUP_GAP_NS: while the reader is behind, the ring stays above the
 * mark, and a wakeup (a self-IPI, a VM exit on a virtual machine) every
 * WAKEUP_EVERY records doubled the cost of each record (measured with a
 * paused reader) without waking it any sooner.
 */
#define WAKEUP_EVERY  16
#define WAKEUP_GAP_NS 1000000

static __always_inline __u64 wakeup_flags(__u64 *written, __u64 now)
{
	__u64 *last;

	if (!written || (*written & (WAKEUP_EVERY - 1)) != 0 ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	last = counter(2);
	if (!last || now - *last < WAKEUP_GAP_NS)
		return BPF_RB_NO_WAKEUP;
	*last = now;
	return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void submit(__u8 *buf, __u32 size)
{
	__u64 *written;

	if (size < sizeof(struct event_hdr) || size >= SCRATCH_SIZE)
		return;
	/* The mask restates the bound in a form the verifier tracks. */
	barrier_var(size);
	size &= SCRATCH_SIZE - 1;
	written = counter(0);
	if (bpf_ringbuf_output(&events, buf, size, wakeup_flags(written, ((struct event_hdr *)buf)->ts)) == 0) {
		if (written)
			(*written)++;
	} else {
		count(1);
	}
}

/* ---- syscalls ------------------------------------------------------------ */

static __always_inline __u64 sc_arg(struct pt_regs *regs, int i, bool compat)
{
	if (compat) {
		/* int 0x80 / sysenter ABI: the kernel uses only the low 32 bits. */
		switch (i) {
		case 0: return (__u32)regs->bx;
		case 1: return (__u32)regs->cx;
		case 2: return (__u32)regs->dx;
		case 3: return (__u32)regs->si;
		case 4: return (__u32)regs->di;
		default: return (__u32)regs->bp;
		}
	}
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	case 2: return regs->dx;
	case 3: return regs->r10;
	case 4: return regs->r8;
	default: return regs->r9;
	}
}

static __always_inline struct sc_conf *lookup_conf(__u64 nr, bool *compat, __u32 *idx)
{
	struct task_struct *task;

	if (nr >= COMPAT_BASE)
		return NULL; /* x32 (bit 30 set) and out-of-range numbers */
	if (!(sc_bits[nr / 64] & (1ULL << (nr % 64))))
		return NULL;
	task = bpf_get_current_task_btf();
	*compat = task->thread_info.status & TS_COMPAT_;
	*idx = (__u32)nr + (*compat ? COMPAT_BASE : 0);
	return bpf_map_lookup_elem(&sc_confs, idx);
}

/* reserve_rec reserves a fixed-size record in the ring, counting a drop when it is full. */
static __always_inline void *reserve_rec(__u32 size)
{
	void *r = bpf_ringbuf_reserve(&events, size, 0);

	if (!r)
		count(1);
	return r;
}

/* commit_rec submits a record from reserve_rec. */
static __always_inline void commit_rec(struct event_hdr *r)
{
	__u64 *written = counter(0);

	bpf_ringbuf_submit(r, wakeup_flags(written, r->ts));
	if (written)
		(*written)++;
}

/*
 * submit_min writes a minimal record (HF_MIN) straight into the ring: no
 * scratch copy, no credentials, comm or namespace reads.
 */
static __always_inline void submit_min(struct pt_regs *regs, long ret, __u32 nr, bool compat)
{
	__u64 pt = bpf_get_current_pid_tgid();
	struct event_hdr *h;
	int i;

	h = reserve_rec(MIN_HDR_SIZE);
	if (!h)
		return;
	h->ts = bpf_ktime_get_boot_ns();
	for (i = 0; i < 6; i++)
		h->args[i] = sc_arg(regs, i, compat);
	h->ret = ret;
	h->kind = KIND_SYSCALL;
	h->nr = nr;
	h->cpu = bpf_get_smp_processor_id();
	h->flags = HF_MIN | (compat ? HF_COMPAT : 0);
	h->tid = (__u32)pt;
	h->pid = pt >> 32;
	commit_rec(h);
}

/*
 * submit_hdr writes a header-only record straight into the ring, without
 * the scratch copy.
 */
static __always_inline void submit_hdr(__u32 kind, struct pt_regs *regs, long ret, __u32 nr, bool compat,
				       __u32 flags)
{
	struct event_hdr *h;
	int i;

	h = reserve_rec(sizeof(struct event_hdr));
	if (!h)
		return;
	fill_hdr_at(h, kind, nr, flags);
	for (i = 0; i < 6; i++)
		h->args[i] = sc_arg(regs, i, compat);
	h->ret = ret;
	commit_rec(h);
}

/* has_items says whether a syscall's records carry anything after the header. */
static __always_inline bool has_items(struct sc_conf *c)
{
	return (c->path_mask | c->str_mask | c->fd_mask) || c->addr_arg < 6 ||
	       (c->struct_arg < 6 && c->struct_len) || (c->flags & (CF_RET_FD | CF_CWD));
}

/* payload is split from the program body so that it is verified once. */
__noinline int payload(__u32 idx, __u32 off)
{
	struct sc_conf *cp = bpf_map_lookup_elem(&sc_confs, &idx);
	__u8 *buf = scratch_buf();
	struct sc_conf c;
	struct event_hdr *h;
	__s64 ret;
	int i;

	if (!buf || !cp)
		return off;
	c = *cp;
	h = (struct event_hdr *)buf;
	ret = h->ret;

	for (i = 0; i < 6; i++) {
		__u64 a = h->args[i];
		if ((c.path_mask & (1 << i)) && !((c.flags & CF_RET_FD) && ret >= 0)) {
			__s32 dirfd = AT_FDCWD_;
			__u8 di = c.dirfd[i];
			if (di < 6)
				dirfd = (__s32)h->args[di];
			off = put_path_arg(a, dirfd, off, i);
		} else if (c.str_mask & (1 << i) || c.path_mask & (1 << i)) {
			/*
			 * Plain strings, and the path of an open that succeeded: the
			 * opened file's own path (below) makes the base walk redundant.
			 */
			off = put_user_str(a, off, IT_STR | (i << 8));
		}
		if (c.fd_mask & (1 << i))
			off = put_fd((__s32)a, off, i);
	}
	if (c.addr_arg < 6) {
		__u32 len = MAX_ADDR;
		if (c.addrlen_arg < 6) {
			__u64 la = h->args[c.addrlen_arg];
			if (c.flags & CF_ADDRLEN_PTR) {
				__u32 l = 0;
				bpf_probe_read_user(&l, sizeof(l), (void *)la);
				la = l;
			}
			if (la < len)
				len = la;
		}
		off = put_user_bytes(h->args[c.addr_arg], len, off, IT_ADDR | (c.addr_arg << 8));
	}
	if (c.flags & CF_MSGHDR) {
		/*
		 * sendmsg/recvmsg (and the first message of sendmmsg/recvmmsg):
		 * the address is msg_name, msg_namelen bytes; the compat msghdr
		 * has 4-byte pointers. After recvmsg the kernel has written the
		 * sender's address there.
		 */
		__u64 mp = h->args[1], name = 0;
		__s32 nlen = 0;
		if (h->flags & HF_COMPAT) {
			__u32 n32 = 0;
			bpf_probe_read_user(&n32, sizeof(n32), (void *)mp);
			bpf_probe_read_user(&nlen, sizeof(nlen), (void *)(mp + 4));
			name = n32;
		} else {
			bpf_probe_read_user(&name, sizeof(name), (void *)mp);
			bpf_probe_read_user(&nlen, sizeof(nlen), (void *)(mp + 8));
		}
		if (name && nlen > 0)
			off = put_user_bytes(name, nlen < MAX_ADDR ? nlen : MAX_ADDR, off, IT_ADDR | (1 << 8));
	}
	if (c.struct_arg < 6 && c.struct_len > 0) {
		__u32 len = c.struct_len;
		if (len > MAX_STRUCT)
			len = MAX_STRUCT;
		off = put_user_bytes(h->args[c.struct_arg], len, off, IT_STRUCT | (c.struct_arg << 8));
	}
	if ((c.flags2 & CF2_FD_PAIR) && ret == 0 && c.struct_arg < 6) {
		/* pipe, pipe2, socketpair: the kernel has written both fds. */
		__s32 pair[2] = {};
		if (bpf_probe_read_user(pair, sizeof(pair), (void *)h->args[c.struct_arg]) == 0) {
			off = put_fd(pair[0], off, ARG_PAIR);
			off = put_fd(pair[1], off, ARG_PAIR + 1);
		}
	}
	if ((c.flags & CF_RET_FD) && ret >= 0) {
		off = put_fd((__s32)ret, off, ARG_RET);
		off = put_inode((__s32)ret, off, ARG_RET);
	}
	if ((c.flags & CF_CWD) && ret == 0)
		off = put_cwd(off, IT_CWD | (ARG_NONE << 8));
	return off;
}

/*
 * socketcall_rec writes the record of an i386 socketcall(2) as the call it
 * multiplexes: the native number of that call (HF_SOCKETCALL), its
 * arguments unpacked from the 32-bit words at argp, and that call's items
 * (addresses, tuples), so that a 32-bit process cannot connect or accept
 * unseen by going through the multiplexer. HF_COMPAT stays set: a msghdr
 * is still in the compat layout.
 */
__noinline int socketcall_rec(__u32 call, __u32 argp, long ret, __u32 hflags)
{
	__u32 a[6] = {};
	struct sc_conf *c;
	struct event_hdr *h;
	__u32 idx, n, off;
	__u8 *buf;
	int i;

	if (call == 0 || call >= NR_SOCKETCALLS)
		return 0;
	barrier_var(call);
	call &= SOCKETCALL_SLOTS - 1;
	idx = socketcall_nr[call];
	if (idx == 0 || idx >= COMPAT_BASE)
		return 0;
	c = bpf_map_lookup_elem(&sc_confs, &idx);
	if (!c || !c->on)
		return 0;
	hflags |= lean_flag(c);
	n = socketcall_nargs[call] * 4;
	if (n < 8 || n > sizeof(a))
		return 0;
	barrier_var(n);
	n &= 31;
	if (n > sizeof(a))
		n = sizeof(a);
	/* A bad pointer failed the call with EFAULT; its record keeps zero arguments. */
	if (bpf_probe_read_user(a, n, (void *)(__u64)argp) < 0)
		__builtin_memset(a, 0, sizeof(a));
	buf = scratch_buf();
	if (!buf)
		return 0;
	off = fill_hdr(KIND_SYSCALL, idx, hflags | HF_SOCKETCALL);
	h = (struct event_hdr *)buf;
	h->ret = ret;
	for (i = 0; i < 6; i++)
		h->args[i] = a[i];
	off = payload(idx, off);
	submit(buf, off);
	return 0;
}

/*
 * scratch_rec builds a syscall record with items in scratch and submits
 * it: the header, the arguments from the saved registers (in the compat
 * ABI's registers when compat), the descriptor's items.
 */
static __always_inline void scratch_rec(struct pt_regs *regs, long ret, __u32 nr, __u32 idx, bool compat,
					__u32 hflags, __u8 cflags)
{
	struct event_hdr *h;
	__u8 *buf = scratch_buf();
	__u32 off;
	int i;

	if (!buf)
		return;
	off = fill_hdr(KIND_SYSCALL, nr, hflags);
	h = (struct event_hdr *)buf;
	h->ret = ret;
	if ((cflags & CF_ZERO_ON_OK) && ret == 0) {
		/* A successful execve reset the registers; the exec record has the data. */
		for (i = 0; i < 6; i++)
			h->args[i] = 0;
		submit(buf, off);
		return;
	}
	for (i = 0; i < 6; i++)
		h->args[i] = sc_arg(regs, i, compat);
	off = payload(idx, off);
	submit(buf, off);
}

/*
 * x32_rec writes the record of an x32 syscall as the native call it
 * stands for (HF_X32), so that a process on a kernel with x32 enabled
 * cannot open, connect or exec unseen by setting bit 30 of the number.
 * Arguments are in the native registers (x32 pointers are zero-extended);
 * the x32-specific entry points use the compat struct layouts, so their
 * records keep HF_COMPAT for the msghdr reader.
 */
static __noinline int x32_rec(struct pt_regs *regs, long ret, __u64 nr)
{
	__u32 n = (__u32)(nr & ~X32_BIT), hflags = HF_X32;
	struct sc_conf *c;
	__u32 idx;

	if (n >= X32_BASE) {
		if (n >= X32_BASE + X32_SLOTS)
			return 0;
		n = x32_nr[(n - X32_BASE) & (X32_SLOTS - 1)];
		hflags |= HF_COMPAT;
	}
	if (n == 0 || n >= COMPAT_BASE)
		return 0;
	idx = n;
	c = bpf_map_lookup_elem(&sc_confs, &idx);
	if (!c || !c->on)
		return 0;
	if (ignored())
		return 0;
	hflags |= lean_flag(c);
	scratch_rec(regs, ret, n, idx, false, hflags, c->flags);
	return 0;
}

#define FMODE_WRITE_ 0x2

/*
 * shed says whether to drop a record of a CF2_SHED syscall on purpose: the
 * ring holds more than shed_bytes unread, so the room left is kept for the
 * records rules need (exec, connect, dup, ptrace, ... are never CF2_SHED).
 * An open of the shed class is still kept when it opened a file for
 * writing or a protected inode (by identity, so a hard link does not
 * help): a storm of reads is shed, the read of /etc/shadow in it is not.
 */
static __always_inline bool shed(struct sc_conf *c, long ret)
{
	struct inode_key k = {};
	struct file_id id;
	struct file *f;

	if (!shed_bytes || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < shed_bytes)
		return false;
	if (!(c->flags & CF_RET_FD) || ret < 0)
		return true;
	f = fd_file(bpf_get_current_task_btf(), (__s32)ret);
	if (!f)
		return true;
	if (CAST(f, struct file)->f_mode & FMODE_WRITE_)
		return false;
	if (!file_ident(f, &id))
		return true;
	k.ino = id.ino;
	k.dev = id.dev;
	return !bpf_map_lookup_elem(&protected_inodes, &k);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct sc_conf *c;
	bool compat = false;
	__u32 hflags, idx = 0;
	__u64 nr = regs->orig_ax;

	if (nr >= COMPAT_BASE)
		return (nr & X32_BIT) ? x32_rec(regs, ret, nr) : 0;
	c = lookup_conf(nr, &compat, &idx);
	if (!c || !c->on)
		return 0;
	if (ignored())
		return 0;
	if ((c->flags2 & CF2_SHED) && shed(c, ret)) {
		count(3);
		return 0;
	}
	if (c->flags & CF_MIN) {
		submit_min(regs, ret, nr, compat);
		return 0;
	}
	if (c->flags2 & CF2_SOCKETCALL)
		return socketcall_rec((__u32)regs->bx, (__u32)regs->cx, ret, HF_COMPAT);
	hflags = (compat ? HF_COMPAT : 0) | lean_flag(c);
	if (!has_items(c) && !(c->flags & CF_ZERO_ON_OK)) {
		submit_hdr(KIND_SYSCALL, regs, ret, nr, compat, hflags);
		return 0;
	}
	scratch_rec(regs, ret, nr, idx, compat, hflags, c->flags);
	return 0;
}

/* x86_64 numbers of the calls io_uring requests are recorded as. */
#define NR_READ_    0
#define NR_WRITE_   1
#define NR_CONNECT_ 42
#define NR_OPENAT_  257
#define NR_ACCEPT4_ 288

#define FILE_INDEX_ALLOC_ 0xffffffffu /* IORING_FILE_INDEX_ALLOC: the kernel picks the slot */
#define FFS_MASK_ (~3UL)              /* io_rsrc_node.file_ptr's flag bits (FFS_NOWAIT, FFS_ISREG) */
#define REQ_F_FIXED_FILE_ 1           /* io_kiocb.flags: IOSQE_FIXED_FILE, a direct descriptor (uAPI bit 0) */
#define REQ_F_CQE_SKIP_   (1 << 6)    /* io_kiocb.flags: IOSQE_CQE_SKIP_SUCCESS (uAPI bit 6) */

/*
 * fixed_file returns the file in slot idx of a ring's fixed-file table
 * (ctx->file_table: the direct descriptors, which are in no task's fd
 * table), or NULL for an empty or out-of-range slot.
 */
static __always_inline struct file *fixed_file(struct io_ring_ctx *ctx, __u32 idx)
{
	struct io_rsrc_node **nodes;
	__u64 node;

	if (idx >= ctx->file_table.data.nr)
		return NULL;
	nodes = ctx->file_table.data.nodes;
	node = WORD_AT(&nodes[idx]);
	if (!node)
		return NULL;
	return (struct file *)(CAST(node, struct io_rsrc_node)->file_ptr & FFS_MASK_);
}

/*
 * uring_rec starts an io_uring record in scratch: the header of a syscall
 * record for the native call nr stands for (HF_IO_URING), zero arguments
 * but the opcode in args[5], the completion's result. It returns the
 * record's size so far, 0 when there is no scratch.
 */
static __always_inline __u32 uring_rec(__u32 nr, __u8 opcode, __s32 res, __u32 hflags)
{
	struct event_hdr *h;
	__u8 *buf = scratch_buf();
	__u32 off;

	if (!buf)
		return 0;
	off = fill_hdr(KIND_SYSCALL, nr, HF_IO_URING | hflags);
	h = (struct event_hdr *)buf;
	__builtin_memset(h->args, 0, sizeof(h->args));
	h->args[5] = opcode;
	h->ret = res;
	return off;
}

/*
 * uring_open: an open's completion as an openat record. The opened file is
 * described as an open's returned fd is (its path and identity), from the
 * task's fd table or, for an open into a direct descriptor (file_slot, the
 * request's file_index: slot + 1, or FILE_INDEX_ALLOC with the slot in the
 * result), from the ring's fixed-file table. The dfd, flags and mode come
 * from the request (args 0, 2, 3), file_slot is args[4].
 */
static __noinline int uring_open(__u64 reqp, __s32 res)
{
	struct io_kiocb *req = CAST(reqp, struct io_kiocb);
	struct io_open *op = CAST(reqp + bpf_core_field_offset(struct io_kiocb, cmd), struct io_open);
	struct event_hdr *h;
	struct file *f = NULL;
	__u8 *buf = scratch_buf();
	__u32 off, slot;

	off = uring_rec(NR_OPENAT_, req->opcode, res, 0);
	if (!buf || !off)
		return 0;
	h = (struct event_hdr *)buf;
	slot = op->file_slot;
	h->args[0] = (__u64)(__s64)op->dfd;
	h->args[2] = op->how.flags;
	h->args[3] = op->how.mode;
	h->args[4] = slot;
	if (res >= 0 && slot == 0)
		f = fd_file(bpf_get_current_task_btf(), res);
	else if (res >= 0)
		f = fixed_file(req->ctx, slot == FILE_INDEX_ALLOC_ ? (__u32)res : slot - 1);
	if (f) {
		off = put_file((__u64)f, off, ARG_RET);
		off = put_file_inode((__u64)f, off, ARG_RET);
	}
	submit(buf, off);
	return 0;
}

/*
 * uring_connect: a connect's completion as a connect record: the socket's
 * tuple (arg 0) and the address the request named (arg 1, the sockaddr at
 * args[1], args[2] bytes). The kernel copied that address at submission
 * and has recycled its copy by the completion, so it is read again from
 * the process's memory (io_uring's workers share it); the tuple is the
 * kernel's own word on the destination. The request's fd number is gone
 * from it by then (the completion's flags overwrite it): args[0] is -1;
 * args[4] is 1 for a direct descriptor.
 */
static __noinline int uring_connect(__u64 reqp, __s32 res)
{
	struct io_kiocb *req = CAST(reqp, struct io_kiocb);
	struct io_connect *conn = CAST(reqp + bpf_core_field_offset(struct io_kiocb, cmd), struct io_connect);
	struct event_hdr *h;
	__u8 *buf = scratch_buf();
	__u64 addr;
	__u32 off;
	int len;

	off = uring_rec(NR_CONNECT_, req->opcode, res, 0);
	if (!buf || !off)
		return 0;
	h = (struct event_hdr *)buf;
	/* A plain number (a helper read): put_user_bytes takes no BTF pointer. */
	addr = (__u64)BPF_CORE_READ(conn, addr);
	len = conn->addr_len;
	h->args[0] = (__u64)-1;
	h->args[1] = addr;
	h->args[2] = len;
	h->args[4] = (req->flags & REQ_F_FIXED_FILE_) != 0;
	off = put_file((__u64)req->file, off, 0);
	if (len > 0)
		off = put_user_bytes(addr, len < MAX_ADDR ? len : MAX_ADDR, off, IT_ADDR | (1 << 8));
	submit(buf, off);
	return 0;
}

/*
 * uring_accept: an accept's completion as an accept4 record: the
 * listening socket's tuple (arg 0) and the new socket's (ret), from the
 * task's fd table or, with file_slot (args[4]) set, the fixed-file table.
 */
static __noinline int uring_accept(__u64 reqp, __s32 res)
{
	struct io_kiocb *req = CAST(reqp, struct io_kiocb);
	struct io_accept *acc = CAST(reqp + bpf_core_field_offset(struct io_kiocb, cmd), struct io_accept);
	struct event_hdr *h;
	struct file *f = NULL;
	__u8 *buf = scratch_buf();
	__u32 off, slot;

	off = uring_rec(NR_ACCEPT4_, req->opcode, res, 0);
	if (!buf || !off)
		return 0;
	h = (struct event_hdr *)buf;
	slot = acc->file_slot;
	h->args[0] = (__u64)-1;
	h->args[3] = acc->flags;
	h->args[4] = slot;
	off = put_file((__u64)req->file, off, 0);
	if (res >= 0 && slot == 0)
		f = fd_file(bpf_get_current_task_btf(), res);
	else if (res >= 0)
		f = fixed_file(req->ctx, slot == FILE_INDEX_ALLOC_ ? (__u32)res : slot - 1);
	if (f)
		off = put_file((__u64)f, off, ARG_RET);
	submit(buf, off);
	return 0;
}

/*
 * uring_rw: a read or write completion as a read or write record, only for
 * a protected inode (protected_inodes: credential files, the files of
 * binary directories): io_uring reads and writes of everything else cost
 * one hash lookup and no record. The file is described with its identity
 * (arg 0); args[0] is -1 (the fd number is gone by the completion),
 * args[4] is 1 for a direct descriptor.
 */
static __noinline int uring_rw(__u64 reqp, __u32 nr, __s32 res)
{
	struct io_kiocb *req = CAST(reqp, struct io_kiocb);
	struct inode_key k = {};
	struct event_hdr *h;
	struct file_id id;
	struct file *f = req->file;
	__u8 *buf = scratch_buf();
	__u32 off;

	if (!buf || !file_ident(f, &id))
		return 0;
	k.ino = id.ino;
	k.dev = id.dev;
	if (!bpf_map_lookup_elem(&protected_inodes, &k))
		return 0;
	off = uring_rec(nr, req->opcode, res, 0);
	if (!off)
		return 0;
	h = (struct event_hdr *)buf;
	h->args[0] = (__u64)-1;
	h->args[4] = (req->flags & REQ_F_FIXED_FILE_) != 0;
	off = put_file((__u64)f, off, 0);
	off = put_file_inode((__u64)f, off, 0);
	submit(buf, off);
	return 0;
}

/*
 * io_uring_complete turns the completions of io_uring requests a rule
 * judges into the records of the syscalls they stand for (HF_IO_URING):
 * no syscall of the task names the file or the address, so without them a
 * process reads /etc/shadow or connects out unseen. Opens become openat,
 * connects connect, accepts accept4, and reads and writes (READ, READV,
 * READ_FIXED, READV_FIXED, WRITE, WRITEV, WRITE_FIXED, WRITEV_FIXED) of
 * protected inodes read and write. There is no io_uring exec. A request submitted with
 * IOSQE_CQE_SKIP_SUCCESS posts no completion when it succeeds: opens are
 * recorded at submission for that (io_uring_submit_req), the rest leave
 * no record (docs/kernel.md).
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(io_uring_complete, void *ring, void *reqp, struct io_uring_cqe *cqe)
{
	struct io_kiocb *req = CAST(reqp, struct io_kiocb);
	__u8 op = req->opcode;
	__u32 nr;

	if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READV) ||
	    op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READ_FIXED) ||
	    (bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_READV_FIXED) &&
	     op == bpf_core_enum_value(enum io_uring_op, IORING_OP_READV_FIXED)))
		nr = NR_READ_;
	else if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITE) ||
		 op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITEV) ||
		 op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITE_FIXED) ||
		 (bpf_core_enum_value_exists(enum io_uring_op, IORING_OP_WRITEV_FIXED) &&
		  op == bpf_core_enum_value(enum io_uring_op, IORING_OP_WRITEV_FIXED)))
		nr = NR_WRITE_;
	else if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_OPENAT) ||
		 op == bpf_core_enum_value(enum io_uring_op, IORING_OP_OPENAT2))
		nr = NR_OPENAT_;
	else if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_CONNECT))
		nr = NR_CONNECT_;
	else if (op == bpf_core_enum_value(enum io_uring_op, IORING_OP_ACCEPT))
		nr = NR_ACCEPT4_;
	else
		return 0;
	if (ignored())
		return 0;
	switch (nr) {
	case NR_OPENAT_:
		return uring_open((__u64)reqp, cqe->res);
	case NR_CONNECT_:
		return uring_connect((__u64)reqp, cqe->res);
	case NR_ACCEPT4_:
		return uring_accept((__u64)reqp, cqe->res);
	default:
		return uring_rw((__u64)reqp, nr, cqe->res);
	}
}

/*
 * uring_open_submitted: an open submitted with IOSQE_CQE_SKIP_SUCCESS, as
 * an openat record at its submission (HF_URING_SUBMIT): such an open posts
 * no completion when it succeeds, so io_uring_complete never sees it, and
 * into a direct descriptor the process needs none (it reads through the
 * slot it named). The file is not open yet: the record carries the path
 * the kernel copied at preparation (IT_STR arg 1, and the directory a
 * relative one resolves against) and the request's dfd, flags, mode and
 * file_index, as uring_open does; the result is unknown (0). A failed
 * open still posts a completion, recorded as usual.
 */
static __noinline int uring_open_submitted(__u64 reqp)
{
	struct io_kiocb *req = CAST(reqp, struct io_kiocb);
	struct io_open *op = CAST(reqp + bpf_core_field_offset(struct io_kiocb, cmd), struct io_open);
	struct event_hdr *h;
	__u8 *buf = scratch_buf();
	__u32 off;
	__s32 dfd;

	off = uring_rec(NR_OPENAT_, req->opcode, 0, HF_URING_SUBMIT);
	if (!buf || !off)
		return 0;
	h = (struct event_hdr *)buf;
	dfd = op->dfd;
	h->args[0] = (__u64)(__s64)dfd;
	h->args[2] = op->how.flags;
	h->args[3] = op->how.mode;
	h->args[4] = op->file_slot;
	off = put_kernel_path_arg((__u64)BPF_CORE_READ(op, filename, name), dfd, off, 1);
	submit(buf, off);
	return 0;
}

/*
 * io_uring_submit_req sees every request once prepared: only opens that
 * asked for no completion on success (IOSQE_CQE_SKIP_SUCCESS) are recorded
 * here; everything else is one flag test.
 */
SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(io_uring_submit_req, void *reqp)
{
	struct io_kiocb *req = CAST(reqp, struct io_kiocb);
	__u8 op;

	if (!(req->flags & REQ_F_CQE_SKIP_))
		return 0;
	op = req->opcode;
	if (op != bpf_core_enum_value(enum io_uring_op, IORING_OP_OPENAT) &&
	    op != bpf_core_enum_value(enum io_uring_op, IORING_OP_OPENAT2))
		return 0;
	if (ignored())
		return 0;
	return uring_open_submitted((__u64)reqp);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct sc_conf *c;
	bool compat = false;
	__u32 idx = 0;

	c = lookup_conf(id, &compat, &idx);
	if (!c || !c->on || !(c->flags & CF_ENTER))
		return 0;
	if (ignored())
		return 0;
	submit_hdr(KIND_ENTER, regs, 0, id, compat,
		   (compat ? HF_COMPAT : 0) | lean_flag(c));
	return 0;
}

/* ---- process lifecycle --------------------------------------------------- */

/*
 * proc_rec starts a process record (exec, fork, exit) in scratch: the
 * header with zero arguments and result. It returns the scratch buffer, or
 * NULL, and the record's size so far in *off.
 */
static __always_inline __u8 *proc_rec(__u32 kind, __u32 *off)
{
	struct event_hdr *h;
	__u8 *buf;

	if (ignored())
		return NULL;
	buf = scratch_buf();
	if (!buf)
		return NULL;
	*off = fill_hdr(kind, 0, 0);
	h = (struct event_hdr *)buf;
	__builtin_memset(h->args, 0, sizeof(h->args));
	h->ret = 0;
	return buf;
}

/*
 * item_room aligns *off for a fixed-size item and returns where its
 * payload goes (after the item header), or NULL when there is no room.
 */
static __always_inline void *item_room(__u8 *buf, __u32 *off)
{
	__u32 o = align4(*off);

	if (o >= MAX_OFF)
		return NULL;
	o = BOUND(o);
	*off = o;
	return buf + o + sizeof(struct item);
}

#define SB_RDONLY_      1      /* super_block.s_flags */
#define MNT_READONLY_   0x40   /* vfsmount.mnt_flags */
#define S_IMMUTABLE_    8      /* inode.i_flags */
#define CAP_DAC_OVERRIDE_ 1
#define CAP_FOWNER_     3
#define EXE_WRITABLE    1      /* exec record args[1] */
#define UID_GID_INLINE  5      /* extents held inline in a uid_gid_map */

/*
 * id_mapped says whether kernel id id is mapped in a user namespace's
 * uid or gid map (kuid_has_mapping). Maps of more than five extents keep
 * them out of line; those are not walked and count as unmapped.
 */
static __always_inline bool id_mapped(struct uid_gid_map *m, __u32 id)
{
	__u32 n = m->nr_extents;

	if (n > UID_GID_INLINE)
		return false;
	/* Written out: a BTF pointer takes only constant offsets. */
#define EXTENT_HAS(k) (n > (k) && id >= m->extent[k].lower_first && id - m->extent[k].lower_first < m->extent[k].count)
	return EXTENT_HAS(0) || EXTENT_HAS(1) || EXTENT_HAS(2) || EXTENT_HAS(3) || EXTENT_HAS(4);
#undef EXTENT_HAS
}

/*
 * exe_writable says whether the new image's file could be written by the
 * task after the exec, as Falco's EXE_WRITABLE does: never on a read-only
 * super block or mount or for an immutable file; always for its owner
 * (who may chmod it); else by the group or other write bit for the
 * fsgid, or with CAP_DAC_OVERRIDE or CAP_FOWNER when the file's uid and
 * gid are mapped in the task's user namespace (capable_wrt_inode_uidgid).
 * Supplementary groups and ACLs are not consulted.
 */
static __always_inline bool exe_writable(struct task_struct *task, struct file *exe)
{
	struct file *f = CAST(exe, struct file);
	struct inode *in = f->f_inode;
	const struct cred *cred = task->cred;
	struct user_namespace *ns;
	umode_t mode = in->i_mode;
	__u64 caps;

	if ((in->i_sb->s_flags & SB_RDONLY_) || (f->f_path.mnt->mnt_flags & MNT_READONLY_) ||
	    (in->i_flags & S_IMMUTABLE_))
		return false;
	if (cred->fsuid.val == in->i_uid.val)
		return true;
	if (mode & (cred->fsgid.val == in->i_gid.val ? 0020 : 0002))
		return true;
	caps = cred->cap_effective.val;
	if (!(caps & ((1ULL << CAP_DAC_OVERRIDE_) | (1ULL << CAP_FOWNER_))))
		return false;
	ns = cred->user_ns;
	if (ns->level == 0)
		return true;
	return id_mapped(&ns->uid_map, in->i_uid.val) && id_mapped(&ns->gid_map, in->i_gid.val);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct mm_struct *mm;
	struct file *exe;
	__u8 *buf;
	__u32 off = 0;
	__u64 start, end;

	buf = proc_rec(KIND_EXEC, &off);
	if (!buf)
		return 0;
	((struct event_hdr *)buf)->args[0] = old_pid;
	off = put_kernel_str((__u64)BPF_CORE_READ(bprm, filename), off, IT_FILENAME | (ARG_NONE << 8));
	mm = BPF_CORE_READ(p, mm);
	start = BPF_CORE_READ(mm, arg_start);
	end = BPF_CORE_READ(mm, arg_end);
	/* arg 1 marks an argument area longer than the 4 KiB copied. */
	if (end > start)
		off = put_user_bytes(start, end - start, off, IT_ARGV | ((end - start >= MAX_STR ? 1 : ARG_NONE) << 8));
	exe = BPF_CORE_READ(mm, exe_file);
	if (exe && exe_writable(p, exe))
		((struct event_hdr *)buf)->args[1] |= EXE_WRITABLE;
	if (exe)
		off = put_path((__u64)BPF_CORE_READ(exe, f_path.dentry), (__u64)BPF_CORE_READ(exe, f_path.mnt),
			       off, IT_EXE | (ARG_NONE << 8));
	off = put_cwd(off, IT_CWD | (ARG_NONE << 8));
	off = put_cgroup(off);
	{
		struct tty_struct *tty = BPF_CORE_READ(p, signal, tty);
		if (tty)
			off = put_kernel_str((__u64)__builtin_preserve_access_index(&tty->name), off,
					     IT_TTY | (ARG_NONE << 8));
	}
	/*
	 * The environment goes last: items start below MAX_OFF, and a long
	 * argument area plus a long environment must not crowd out the exe
	 * path, cwd, cgroup and tty that rules rely on.
	 */
	if (capture_env) {
		start = BPF_CORE_READ(mm, env_start);
		end = BPF_CORE_READ(mm, env_end);
		if (end > start)
			off = put_user_bytes(start, end - start, off, IT_ENV | ((end - start >= MAX_STR ? 1 : ARG_NONE) << 8));
	}
	submit(buf, off);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct fork_info *fi;
	__u8 *buf;
	__u32 off = 0;
	__u32 pidns;

	buf = proc_rec(KIND_FORK, &off);
	if (!buf)
		return 0;
	fi = item_room(buf, &off);
	if (!fi)
		return 0;
	fi->tid = BPF_CORE_READ(child, pid);
	fi->pid = BPF_CORE_READ(child, tgid);
	task_vids(child, &fi->vtid, &fi->vpid, &pidns);
	fi->flags = fi->tid != fi->pid;
	fi->pad = 0;
	put_item_hdr(buf, off, IT_FORK, ARG_NONE, sizeof(*fi));
	off += sizeof(struct item) + sizeof(*fi);
	off = put_cgroup(off); /* the child's, inherited from the parent */
	submit(buf, off);
	return 0;
}

/*
 * exit_reaper is the process the children of an exiting process are
 * re-parented to (the kernel's find_new_reaper, with the whole thread group
 * dying): the nearest ancestor in the same pid namespace that is a child
 * subreaper (prctl PR_SET_CHILD_SUBREAPER: containerd-shim, systemd --user),
 * when one was ever set above it, else the namespace's init. Its tgid, 0
 * when unknown.
 */
#define REAPER_DEPTH 16
static __always_inline __u32 exit_reaper(struct task_struct *p)
{
	struct task_struct *reaper = task_upid(p)->ns->child_reaper;
	struct task_struct *t;
	unsigned int level = p->thread_pid->level;
	int i;

	if (BPF_CORE_READ_BITFIELD_PROBED(p->signal, has_child_subreaper)) {
		t = p->real_parent;
		for (i = 0; i < REAPER_DEPTH; i++) {
			if (!t || t->pid == 0 || t->thread_pid->level != level)
				break; /* init_task, or out of the namespace */
			if (BPF_CORE_READ_BITFIELD_PROBED(t->signal, is_child_subreaper)) {
				reaper = t;
				break;
			}
			t = t->real_parent;
		}
		if (i == REAPER_DEPTH)
			return 0; /* a subreaper may be further up: unknown */
	}
	return reaper ? reaper->tgid : 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p, bool group_dead)
{
	struct exit_info *ei;
	__u8 *buf;
	__u32 off = 0;

	buf = proc_rec(KIND_EXIT, &off);
	if (!buf)
		return 0;
	ei = item_room(buf, &off);
	if (!ei)
		return 0;
	ei->code = BPF_CORE_READ(p, exit_code);
	ei->group_dead = group_dead;
	ei->reaper = group_dead ? exit_reaper(p) : 0;
	ei->pad = 0;
	put_item_hdr(buf, off, IT_EXIT, ARG_NONE, sizeof(*ei));
	off += sizeof(struct item) + sizeof(*ei);
	submit(buf, off);
	return 0;
}

/* ---- capability checks --------------------------------------------------- */

/*
 * capability:cap_capable (Linux 6.15+) fires on every capability check the
 * commoncap LSM answers, granted or not, so this program is attached only
 * when the agent asks for capability records. The header's nr is the
 * capability, ret the result (0 granted, -EPERM denied); args[0] and
 * args[1] are the inode numbers of the target user namespace and of the
 * namespace where the kernel's walk ended (the granting one on success);
 * args[2] is 1 when the checked credentials are not the task's own
 * (real_cred): override_creds (overlayfs acting as its mounter, access(2)
 * with the real ids) or another task's or an opener's credentials. The tracepoint carries no
 * audit option: noaudit probes (ns_capable_noaudit, has_capability_noaudit)
 * look like any other check, and so does the CAP_SYS_ADMIN probe
 * cap_vm_enough_memory makes on every mmap, brk and exec.
 */
SEC("tp_btf/cap_capable")
int BPF_PROG(cap_capable, const struct cred *cred, struct user_namespace *target_ns,
	     const struct user_namespace *capable_ns, int cap, int ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct event_hdr *h;

	if (ignored())
		return 0;
	if (cap_once) {
		struct cap_key k = {};
		__u8 one = 1;

		if ((__u64)cred != (__u64)task->real_cred)
			return 0;
		k.exec_id = task->self_exec_id;
		k.tgid = bpf_get_current_pid_tgid() >> 32;
		k.cap = cap;
		k.target_ns = target_ns ? BPF_CORE_READ(target_ns, ns.inum) : 0;
		k.ret = ret;
		if (bpf_map_lookup_elem(&cap_seen, &k))
			return 0;
		bpf_map_update_elem(&cap_seen, &k, &one, BPF_ANY);
	}
	/* A header-only record, straight into the ring like submit_hdr's. */
	h = reserve_rec(sizeof(struct event_hdr));
	if (!h)
		return 0;
	fill_hdr_at(h, KIND_CAP, cap, 0);
	__builtin_memset(h->args, 0, sizeof(h->args));
	if (target_ns)
		h->args[0] = BPF_CORE_READ(target_ns, ns.inum);
	if (capable_ns)
		h->args[1] = BPF_CORE_READ(capable_ns, ns.inum);
	h->args[2] = (__u64)cred != (__u64)task->real_cred;
	h->ret = ret;
	commit_rec(h);
	return 0;
}
