package state

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

// rootlessDaemon is a rootless Docker daemon on cgroup v1: its containers
// have no cgroup, and it lists their inits.
type rootlessDaemon struct {
	names map[string]string // full id -> name
	inits map[string]int    // full id -> host pid of init
}

func (d rootlessDaemon) Lookup(ctx context.Context, ref container.Ref) (*event.Container, error) {
	if n, ok := d.names[ref.ID]; ok {
		return &event.Container{ID: ref.ShortID(), Name: n, Image: "busybox"}, nil
	}
	return nil, cerrdefs.ErrNotFound
}
func (d rootlessDaemon) Ping(context.Context) error { return nil }
func (d rootlessDaemon) Runtime() string            { return container.RuntimeDocker }
func (d rootlessDaemon) Owner() int                 { return 1001 }
func (d rootlessDaemon) Endpoint() string           { return "rootless docker test" }
func (d rootlessDaemon) InitPIDs(context.Context) (map[string]int, error) {
	return d.inits, nil
}

// fakeNS gives root/PID (or root/self) namespace files: plain files whose
// inodes stand for the namespaces. It returns the pid and mount ones.
func fakeNS(t *testing.T, root, pid string) (pidNS, mntNS uint32) {
	t.Helper()
	dir := filepath.Join(root, pid, "ns")
	os.MkdirAll(dir, 0o755)
	ino := func(kind string) uint32 {
		p := filepath.Join(dir, kind)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(fi.Sys().(*syscall.Stat_t).Ino)
	}
	return ino("pid"), ino("mnt")
}

// TestRootlessByNamespace: a rootless container's processes sit in the
// user's cgroup (cgroup v1, driver none); the table ties them to the
// container by its init's namespaces, whether read from /proc, told by an
// exec record, or inherited through fork, and leaves host processes alone.
func TestRootlessByNamespace(t *testing.T) {
	id := strings.Repeat("ab", 32)
	root := t.TempDir()
	hostPid, hostMnt := fakeNS(t, root, "self")
	fakeProc(t, root, 10, "bash", 1, "root:x:0:0:root:/root:/bin/bash\n")
	fakeNS(t, root, "10")
	os.Remove(filepath.Join(root, "10", "ns", "pid")) // pid 10 is on the host: give it the host's inodes
	os.Link(filepath.Join(root, "self", "ns", "pid"), filepath.Join(root, "10", "ns", "pid"))
	os.Remove(filepath.Join(root, "10", "ns", "mnt"))
	os.Link(filepath.Join(root, "self", "ns", "mnt"), filepath.Join(root, "10", "ns", "mnt"))
	fakeProc(t, root, 20, "sleep", 1, "root:x:0:0:root:/root:/bin/sh\n")
	ctrPid, ctrMnt := fakeNS(t, root, "20")

	r := container.NewResolver(nil, rootlessDaemon{names: map[string]string{id: "web"}, inits: map[string]int{id: 20}})
	r.UseProc(root)
	tab := New(Options{ProcRoot: root, NativeArc: "x86_64", Resolver: r})
	ctx := context.Background()
	if err := tab.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	named := func(what string, pid uint32, want string) {
		t.Helper()
		p, ok := tab.Process(pid)
		switch {
		case !ok:
			t.Errorf("%s: pid %d not tracked", what, pid)
		case want == "" && !p.Container.IsHost():
			t.Errorf("%s: container %+v, want the host", what, p.Container)
		case want != "" && (p.Container.Name != want || p.Container.ID != id[:12] || p.Container.Type != "docker"):
			t.Errorf("%s: container %+v, want %s (%s, docker)", what, p.Container, want, id[:12])
		}
	}
	named("host shell read from /proc", 10, "")
	named("container init read from /proc", 20, "web")

	var e event.Event
	exec := func(pid uint32, pidNS, mntNS uint32) {
		tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExec, PID: pid, TID: pid, Comm: "sh", Cgroup: "/", PidNS: pidNS, MntNS: mntNS,
			Exec: &ebpf.ExecInfo{Filename: "/bin/sh", Argv: []string{"sh"}, Exe: "/bin/sh"}}, &e)
	}
	// `docker exec`: a process that joined the container's namespaces.
	exec(10, ctrPid, ctrMnt)
	named("exec in the container's namespaces", 10, "web")
	exec(10, hostPid, hostMnt)
	named("exec back on the host", 10, "")

	// A fork in the container (lean record: no namespaces), then its exec.
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindFork, PID: 20, TID: 20, Cgroup: "/", Fork: &ebpf.ForkInfo{PID: 21, TID: 21, VPID: 7, VTID: 7}}, &e)
	named("child forked in the container", 21, "web")
	exec(21, ctrPid, ctrMnt)
	named("its exec", 21, "web")
}

// TestRootlessByShim: a container's first processes run before its engine
// lists it as running, so its namespaces are not known yet; they descend
// from the container's shim, whose command line names the container, and
// the engine confirms it. A forged shim naming an id no engine knows
// proves nothing.
func TestRootlessByShim(t *testing.T) {
	id := strings.Repeat("cd", 32)
	root := t.TempDir()
	fakeNS(t, root, "self")
	r := container.NewResolver(nil, rootlessDaemon{names: map[string]string{id: "web"}, inits: map[string]int{}})
	r.UseProc(root)
	tab := New(Options{ProcRoot: root, NativeArc: "x86_64", Resolver: r})
	ctx := context.Background()
	var e event.Event
	exec := func(pid, ppid uint32, pidNS uint32, comm string, argv ...string) *event.Process {
		tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExec, PID: pid, TID: pid, PPID: ppid, Comm: comm, Cgroup: "/", PidNS: pidNS, MntNS: pidNS + 1,
			EUID: 1001, Exec: &ebpf.ExecInfo{Filename: argv[0], Argv: argv, Exe: argv[0]}}, &e)
		p, _ := tab.Process(pid)
		return p
	}
	shim := exec(50, 1, 0, "containerd-shim", "containerd-shim-runc-v2", "-namespace", "moby", "-id", id, "-address", "/run/user/1001/x.sock")
	if !shim.Container.IsHost() {
		t.Errorf("the shim itself: %+v, want the host", shim.Container)
	}
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindFork, PID: 50, TID: 50, Fork: &ebpf.ForkInfo{PID: 51, TID: 51, VPID: 1, VTID: 1}}, &e)
	if p := exec(51, 50, 4026532999, "sh", "/bin/sh", "-c", "cat /etc/shadow"); p.Container.Name != "web" || p.Container.Type != "docker" {
		t.Errorf("container init under the shim: %+v, want web (docker)", p.Container)
	}

	exec(60, 1, 0, "containerd-shim", "containerd-shim", "-namespace", "moby", "-id", strings.Repeat("ef", 32))
	tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindFork, PID: 60, TID: 60, Fork: &ebpf.ForkInfo{PID: 61, TID: 61, VPID: 1, VTID: 1}}, &e)
	if p := exec(61, 60, 4026532998, "sh", "/bin/sh"); !p.Container.IsHost() {
		t.Errorf("under a shim naming an unknown id: %+v, want the host", p.Container)
	}
}
