package builtinrules_test

import (
	"encoding/json"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/replay"
	"github.com/palisade-sec/palisade/internal/rules"
	builtinrules "github.com/palisade-sec/palisade/rules"
)

// m is a JSON object in the replay format.
type m map[string]any

var web = m{"id": "0123456789ab", "name": "web", "image": "nginx:1.25", "image_repository": "nginx", "image_tag": "1.25"}

// proc builds a process; parent may be nil.
func proc(name string, pid int, parent m, kv ...any) m {
	p := m{"pid": pid, "vpid": pid, "name": name, "exepath": "/usr/bin/" + name, "uid": 0, "gid": 0, "user": "root"}
	if parent != nil {
		p["parent"] = parent
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i].(string)] = kv[i+1]
	}
	return p
}

var shim = m{"pid": 900, "name": "containerd-shim"}
var shParent = proc("sh", 50, shim)

// ev builds an event; ctr nil means the host.
func ev(typ string, res int, p m, ctr m, kv ...any) string {
	e := m{"type": typ, "res": res, "proc": p}
	if ctr != nil {
		e["container"] = ctr
	}
	for i := 0; i+1 < len(kv); i += 2 {
		e[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(e)
	return string(b)
}

func file(num int, name string) m { return m{"num": num, "type": "file", "name": name} }

func open(name string, flags string, p m, ctr m) string {
	return ev("openat", 3, p, ctr, "args", m{"fd": 3, "dirfd": -100, "name": name, "flags": flags}, "fd", file(3, name))
}

// uringIO is an io_uring read or write (typ) of the file name, protected
// as identity ("" for none); the fd number is unknown (-1).
func uringIO(typ, name, identity string, p m, ctr m) string {
	f := file(-1, name)
	if identity != "" {
		f["identity"] = identity
	}
	return ev(typ, 2, p, ctr, "io_uring", true, "fd", f)
}

func connect(sip string, sport int, p m, ctr m) string {
	return ev("connect", 0, p, ctr, "args", m{"fd": 5}, "fd", m{"num": 5, "type": "ipv4", "l4proto": "tcp", "cip": "172.17.0.2", "cport": 40000, "sip": sip, "sport": sport})
}

func unixConnect(path string, p m, ctr m) string {
	return ev("connect", 0, p, ctr, "args", m{"fd": 5, "addr": path}, "fd", m{"num": 5, "type": "unix", "name": path})
}

func exec(p m, ctr m) string { return ev("execve", 0, p, ctr) }

var cases = []struct {
	rule      string
	fire, not []string
}{
	{"Terminal shell in container",
		// By executable and as a busybox applet, not only by name.
		[]string{exec(proc("bash", 7, shim, "tty", 34816), web),
			exec(proc("notashell", 7, shim, "tty", 34816, "exe", "/tmp/notashell", "exepath", "/bin/bash"), web),
			exec(proc("busybox", 7, shim, "tty", 34816, "exe", "busybox", "exepath", "/bin/busybox", "args", []string{"sh"}), web),
			exec(proc("exe", 7, shim, "tty", 34816, "exe", "-sh", "exepath", "/bin/busybox"), web),
			exec(proc("x", 7, shim, "tty", 34816, "exe", "x", "exepath", "/usr/bin/dash"), web)},
		[]string{exec(proc("bash", 1, shim, "tty", 34816), web), exec(proc("bash", 7, shim), web), exec(proc("bash", 7, nil, "tty", 34816), nil), exec(proc("python", 7, shim, "tty", 34816), web),
			exec(proc("busybox", 7, shim, "tty", 34816, "exe", "busybox", "exepath", "/bin/busybox", "args", []string{"shuf"}), web),
			exec(proc("exe", 7, shim, "tty", 34816, "exe", "cat", "exepath", "/bin/busybox", "args", []string{"sh"}), web),
			exec(proc("ssh", 7, shim, "tty", 34816, "exepath", "/usr/bin/ssh"), web)}},
	{"Write below binary dir",
		[]string{open("/usr/bin/evil", "O_WRONLY|O_CREAT", proc("cp", 8, shParent), web),
			ev("renameat2", 0, proc("mv", 8, shParent), web, "args", m{"olddirfd": -100, "oldpath": "/tmp/x", "newdirfd": -100, "newpath": "/usr/local/bin/x"}),
			ev("symlinkat", 0, proc("ln", 8, shParent), nil, "args", m{"target": "/tmp/x", "linkdirfd": -100, "linkpath": "/bin/ls2"}),
			// A write through io_uring to a binary reached by any descriptor.
			uringIO("write", "/tmp/v", "/usr/bin/victim", proc("uo", 8, shParent), web)},
		[]string{open("/usr/bin/evil", "O_RDONLY", proc("cat", 8, shParent), web), open("/usr/binx/a", "O_WRONLY", proc("cp", 8, shParent), web),
			open("/usr/bin/vim", "O_WRONLY|O_CREAT", proc("dpkg", 8, shParent), nil),
			open("/usr/lib/x.so", "O_WRONLY", proc("cp", 8, proc("apt-get", 7, nil)), nil),
			ev("mkdirat", 0, proc("exe", 8, proc("dockerd", 7, nil)), nil, "args", m{"dirfd": -100, "path": "/usr/bin"}),
			uringIO("read", "/usr/bin/victim", "/usr/bin/victim", proc("uo", 8, shParent), web),
			uringIO("write", "/tmp/v", "", proc("uo", 8, shParent), web)}},
	{"Read sensitive file untrusted",
		[]string{open("/etc/shadow", "O_RDONLY", proc("cat", 8, shParent), web), open("/root/.ssh/id_ed25519", "O_RDONLY", proc("cat", 8, nil), nil),
			// A process calling itself fuse-overlayfs is not the storage driver.
			open("/etc/shadow", "O_RDONLY", proc("fuse-overlayfs", 8, nil, "exepath", "/tmp/fuse-overlayfs"), nil),
			open("/etc/sudoers.d/90-cloud", "O_RDONLY", proc("less", 8, nil), nil), open("/etc/pam.d/common-auth", "O_RDONLY", proc("python3", 8, nil), nil),
			uringIO("read", "/etc/shadow", "/etc/shadow", proc("uo", 8, shParent), web),
			// An io_uring open recorded at submission: no number yet.
			ev("openat", 0, proc("uo", 8, shParent), web, "io_uring", true, "args", m{"dirfd": -100, "name": "/etc/shadow", "flags": "O_RDONLY"}, "fd", file(-1, "/etc/shadow"))},
		[]string{open("/etc/shadow", "O_RDONLY", proc("sshd", 8, nil), nil), open("/etc/passwd", "O_RDONLY", proc("cat", 8, nil), web),
			open("/etc/shadow", "O_RDONLY", proc("fuse-overlayfs", 8, nil), nil),
			open("/root/.ssh/id_ed25519.pub", "O_RDONLY", proc("cat", 8, nil), nil), open("/etc/shadow", "O_WRONLY", proc("cat", 8, nil), nil),
			uringIO("read", "/usr/bin/ls", "/usr/bin/ls", proc("uo", 8, shParent), web),
			ev("openat", -2, proc("uo", 8, shParent), web, "io_uring", true, "args", m{"dirfd": -100, "name": "/etc/shadow", "flags": "O_RDONLY"}, "fd", file(-1, "/etc/shadow")),
			uringIO("write", "/etc/shadow", "/etc/shadow", proc("uo", 8, shParent), web)}},
	{"Unexpected outbound connection destination",
		[]string{connect("203.0.113.9", 443, proc("curl", 9, shParent), web), connect("10.1.2.3", 80, proc("wget", 9, nil), web),
			// A refused blocking connect is an attempt like a non-blocking one.
			ev("connect", -111, proc("nc", 9, nil), web, "args", m{"fd": 5}, "fd", m{"num": 5, "type": "ipv4", "l4proto": "tcp", "cip": "0.0.0.0", "cport": 0, "sip": "172.17.0.9", "sport": 0})},
		[]string{connect("127.0.0.1", 8080, proc("curl", 9, nil), web), connect("203.0.113.9", 443, proc("curl", 9, nil), nil),
			ev("connect", 0, proc("python3", 9, nil), web, "args", m{"fd": 5}, "fd", m{"num": 5, "type": "ipv6", "l4proto": "udp", "cip": "::", "sip": "::", "sport": 0})}},
	{"Container runtime socket access from container",
		[]string{unixConnect("/var/run/docker.sock", proc("docker", 9, shParent), web), unixConnect("/host/run/containerd/containerd.sock", proc("ctr", 9, nil), web)},
		[]string{unixConnect("/var/run/docker.sock", proc("docker", 9, nil), nil), unixConnect("/tmp/app.sock", proc("app", 9, nil), web)}},
	{"Mount in container",
		[]string{ev("mount", -1, proc("mount", 9, shParent), web, "args", m{"dev": "/dev/sda1", "dir": "/mnt", "type": "ext4"}),
			ev("umount2", 0, proc("umount", 9, shParent), web, "args", m{"name": "/mnt"})},
		[]string{ev("mount", 0, proc("runc:[2:INIT]", 1, nil), web, "args", m{"dev": "proc", "dir": "/proc"}), ev("mount", 0, proc("mount", 9, nil), nil)}},
	{"Cgroup release_agent or notify_on_release write",
		[]string{open("/tmp/cgrp/release_agent", "O_WRONLY|O_TRUNC", proc("sh", 9, nil), web), open("/sys/fs/cgroup/rdma/x/notify_on_release", "O_WRONLY", proc("sh", 9, nil), nil)},
		[]string{open("/tmp/cgrp/release_agent", "O_RDONLY", proc("cat", 9, nil), web)}},
	{"Namespace change in container",
		[]string{ev("unshare", -1, proc("unshare", 9, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWNS", "int": 0x20000}}),
			ev("setns", 0, proc("nsenter", 9, shParent), web, "args", m{"fd": 3, "nstype": 0})},
		// A new user namespace is the user-namespace rule's alone.
		[]string{ev("unshare", 0, proc("runc", 9, nil), web), ev("unshare", 0, proc("unshare", 9, nil), nil),
			ev("unshare", -1, proc("unshare", 9, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWUSER|CLONE_NEWNS", "int": 0x10020000}})}},
	{"User namespace created in container",
		// unshare -U, refused or not, and clone with CLONE_NEWUSER seen by the parent.
		[]string{ev("unshare", -1, proc("unshare", 9, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWUSER", "int": 0x10000000}}),
			ev("unshare", 0, proc("exploit", 9, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET", "int": 0x50020000}}),
			ev("clone", 12, proc("exploit", 9, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWUSER|CLONE_VM|CLONE_VFORK", "int": 0x10004100}}),
			ev("clone", -1, proc("exploit", 9, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWUSER", "int": 0x10000000}}),
			ev("clone3", 12, proc("exploit", 9, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWUSER|CLONE_NEWNS", "int": 0x10020000}})},
		// Other namespaces, threads, the child's side of clone, the host,
		// the runtime setting the container up.
		[]string{ev("unshare", 0, proc("unshare", 9, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWNS", "int": 0x20000}}),
			ev("clone", 12, proc("java", 9, shParent), web, "args", m{"flags": m{"str": "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD", "int": 0x10f00}}),
			ev("clone", 0, proc("exploit", 12, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWUSER", "int": 0x10000000}}),
			ev("unshare", 0, proc("chrome", 9, nil), nil, "args", m{"flags": m{"str": "CLONE_NEWUSER", "int": 0x10000000}}),
			ev("clone", 12, proc("runc:[1:CHILD]", 9, nil), web, "args", m{"flags": m{"str": "CLONE_NEWUSER", "int": 0x10000000}}),
			ev("clone3", 0, proc("exploit", 12, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWUSER", "int": 0x10000000}}),
			ev("clone3", 12, proc("exploit", 9, shParent), web, "args", m{"flags": m{"str": "CLONE_NEWNS", "int": 0x20000}})}},
	{"Nsenter launched",
		[]string{exec(proc("nsenter", 9, shParent, "args", []string{"-t", "1", "-m", "sh"}), web), exec(proc("nsenter", 9, nil), nil)},
		[]string{exec(proc("nsente", 9, nil), nil)}},
	{"Ptrace attach in container",
		[]string{ev("ptrace", 0, proc("gdbserver", 9, shParent), web, "args", m{"request": m{"str": "PTRACE_ATTACH", "int": 16}, "pid": 1}),
			ev("process_vm_writev", 0, proc("inject", 9, nil), web, "args", m{"pid": 1})},
		[]string{ev("ptrace", 0, proc("inject", 9, nil), web, "args", m{"request": m{"str": "PTRACE_TRACEME", "int": 0}}),
			ev("ptrace", 0, proc("strace", 9, nil), web, "args", m{"request": m{"str": "PTRACE_ATTACH", "int": 16}}),
			ev("ptrace", 0, proc("inject", 9, nil), nil, "args", m{"request": m{"str": "PTRACE_ATTACH", "int": 16}})}},
	{"Kernel module load from container",
		[]string{ev("finit_module", -1, proc("insmod", 9, shParent), web, "args", m{"fd": 3}), ev("init_module", -1, proc("x", 9, nil), web)},
		[]string{ev("finit_module", 0, proc("modprobe", 9, nil), nil)}},
	{"Open by handle in container",
		[]string{ev("open_by_handle_at", -1, proc("shocker", 9, shParent), web)},
		[]string{ev("open_by_handle_at", 3, proc("fanotify", 9, nil), nil)}},
	{"Host file opened from container",
		[]string{ev("openat", 3, proc("exploit", 9, shParent), web, "args", m{"fd": 3, "name": "/proc/self/exe", "flags": "O_RDONLY"},
			"fd", m{"num": 3, "type": "file", "name": "/usr/bin/runc", "nameraw": "/proc/self/exe", "outside_root": true}),
			ev("open_by_handle_at", 4, proc("shocker", 9, shParent), web, "fd", m{"num": 4, "type": "file", "name": "/etc/shadow", "outside_root": true})},
		[]string{ev("openat", 3, proc("cat", 9, nil), web, "fd", m{"num": 3, "type": "file", "name": "/etc/hosts"}),
			ev("openat", 3, proc("containerd", 9, nil), nil, "fd", m{"num": 3, "type": "file", "name": "/etc/hosts", "outside_root": true}),
			ev("openat", -2, proc("exploit", 9, nil), web, "fd", m{"num": -1, "type": "file", "name": "/x", "outside_root": true})}},
	{"Write below /proc/sys or /sys from container",
		[]string{open("/proc/sys/net/ipv4/ip_forward", "O_WRONLY", proc("sh", 9, nil), web), open("/sys/class/net/eth0/mtu", "O_WRONLY|O_TRUNC", proc("sh", 9, nil), web)},
		[]string{open("/proc/sys/net/ipv4/ip_forward", "O_RDONLY", proc("cat", 9, nil), web), open("/proc/sys/net/ipv4/ip_forward", "O_WRONLY", proc("sysctl", 9, nil), nil),
			open("/proc/sys/net/core/somaxconn", "O_WRONLY", proc("runc:[2:INIT]", 1, nil), web), open("/proc/sysx", "O_WRONLY", proc("sh", 9, nil), web)}},
	{"Write to core_pattern or sysrq-trigger",
		[]string{open("/proc/sys/kernel/core_pattern", "O_WRONLY|O_TRUNC", proc("sh", 9, nil), web), open("/proc/sysrq-trigger", "O_WRONLY", proc("bash", 9, nil), nil),
			open("/proc/sys/kernel/modprobe", "O_WRONLY|O_TRUNC", proc("sh", 9, shParent), web), open("/sys/kernel/uevent_helper", "O_WRONLY", proc("sh", 9, shParent), web),
			open("/proc/sys/kernel/hotplug", "O_RDWR", proc("python3", 9, shParent), web)},
		[]string{open("/proc/sys/kernel/core_pattern", "O_WRONLY", proc("systemd-sysctl", 9, nil), nil), open("/proc/sys/kernel/core_pattern", "O_RDONLY", proc("cat", 9, nil), web),
			open("/proc/sys/kernel/modprobe", "O_RDONLY", proc("modprobe", 9, nil), web), open("/sys/kernel/uevent_seqnum", "O_WRONLY", proc("sh", 9, nil), web),
			// A refused open (read-only /proc/sys in a default container) is no write.
			ev("openat", -30, proc("sh", 9, shParent), web, "args", m{"fd": -30, "dirfd": -100, "name": "/proc/sys/kernel/core_pattern", "flags": "O_WRONLY|O_TRUNC"}, "fd", m{"num": -1, "type": "file", "name": "/proc/sys/kernel/core_pattern"})}},
	{"BPF call from container",
		[]string{ev("bpf", -1, proc("loader", 9, shParent), web, "args", m{"cmd": m{"str": "BPF_PROG_LOAD", "int": 5}}),
			ev("bpf", -1, proc("exploit", 9, shParent), web, "args", m{"cmd": m{"str": "BPF_MAP_CREATE", "int": 0}})},
		[]string{ev("bpf", 3, proc("cilium-agent", 9, nil), nil, "args", m{"cmd": m{"str": "BPF_PROG_LOAD", "int": 5}}),
			ev("bpf", 0, proc("runc:[2:INIT]", 1, nil), web, "args", m{"cmd": m{"str": "BPF_PROG_LOAD", "int": 5}})}},
	{"io_uring setup in container",
		[]string{ev("io_uring_setup", 3, proc("exploit", 9, shParent), web, "fd", m{"num": 3, "type": "io_uring"}),
			ev("io_uring_setup", -1, proc("exploit", 9, shParent), web)},
		[]string{ev("io_uring_setup", 3, proc("qemu", 9, nil), nil, "fd", m{"num": 3, "type": "io_uring"}),
			ev("io_uring_enter", 1, proc("exploit", 9, shParent), web)}},
	{"Kernel keyring call in container",
		[]string{ev("keyctl", -1, proc("exploit", 9, shParent), web, "args", m{"operation": 0}),
			ev("add_key", 12345, proc("exploit", 9, shParent), web), ev("request_key", -126, proc("exploit", 9, shParent), web)},
		// The runtime joining a session keyring, the host's own keyring users.
		[]string{ev("keyctl", 12345, proc("runc:[2:INIT]", 1, nil), web, "args", m{"operation": 1}),
			ev("keyctl", 0, proc("sshd", 9, nil), nil, "args", m{"operation": 1}), ev("add_key", 1, proc("kinit", 9, nil), nil)}},
	{"Set setuid or setgid bit",
		[]string{ev("fchmodat", 0, proc("chmod", 9, shParent), web, "args", m{"dirfd": -100, "filename": "/tmp/sh", "mode": m{"str": "S_IXOTH|S_IROTH|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID", "int": 0o4755}}),
			ev("chmod", 0, proc("chmod", 9, nil), nil, "args", m{"filename": "/tmp/g", "mode": m{"str": "S_IXUSR|S_ISGID", "int": 0o2100}})},
		[]string{ev("fchmodat", 0, proc("chmod", 9, nil), web, "args", m{"dirfd": -100, "filename": "/tmp/sh", "mode": m{"str": "S_IXUSR|S_IWUSR|S_IRUSR", "int": 0o700}}),
			ev("fchmodat", 0, proc("chmod", 9, proc("dpkg", 8, nil)), nil, "args", m{"filename": "/usr/bin/sudo", "mode": m{"str": "S_ISUID", "int": 0o4000}}),
			ev("fchmodat", -1, proc("chmod", 9, nil), web, "args", m{"filename": "/tmp/sh", "mode": m{"str": "S_ISUID", "int": 0o4000}}),
			ev("chmod", 0, proc("fuse-overlayfs", 9, nil), nil, "args", m{"filename": "/var/lib/docker/fuse-overlayfs/x/diff/tmp/suid", "mode": m{"str": "S_ISUID", "int": 0o4000}})}},
	{"Capabilities changed in container",
		[]string{ev("capset", 0, proc("app", 9, shParent), web)},
		[]string{ev("capset", 0, proc("runc:[2:INIT]", 1, nil), web), ev("capset", 0, proc("app", 9, nil), nil)}},
	{"Sudo or su in container",
		[]string{exec(proc("su", 9, shParent), web), exec(proc("sudo", 9, shParent), web)},
		[]string{exec(proc("sudo", 9, nil), nil)}},
	{"Drift detected (exec of a file created in the container)",
		[]string{exec(proc("x", 9, shParent, "exepath", "/tmp/x", "exe_upper_layer", true), web)},
		[]string{exec(proc("x", 9, shParent, "exepath", "/bin/x"), web), exec(proc("x", 9, nil, "exe_upper_layer", true), nil)}},
	{"Fileless or shared-memory execution",
		[]string{exec(proc("x", 9, shParent, "exepath", "/dev/shm/x"), web), exec(proc("3", 9, nil, "exepath", "/memfd:payload (deleted)", "exe_from_memfd", true), nil)},
		[]string{exec(proc("x", 9, shParent, "exepath", "/dev/x"), web)}},
	{"Reverse shell",
		[]string{ev("dup2", 0, proc("bash", 9, shParent), web, "args", m{"oldfd": 3, "newfd": 0}, "fd", m{"num": 3, "type": "ipv4", "cip": "172.17.0.2", "cport": 40000, "sip": "203.0.113.9", "sport": 4444}),
			ev("dup3", 1, proc("sh", 9, nil), nil, "args", m{"oldfd": 3, "newfd": 1}, "fd", m{"num": 3, "type": "ipv6", "cip": "::1", "cport": 40000, "sip": "::1", "sport": 4444})},
		[]string{ev("dup2", 0, proc("bash", 9, nil), web, "args", m{"oldfd": 3, "newfd": 0}, "fd", file(3, "/dev/null")),
			ev("dup2", 5, proc("bash", 9, nil), web, "args", m{"oldfd": 3, "newfd": 5}, "fd", m{"num": 3, "type": "ipv4", "cip": "1.1.1.1", "sip": "2.2.2.2"}),
			ev("dup2", 0, proc("httpd", 9, nil), web, "args", m{"oldfd": 3, "newfd": 0}, "fd", m{"num": 3, "type": "ipv4", "cip": "172.17.0.1", "cport": 51000, "sip": "172.17.0.7", "sport": 8080, "server": true})}},
	{"Crypto-miner pool connection",
		[]string{connect("198.51.100.7", 3333, proc("xmrig", 9, shParent), web), ev("connect", -115, proc("x", 9, nil), nil, "args", m{"fd": 5}, "fd", m{"num": 5, "type": "ipv4", "l4proto": "tcp", "sip": "198.51.100.7", "sport": 14444})},
		[]string{connect("198.51.100.7", 443, proc("curl", 9, nil), web), connect("127.0.0.1", 3333, proc("app", 9, nil), web)}},
	{"Package manager in container",
		[]string{exec(proc("apt-get", 9, shParent, "args", []string{"install", "nmap"}), web), exec(proc("apk", 9, shParent), web)},
		[]string{exec(proc("apt-get", 9, nil), nil), exec(proc("apk", 1, nil), web)}},
	{"Write to user database",
		[]string{open("/etc/passwd", "O_WRONLY|O_APPEND", proc("sh", 9, nil), web), open("/etc/sudoers.d/backdoor", "O_WRONLY|O_CREAT", proc("tee", 9, nil), nil)},
		[]string{open("/etc/passwd", "O_RDONLY", proc("sh", 9, nil), web), open("/etc/shadow", "O_WRONLY", proc("useradd", 9, nil), nil), open("/etc/group", "O_RDWR", proc("x", 9, proc("dpkg", 8, nil)), nil)}},
	{"Write to SSH authorized_keys",
		[]string{open("/root/.ssh/authorized_keys", "O_WRONLY|O_APPEND|O_CREAT", proc("sh", 9, nil), web),
			ev("rename", 0, proc("mv", 9, nil), nil, "args", m{"oldpath": "/tmp/k", "newpath": "/home/a/.ssh/authorized_keys"})},
		[]string{open("/root/.ssh/authorized_keys", "O_RDONLY", proc("sshd", 9, nil), nil),
			open("/var/lib/docker/fuse-overlayfs/0a1b/diff/root/.ssh/authorized_keys", "O_WRONLY|O_APPEND", proc("fuse-overlayfs", 9, nil), nil)}},
	{"Write to cron",
		[]string{open("/etc/cron.d/evil", "O_WRONLY|O_CREAT", proc("sh", 9, nil), web), open("/var/spool/cron/crontabs/root", "O_WRONLY", proc("tee", 9, nil), nil)},
		[]string{open("/var/spool/cron/crontabs/root", "O_WRONLY", proc("crontab", 9, nil), nil), open("/etc/cron.daily/x", "O_RDONLY", proc("run-parts", 9, nil), nil)}},
	{"Log clearing",
		[]string{open("/var/log/auth.log", "O_WRONLY|O_TRUNC", proc("sh", 9, nil), nil), ev("truncate", 0, proc("truncate", 9, nil), web, "args", m{"path": "/var/log/nginx/access.log", "length": 0})},
		[]string{open("/var/log/auth.log", "O_WRONLY|O_APPEND", proc("rsyslogd", 9, nil), nil), open("/var/log/syslog", "O_WRONLY|O_TRUNC", proc("logrotate", 9, nil), nil)}},
	{"Kubernetes service account token read",
		[]string{open("/var/run/secrets/kubernetes.io/serviceaccount/token", "O_RDONLY", proc("cat", 9, shParent), web)},
		[]string{open("/var/run/secrets/kubernetes.io/serviceaccount/token", "O_RDONLY", proc("controller", 9, nil), web)}},
	{"Contact Kubernetes API server from container",
		[]string{connect("10.96.0.1", 6443, proc("curl", 9, shParent), web)},
		[]string{connect("10.96.0.1", 6443, proc("kubectl", 9, nil), web), connect("10.96.0.1", 6443, proc("curl", 9, nil), nil)}},
	{"Contact cloud metadata service from container",
		[]string{connect("169.254.169.254", 80, proc("curl", 9, shParent), web)},
		[]string{connect("169.254.169.254", 80, proc("curl", 9, nil), nil), connect("169.254.169.253", 80, proc("curl", 9, nil), web)}},
	{"Interpreter running a script from a suspicious location",
		[]string{exec(proc("exe", 9, shParent, "exe", "sh", "exepath", "/bin/busybox", "args", []string{"/dev/shm/x.sh"}), web),
			exec(proc("busybox", 9, shParent, "exe", "busybox", "exepath", "/bin/busybox", "args", []string{"sh", "/dev/shm/x.sh"}), web),
			exec(proc("bash", 9, nil, "args", []string{"-x", "/run/user/1000/a"}), nil),
			exec(proc("sh", 9, nil, "args", []string{"-c", "/dev/shm/x.sh"}), nil),
			exec(proc("python3", 9, shParent, "args", []string{"/tmp/p.py"}), web),
			exec(proc("perl", 9, shParent, "cwd", "/dev/shm/", "args", []string{"./x.pl"}), web)},
		[]string{exec(proc("sh", 9, shParent, "args", []string{"-c", "cat /dev/shm/x"}), web),
			exec(proc("bash", 9, nil, "args", []string{"/tmp/build.sh"}), nil),
			exec(proc("cat", 9, nil, "args", []string{"/dev/shm/x.sh"}), web),
			exec(proc("sh", 9, shParent, "cwd", "/dev/shm/", "args", []string{"-c", "ls"}), web)}},
	{"Shell spawned by a server",
		[]string{exec(proc("sh", 9, proc("httpd", 8, nil), "args", []string{"-c", "ls"}), web),
			exec(proc("exe", 9, proc("nginx", 8, nil), "exe", "sh", "exepath", "/bin/busybox"), web)},
		[]string{exec(proc("ls", 9, proc("httpd", 8, nil)), web), exec(proc("sh", 9, proc("cron", 8, nil)), nil)}},
	{"Database server spawned a process",
		[]string{exec(proc("ls", 9, proc("mysqld", 8, nil)), web)},
		[]string{exec(proc("postgres", 9, proc("postgres", 8, nil)), web), exec(proc("ls", 9, proc("mysql", 8, nil)), nil),
			exec(proc("sh", 9, proc("postgres", 8, nil), "args", []string{"-c", "locale -a"}), nil)}},
	{"System user runs an interactive program",
		[]string{exec(proc("login", 9, nil, "user", "daemon", "uid", 1), nil), exec(proc("bash", 9, nil, "user", "www-data", "uid", 33, "tty", 34816), web)},
		[]string{exec(proc("login", 9, nil), nil), exec(proc("bash", 9, nil, "user", "www-data", "uid", 33), web)}},
	{"Search for credentials or private keys",
		[]string{exec(proc("find", 9, nil, "args", []string{"/", "-iname", "id_rsa"}), nil),
			exec(proc("exe", 9, shParent, "exe", "grep", "exepath", "/bin/busybox", "args", []string{"-r", "aws_secret_access_key", "/"}), web),
			exec(proc("find", 9, nil, "args", []string{"/tmp", "-maxdepth", "1", "-iname", ".aws/credentials"}), nil)},
		[]string{exec(proc("find", 9, nil, "args", []string{"/", "-name", "*.go"}), nil), exec(proc("cat", 9, nil, "args", []string{"id_rsa"}), nil)}},
	{"Read SSH information",
		[]string{open("/root/.ssh/known_hosts", "O_RDWR|O_CREAT|O_TRUNC", proc("x", 9, nil), nil), open("/home/a/.ssh/id_ed25519", "O_RDONLY", proc("tar", 9, nil), web)},
		[]string{open("/root/.ssh/known_hosts", "O_RDONLY", proc("ssh", 9, nil), nil), open("/root/.ssh/id_rsa.pub", "O_RDONLY", proc("cat", 9, nil), nil),
			open("/etc/ssh/ssh_config", "O_RDONLY", proc("x", 9, nil), nil)}},
	{"Create symlink over sensitive files",
		[]string{ev("symlinkat", 0, proc("ln", 9, nil), nil, "args", m{"target": "/etc", "linkdirfd": -100, "linkpath": "/tmp/x/etc_link"}),
			ev("symlink", 0, proc("ln", 9, shParent), web, "args", m{"target": "/etc/shadow", "linkpath": "/tmp/s"})},
		[]string{ev("symlinkat", 0, proc("ln", 9, nil), nil, "args", m{"target": "/etc/hosts", "linkdirfd": -100, "linkpath": "/tmp/h"}),
			ev("symlinkat", 0, proc("ln", 9, proc("dpkg", 8, nil)), nil, "args", m{"target": "/etc", "linkdirfd": -100, "linkpath": "/x"}),
			ev("symlinkat", -17, proc("ln", 9, nil), nil, "args", m{"target": "/etc", "linkdirfd": -100, "linkpath": "/tmp/e"})}},
	{"Create hardlink over sensitive files",
		[]string{ev("linkat", 0, proc("ln", 9, nil), nil, "args", m{"olddir": -100, "oldpath": "/etc/shadow", "newdir": -100, "newpath": "/tmp/h"}),
			ev("link", 0, proc("ln", 9, shParent), web, "args", m{"oldpath": "/usr/bin/victim", "newpath": "/tmp/v"}),
			// By the linked file's identity, whatever the names.
			ev("linkat", 0, proc("ln", 9, nil), nil, "args", m{"olddir": -100, "oldpath": "/proc/self/root/etc/shadow", "newdir": -100, "newpath": "/tmp/x"},
				"fd", m{"num": -1, "type": "file", "name": "/tmp/x", "identity": "/etc/shadow", "nlink": 2}),
			ev("linkat", 0, proc("ln", 9, shParent), web, "args", m{"olddir": -100, "oldpath": "/tmp/u/bin/victim", "newdir": -100, "newpath": "/tmp/anything"},
				"fd", m{"num": -1, "type": "file", "name": "/tmp/anything", "identity": "/usr/bin/victim", "nlink": 2}),
			ev("link", 0, proc("ln", 9, nil), nil, "args", m{"oldpath": "/tmp/renamed", "newpath": "/tmp/y"},
				"fd", m{"num": -1, "type": "file", "name": "/tmp/y", "identity": "/etc/sudoers.d/admins", "nlink": 2})},
		[]string{ev("linkat", 0, proc("ln", 9, nil), nil, "args", m{"olddir": -100, "oldpath": "/tmp/a", "newdir": -100, "newpath": "/tmp/b"}),
			ev("linkat", 0, proc("dpkg", 9, nil), nil, "args", m{"olddir": -100, "oldpath": "/usr/bin/x", "newdir": -100, "newpath": "/usr/bin/y"}),
			ev("linkat", 0, proc("dpkg", 9, nil), nil, "args", m{"olddir": -100, "oldpath": "/var/lib/x", "newdir": -100, "newpath": "/var/lib/y"},
				"fd", m{"num": -1, "type": "file", "name": "/var/lib/y", "identity": "/usr/bin/x", "nlink": 2}),
			ev("linkat", -17, proc("ln", 9, nil), nil, "args", m{"olddir": -100, "oldpath": "/tmp/s", "newdir": -100, "newpath": "/tmp/t"},
				"fd", m{"num": -1, "type": "file", "name": "/tmp/t", "identity": "/etc/shadow", "nlink": 2})}},
	{"Shell history deleted or moved away",
		[]string{ev("unlinkat", 0, proc("rm", 9, nil), nil, "args", m{"dirfd": -100, "name": "/root/.bash_history"}),
			ev("rename", 0, proc("mv", 9, nil), web, "args", m{"oldpath": "/root/.ash_history", "newpath": "/tmp/x"}),
			open("/tmp/d/ash_history", "O_WRONLY|O_CREAT|O_TRUNC", proc("x", 9, nil), nil)},
		[]string{ev("rename", 0, proc("bash", 9, nil), nil, "args", m{"oldpath": "/root/.bash_history-01234", "newpath": "/root/.bash_history"}),
			open("/root/.bash_history", "O_WRONLY|O_TRUNC", proc("bash", 9, nil), nil)}},
	{"Bulk data removal tool run",
		[]string{exec(proc("shred", 9, nil, "args", []string{"-u", "/tmp/x"}), nil), exec(proc("exe", 9, shParent, "exe", "shred", "exepath", "/bin/busybox"), web)},
		[]string{exec(proc("rm", 9, nil), nil)}},
	{"Shell configuration file modified",
		[]string{open("/root/.bashrc", "O_WRONLY|O_APPEND", proc("sh", 9, nil), web), open("/etc/profile.d/x.sh", "O_WRONLY|O_CREAT", proc("tee", 9, nil), nil)},
		[]string{open("/root/.bashrc", "O_RDONLY", proc("bash", 9, nil), nil), open("/etc/profile", "O_WRONLY", proc("dpkg", 9, nil), nil), open("/srv/profile", "O_WRONLY", proc("x", 9, nil), nil)}},
	{"Shell configuration file read by a non-shell",
		[]string{open("/root/.bashrc", "O_RDONLY", proc("python3", 9, nil), nil), open("/etc/profile", "O_RDONLY", proc("cat", 9, nil), web)},
		[]string{open("/root/.bashrc", "O_RDONLY", proc("bash", 9, nil), nil), open("/etc/profile", "O_RDONLY", proc("exe", 9, nil, "exe", "-sh", "exepath", "/bin/busybox"), web)}},
	{"Write below etc",
		[]string{open("/etc/ld.so.preload", "O_WRONLY|O_CREAT", proc("sh", 9, nil), web), open("/etc/falco-x", "O_RDWR|O_CREAT|O_EXCL", proc("x", 9, nil), nil)},
		[]string{open("/etc/passwd", "O_WRONLY", proc("sh", 9, nil), web), open("/etc/hosts", "O_RDONLY", proc("sh", 9, nil), web),
			open("/etc/ld.so.cache~", "O_WRONLY|O_CREAT", proc("ldconfig", 9, nil), nil), open("/etcx/a", "O_WRONLY", proc("sh", 9, nil), nil)}},
	{"Write below root",
		[]string{open("/root/evil", "O_RDWR|O_CREAT|O_EXCL", proc("x", 9, nil), nil)},
		[]string{open("/root/.bash_history", "O_WRONLY|O_APPEND", proc("bash", 9, nil), nil), open("/root/.cache/go-build/a", "O_WRONLY|O_CREAT", proc("go", 9, nil), nil),
			open("/root/evil", "O_RDONLY", proc("x", 9, nil), nil)}},
	{"Create files below dev",
		[]string{open("/dev/falco-x", "O_RDWR|O_CREAT|O_EXCL", proc("x", 9, nil), nil), open("/dev/.hidden", "O_WRONLY|O_CREAT|O_TRUNC", proc("sh", 9, nil), web)},
		[]string{open("/dev/null", "O_WRONLY|O_CREAT|O_TRUNC", proc("sh", 9, nil), web), open("/dev/shm/x", "O_WRONLY|O_CREAT", proc("sh", 9, nil), web),
			open("/dev/tty1", "O_WRONLY|O_CREAT", proc("sh", 9, nil), nil)}},
	{"Create hidden files or directories",
		[]string{ev("mkdirat", 0, proc("x", 9, nil), nil, "args", m{"dirfd": -100, "path": "/tmp/.falco-x", "mode": 0o700}),
			open("/dev/shm/.payload", "O_WRONLY|O_CREAT", proc("sh", 9, nil), web)},
		[]string{ev("mkdirat", 0, proc("x", 9, nil), nil, "args", m{"dirfd": -100, "path": "/root/.cache", "mode": 0o700}),
			ev("mkdirat", 0, proc("x", 9, nil), nil, "args", m{"dirfd": -100, "path": "/tmp/.X11-unix/x", "mode": 0o700}),
			open("/tmp/.X11-unix", "O_WRONLY|O_CREAT", proc("Xorg", 9, nil), nil), open("/tmp/x", "O_WRONLY|O_CREAT", proc("sh", 9, nil), web),
			open("/tmp/TestX/001/.0000.jsonl", "O_WRONLY|O_CREAT", proc("x.test", 9, nil), nil),
			ev("mkdirat", 0, proc("x", 9, nil), nil, "args", m{"dirfd": -100, "path": "/var/lib/app/.cache", "mode": 0o700})}},
	{"Dangerous loader environment variable",
		[]string{exec(proc("sh", 9, nil, "env", []string{"GLIBC_TUNABLES=glibc.tune.hwcaps=x"}), nil), exec(proc("su", 9, shParent, "env", []string{"LD_PRELOAD=/dev/shm/x.so"}), web)},
		[]string{exec(proc("sh", 9, nil, "env", []string{"PATH=/bin"}), nil), exec(proc("app", 9, nil, "env", []string{"LD_PRELOAD=/usr/lib/libjemalloc.so"}), nil)}},
	{"Ptrace anti-debug attempt",
		[]string{ev("ptrace", 0, proc("sleep", 9, nil), nil, "args", m{"request": m{"str": "PTRACE_TRACEME", "int": 0}})},
		[]string{ev("ptrace", 0, proc("x", 9, proc("strace", 8, nil)), nil, "args", m{"request": m{"str": "PTRACE_TRACEME", "int": 0}}),
			ev("ptrace", 0, proc("x", 9, nil), nil, "args", m{"request": m{"str": "PTRACE_PEEKDATA", "int": 2}})}},
	{"Ptrace attach on host",
		[]string{ev("ptrace", 0, proc("inject", 9, nil), nil, "args", m{"request": m{"str": "PTRACE_ATTACH", "int": 16}, "pid": 77})},
		[]string{ev("ptrace", 0, proc("gdb", 9, nil), nil, "args", m{"request": m{"str": "PTRACE_ATTACH", "int": 16}}),
			ev("ptrace", 0, proc("inject", 9, nil), web, "args", m{"request": m{"str": "PTRACE_ATTACH", "int": 16}})}},
	{"Non sudo setuid",
		[]string{ev("setuid", -1, proc("child", 9, nil, "user", "daemon", "uid", 1), nil, "args", m{"uid": 0}),
			ev("setresuid", 0, proc("x", 9, nil, "user", "www", "uid", 33), web, "args", m{"ruid": -1, "euid": 0, "suid": -1})},
		[]string{ev("setuid", 0, proc("x", 9, nil), nil, "args", m{"uid": 1}), ev("setuid", 0, proc("sudo", 9, nil, "user", "a", "uid", 1000), nil, "args", m{"uid": 0}),
			ev("setuid", 0, proc("x", 9, nil, "user", "a", "uid", 1000), nil, "args", m{"uid": 1000})}},
	{"Unprivileged delegation of page faults handling to a userspace process",
		[]string{ev("userfaultfd", -1, proc("child", 9, nil, "user", "daemon", "uid", 1), nil), ev("userfaultfd", 3, proc("x", 9, nil), web)},
		[]string{ev("userfaultfd", 3, proc("x", 9, nil), nil), ev("userfaultfd", 3, proc("criu", 9, nil, "uid", 1000), nil)}},
	{"Namespace change on host",
		[]string{ev("setns", -9, proc("x", 9, nil), nil, "args", m{"fd": 0, "nstype": 0})},
		[]string{ev("setns", 0, proc("runc:[1:CHILD]", 9, nil), nil), ev("setns", 0, proc("containerd-shim-runc-v2", 9, nil), nil), ev("setns", 0, proc("x", 9, nil), web),
			ev("setns", 0, proc("exe", 9, proc("dockerd", 8, nil)), nil)}},
	{"User management binary run",
		[]string{exec(proc("vipw", 9, nil), nil), exec(proc("useradd", 9, shParent, "args", []string{"-o", "-u", "0", "x"}), web)},
		[]string{exec(proc("useradd", 9, proc("x", 8, proc("dpkg", 7, nil))), nil), exec(proc("vim", 9, nil), nil)}},
	{"Schedule cron jobs",
		[]string{exec(proc("crontab", 9, nil, "args", []string{"-l"}), nil), exec(proc("exe", 9, shParent, "exe", "crontab", "exepath", "/bin/busybox"), web)},
		[]string{exec(proc("cron", 9, nil), nil)}},
	{"Network tool run in container",
		[]string{exec(proc("nc", 9, shParent), web), exec(proc("exe", 9, shParent, "exe", "nc", "exepath", "/bin/busybox"), web)},
		[]string{exec(proc("nc", 9, nil), nil), exec(proc("curl", 9, shParent), web)}},
	{"Network scanner run on host",
		[]string{exec(proc("nmap", 9, nil), nil)},
		[]string{exec(proc("nmap", 9, nil), web), exec(proc("nc", 9, nil), nil)}},
	{"Crypto-miner started",
		[]string{exec(proc("xmrig", 9, shParent), web), exec(proc("echo", 9, nil, "args", []string{"-o stratum+tcp", "-u user"}), nil)},
		[]string{exec(proc("echo", 9, nil, "args", []string{"stratum"}), nil)}},
	{"Credentials changed without a syscall that grants them",
		[]string{exec(proc("sh", 9, nil, "cred_unexplained", true, "prev_uid", 1000), nil), exec(proc("sh", 9, shParent, "cred_unexplained", true, "prev_uid", 33), web)},
		[]string{exec(proc("su", 9, nil, "prev_uid", 1000), nil), ev("execve", -13, proc("sh", 9, nil, "cred_unexplained", true, "prev_uid", 1000), nil),
			ev("openat", 3, proc("sh", 9, nil, "cred_unexplained", true, "prev_uid", 1000), nil)}},
}

func loadBuiltin(t *testing.T, extra ...rules.File) *rules.Ruleset {
	t.Helper()
	files := append([]rules.File{{Name: builtinrules.Name, Data: builtinrules.YAML}}, extra...)
	rs, res := rules.Load(files, rules.Options{Matching: rules.MatchAll, Hostname: "test"})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	if len(res.Warnings) > 0 {
		t.Errorf("built-in rules have warnings: %v", res.Warnings)
	}
	return rs
}

func parse(t *testing.T, line string) *event.Event {
	t.Helper()
	e, err := replay.NewReader(strings.NewReader(line), "case").Next()
	if err != nil && err != io.EOF {
		t.Fatalf("%v: %s", err, line)
	}
	return e
}

func fired(rs *rules.Ruleset, e *event.Event) []string {
	var out []string
	for _, m := range rs.Eval(e, nil) {
		out = append(out, m.Rule.Name)
	}
	sort.Strings(out)
	return out
}

func TestEveryBuiltinRuleFiresAndHasNearMisses(t *testing.T) {
	rs := loadBuiltin(t)
	covered := map[string]bool{}
	for _, tc := range cases {
		if _, ok := rs.Rule(tc.rule); !ok {
			t.Errorf("no built-in rule %q", tc.rule)
			continue
		}
		covered[tc.rule] = true
		if len(tc.fire) == 0 || len(tc.not) == 0 {
			t.Errorf("%s: needs events that fire it and near-misses", tc.rule)
		}
		for _, line := range tc.fire {
			if got := fired(rs, parse(t, line)); !contains(got, tc.rule) {
				t.Errorf("%s: did not fire on %s (fired %v)", tc.rule, line, got)
			}
		}
		for _, line := range tc.not {
			if got := fired(rs, parse(t, line)); contains(got, tc.rule) {
				t.Errorf("%s: fired on near-miss %s", tc.rule, line)
			}
		}
	}
	for _, r := range rs.Rules {
		if !covered[r.Name] {
			t.Errorf("rule %q has no replay cases", r.Name)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Every rule carries what the issue asks of an alert: MITRE tags, and an
// output naming the container, the process and its parent, and the user.
func TestBuiltinRuleShape(t *testing.T) {
	rs := loadBuiltin(t)
	for _, r := range rs.Rules {
		mitre := false
		for _, tag := range r.Tags {
			mitre = mitre || strings.HasPrefix(tag, "mitre_") || strings.HasPrefix(tag, "T1")
		}
		if !mitre || strings.TrimSpace(r.Desc) == "" {
			t.Errorf("%s: needs desc and MITRE tags", r.Name)
		}
		for _, f := range []string{"%container.id", "%container.name", "%container.image.repository", "%proc.name", "%proc.pname", "%user.name"} {
			if !strings.Contains(r.Output, f) && !(f == "%proc.name" && strings.Contains(r.Output, "%proc.cmdline")) {
				t.Errorf("%s: output lacks %s", r.Name, f)
			}
		}
	}
}

// Loopback is exempt only through the list: replacing it makes loopback
// connections alert.
func TestOutboundListOverride(t *testing.T) {
	over := rules.File{Name: "tune.yaml", Data: []byte("- list: allowed_outbound_destination_networks\n  items: [10.0.0.0/8]\n  override:\n    items: replace\n")}
	rs := loadBuiltin(t, over)
	lo := parse(t, connect("127.0.0.1", 8080, proc("curl", 9, nil), web))
	ten := parse(t, connect("10.1.2.3", 80, proc("curl", 9, nil), web))
	if !contains(fired(rs, lo), "Unexpected outbound connection destination") || contains(fired(rs, ten), "Unexpected outbound connection destination") {
		t.Error("override of allowed_outbound_destination_networks not applied")
	}
}

// Rules with an exception block take user values by appending to it.
func TestExceptionAppend(t *testing.T) {
	over := rules.File{Name: "tune.yaml", Data: []byte("- rule: Write below etc\n  exceptions:\n    - name: writer_and_path\n      values:\n        - [confd, /etc/app/]\n  override:\n    exceptions: append\n")}
	rs := loadBuiltin(t, over)
	allowed := parse(t, open("/etc/app/app.conf", "O_WRONLY|O_CREAT", proc("confd", 9, nil), nil))
	other := parse(t, open("/etc/ld.so.preload", "O_WRONLY|O_CREAT", proc("confd", 9, nil), nil))
	if contains(fired(rs, allowed), "Write below etc") || !contains(fired(rs, other), "Write below etc") {
		t.Errorf("exception not applied as written: allowed fired %v, other fired %v", fired(rs, allowed), fired(rs, other))
	}
}

// The exploit-precursor rules are tuned through their user_known_ lists:
// a program appended there is quiet, another one doing the same is not.
func TestPrecursorListsAppend(t *testing.T) {
	for _, tc := range []struct{ list, rule, known, event string }{
		{"user_known_io_uring_users", "io_uring setup in container", "scylla", `{"type":"io_uring_setup","res":3,"proc":{"pid":9,"name":"%s"},"container":{"id":"0123456789ab"}}`},
		{"user_known_keyring_users", "Kernel keyring call in container", "kinit", `{"type":"keyctl","res":0,"proc":{"pid":9,"name":"%s"},"container":{"id":"0123456789ab"}}`},
		{"user_known_userns_creators", "User namespace created in container", "bwrap", `{"type":"unshare","res":0,"args":{"flags":{"str":"CLONE_NEWUSER","int":268435456}},"proc":{"pid":9,"name":"%s"},"container":{"id":"0123456789ab"}}`},
	} {
		over := rules.File{Name: "tune.yaml", Data: []byte("- list: " + tc.list + "\n  items: [" + tc.known + "]\n  override:\n    items: append\n")}
		rs := loadBuiltin(t, over)
		known := parse(t, strings.Replace(tc.event, "%s", tc.known, 1))
		other := parse(t, strings.Replace(tc.event, "%s", "exploit", 1))
		if contains(fired(rs, known), tc.rule) || !contains(fired(rs, other), tc.rule) {
			t.Errorf("%s: known fired %v, other fired %v", tc.list, fired(rs, known), fired(rs, other))
		}
	}
}
