/* breakout tries the container escapes a hardened container must refuse
 * and prints each one's errno (0: it worked). Static and libc-only, so it
 * starts under any profile that lets a glibc program start. It refuses to
 * run outside a test container (on a host, as root, the attempts succeed). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <unistd.h>

static void report(const char *name, long ret) {
	printf("%s %d\n", name, ret < 0 ? errno : 0);
}

int main(void) {
	const char *ok = getenv("PALISADE_BREAKOUT_IN_CONTAINER");
	/* open, not access: the probe must start with the calls any profile
	 * allows (runc itself needs openat and close). */
	int env = open("/.dockerenv", O_RDONLY);
	if (env < 0 || !ok || strcmp(ok, "1") != 0) {
		fprintf(stderr, "breakout runs only in a test container (/.dockerenv and PALISADE_BREAKOUT_IN_CONTAINER=1)\n");
		return 2;
	}
	close(env);
	mkdir("/tmp/breakout-mnt", 0755);
	report("mount", mount("none", "/tmp/breakout-mnt", "tmpfs", 0, ""));
	report("unshare", unshare(CLONE_NEWUTS));
	report("ptrace", syscall(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, 1, 0, 0));
	report("finit_module", syscall(SYS_finit_module, 0, "", 0));
	long r = -1;
	int fd = open("/tmp/suid", O_CREAT | O_WRONLY, 0755);
	if (fd >= 0) {
		close(fd);
		r = chmod("/tmp/suid", 04755);
	}
	report("chmod_setuid", r);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	report("raw_socket", fd);
	if (fd >= 0)
		close(fd);
	struct { unsigned int bytes; int type; unsigned char h[8]; } fh = {8, 1, {2}};
	report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
	report("keyctl", syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, "palisade"));
	unsigned int attr[32] = {2 /* BPF_MAP_TYPE_ARRAY */, 4, 4, 1};
	report("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof attr));
	return 0;
}
