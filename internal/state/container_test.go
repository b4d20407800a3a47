package state

import (
	"context"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

// knownDaemon is an engine of one runtime that knows containers by id.
type knownDaemon struct {
	runtime string
	names   map[string]string
}

func (d knownDaemon) Lookup(ctx context.Context, ref container.Ref) (*event.Container, error) {
	if n, ok := d.names[ref.ID]; ok {
		return &event.Container{ID: ref.ShortID(), Name: n}, nil
	}
	return nil, cerrdefs.ErrNotFound
}
func (d knownDaemon) Ping(context.Context) error { return nil }
func (d knownDaemon) Runtime() string            { return d.runtime }
func (d knownDaemon) Owner() int                 { return -1 }
func (d knownDaemon) Endpoint() string           { return d.runtime + " test" }

// Each exec's cgroup names the process's container through the resolver:
// a kubepods path keeps its pod uid when no engine knows the id, and a
// containerd /<namespace>/<name> is a container only if containerd knows it.
func TestTableContainers(t *testing.T) {
	hexID := strings.Repeat("5", 64)
	uid := "b2d6a0c9-95d3-4372-80e0-bce249a26f95"
	r := container.NewResolver(nil, knownDaemon{container.RuntimeContainerd, map[string]string{"redis-1": "redis-1"}})
	root := t.TempDir()
	fakeProc(t, root, 10, "sh", 1, "root:x:0:0:root:/root:/bin/sh\n")
	tab := New(Options{ProcRoot: root, NativeArc: "x86_64", Resolver: r})
	ctx := context.Background()
	if err := tab.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	exec := func(cgroup string) *event.Container {
		t.Helper()
		var e event.Event
		tab.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExec, PID: 10, TID: 10, Comm: "sh", Cgroup: cgroup,
			Exec: &ebpf.ExecInfo{Filename: "/bin/sh", Argv: []string{"sh"}, Exe: "/bin/sh"}}, &e)
		p, _ := tab.Process(10)
		return p.Container
	}
	if c := exec("/kubepods/besteffort/pod" + uid + "/" + hexID); c.IsHost() || c.ID != hexID[:12] || c.Type != container.RuntimeCRI || c.K8sPodUID != uid || c.Name != "" {
		t.Errorf("CRI path, no engine knows it: %+v", c)
	}
	if c := exec("/default/redis-1"); c.IsHost() || c.Name != "redis-1" || c.Type != container.RuntimeContainerd {
		t.Errorf("ctr container known to containerd: %+v", c)
	}
	if c := exec("/default/not-a-container"); !c.IsHost() {
		t.Errorf("a two-level cgroup no engine knows: %+v, want the host", c)
	}
	if c := exec("/"); !c.IsHost() {
		t.Errorf("root cgroup: %+v", c)
	}
	// Without a resolver the layout alone decides: ids stay, guesses do not.
	bare := New(Options{ProcRoot: root, NativeArc: "x86_64"})
	bare.Bootstrap(ctx)
	var e event.Event
	bare.Apply(ctx, &ebpf.Record{Kind: ebpf.KindExec, PID: 10, TID: 10, Comm: "sh", Cgroup: "/default/redis-1",
		Exec: &ebpf.ExecInfo{Filename: "/bin/sh", Argv: []string{"sh"}, Exe: "/bin/sh"}}, &e)
	if p, _ := bare.Process(10); !p.Container.IsHost() {
		t.Errorf("no resolver, unverified layout: %+v, want the host", p.Container)
	}
}
