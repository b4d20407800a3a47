package container

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/palisade-sec/palisade/internal/event"
)

// fakeDaemon knows containers by full id, reports their creation and
// destruction on events, and can be down (refusing) or hung (never
// answering until ctx ends).
type fakeDaemon struct {
	runtime  string
	owner    int
	endpoint string         // Endpoint's answer, when set
	events   chan [2]string // {"create"|"destroy", id}; "said:NAME" in place of "create" reports the name with the event

	mu         sync.Mutex
	containers map[string]string // full id -> name
	calls      int
	down, hung bool
}

func newFake(runtime string, owner int, containers map[string]string) *fakeDaemon {
	if containers == nil {
		containers = map[string]string{}
	}
	return &fakeDaemon{runtime: runtime, owner: owner, containers: containers, events: make(chan [2]string)}
}

func (f *fakeDaemon) Runtime() string { return f.runtime }
func (f *fakeDaemon) Owner() int      { return f.owner }
func (f *fakeDaemon) Endpoint() string {
	if f.endpoint != "" {
		return f.endpoint
	}
	return f.runtime + " fake"
}

func (f *fakeDaemon) state() (down, hung bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down, f.hung
}

func (f *fakeDaemon) set(down, hung bool) {
	f.mu.Lock()
	f.down, f.hung = down, hung
	f.mu.Unlock()
}

func (f *fakeDaemon) Ping(ctx context.Context) error {
	down, hung := f.state()
	if hung {
		<-ctx.Done()
		return ctx.Err()
	}
	if down {
		return errors.New("connection refused")
	}
	return nil
}

func (f *fakeDaemon) Lookup(ctx context.Context, ref Ref) (*event.Container, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if err := f.Ping(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for full, name := range f.containers {
		if strings.HasPrefix(full, ref.ID) {
			return &event.Container{ID: shortID(full), Name: name}, nil
		}
	}
	return nil, cerrdefs.ErrNotFound.WithMessage("no such container: " + ref.ID)
}

func (f *fakeDaemon) Watch(ctx context.Context, created func(Ref, *event.Container), destroyed func(Ref)) error {
	for {
		select {
		case ev := <-f.events:
			if ev[0] == "create" {
				created(Ref{ID: ev[1]}, nil)
			} else if name, ok := strings.CutPrefix(ev[0], "said:"); ok {
				created(Ref{ID: ev[1]}, &event.Container{ID: shortID(ev[1]), Name: name})
			} else {
				destroyed(Ref{ID: ev[1]})
			}
		case <-ctx.Done():
			return nil
		}
	}
}

func (f *fakeDaemon) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func TestResolverCaches(t *testing.T) {
	f := newFake(RuntimeDocker, -1, map[string]string{hexID: "web"})
	r := NewResolver(nil, f)
	for i := 0; i < 3; i++ {
		if c := r.Get(context.Background(), Ref{ID: hexID, Runtime: RuntimeDocker}); c.Name != "web" || c.Type != "docker" || c.ID != hexID[:12] {
			t.Fatalf("got %+v", c)
		}
	}
	if f.calls != 1 {
		t.Errorf("%d lookups, want 1", f.calls)
	}
	// Unknown to the engine: id, runtime and pod uid stay, names are <NA>,
	// and the miss is remembered for the retry interval.
	r.retry = time.Hour
	other := strings.Repeat("7", 64)
	for i := 0; i < 3; i++ {
		c := r.Get(context.Background(), Ref{ID: other, Runtime: RuntimeCRI, PodUID: "pod-1"})
		if c.ID != other[:12] || c.Name != "" || c.Type != RuntimeCRI || c.K8sPodUID != "pod-1" {
			t.Fatalf("unknown container: %+v", c)
		}
	}
	if f.calls != 2 {
		t.Errorf("a miss was asked again within the retry window: %d lookups", f.calls)
	}
}

// Each lookup goes to the engines of the runtime the cgroup names, the
// rootless owner's first; the type is the engine's that knows the id.
func TestResolverRoutes(t *testing.T) {
	podmanID, rootlessID, criID := strings.Repeat("1", 64), strings.Repeat("2", 64), strings.Repeat("3", 64)
	docker := newFake(RuntimeDocker, -1, map[string]string{hexID: "rootful", criID: "k8s_app"})
	rootless := newFake(RuntimeDocker, 1000, map[string]string{rootlessID: "rootless"})
	podman := newFake(RuntimePodman, -1, map[string]string{podmanID: "pod-web"})
	r := NewResolver(nil, docker, podman, rootless)
	ctx := context.Background()
	for _, tc := range []struct {
		ref         Ref
		name, typ   string
		asked       []*fakeDaemon
		notAsked    []*fakeDaemon
		description string
	}{
		{Ref{ID: podmanID, Runtime: RuntimePodman, User: -1}, "pod-web", RuntimePodman, []*fakeDaemon{podman}, []*fakeDaemon{docker, rootless}, "podman goes to podman only"},
		{Ref{ID: rootlessID, Runtime: RuntimeDocker, User: 1000}, "rootless", RuntimeDocker, []*fakeDaemon{rootless}, []*fakeDaemon{docker, podman}, "the owner's daemon first"},
		{Ref{ID: criID, Runtime: RuntimeCRI, User: -1}, "k8s_app", RuntimeDocker, []*fakeDaemon{docker}, []*fakeDaemon{podman}, "cri: whichever CRI engine knows it"},
		{Ref{ID: hexID, Runtime: RuntimeUnknown, User: -1}, "rootful", RuntimeDocker, []*fakeDaemon{docker}, nil, "unknown: every engine"},
	} {
		before := map[*fakeDaemon]int{docker: docker.callCount(), podman: podman.callCount(), rootless: rootless.callCount()}
		c := r.Get(ctx, tc.ref)
		if c.Name != tc.name || c.Type != tc.typ {
			t.Errorf("%s: got %+v, want %s of type %s", tc.description, c, tc.name, tc.typ)
		}
		for _, e := range tc.asked {
			if e.callCount() == before[e] {
				t.Errorf("%s: %s not asked", tc.description, e.Endpoint())
			}
		}
		for _, e := range tc.notAsked {
			if e.callCount() != before[e] {
				t.Errorf("%s: %s asked", tc.description, e.Endpoint())
			}
		}
	}
}

// An engine that hangs costs one timeout, then is skipped (its containers
// keep ids with <NA> names, with one warning) until a ping says it is
// back; then names return.
func TestResolverHungEngine(t *testing.T) {
	ids := []string{strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)}
	f := newFake(RuntimePodman, -1, map[string]string{ids[0]: "one", ids[1]: "two", ids[2]: "three"})
	var log bytes.Buffer
	var logMu sync.Mutex
	r := NewResolver(lockedWriter{&logMu, &log}, f)
	r.timeout, r.retry = 100*time.Millisecond, 50*time.Millisecond
	f.set(false, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	start := time.Now()
	if c := r.Get(ctx, Ref{ID: ids[0], Runtime: RuntimePodman}); c.Name != "" || c.ID != ids[0][:12] || c.Type != RuntimePodman {
		t.Fatalf("hung engine: %+v", c)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("first lookup took %v, want about the timeout", d)
	}
	calls := f.callCount()
	start = time.Now()
	for _, id := range ids[1:] {
		if c := r.Get(ctx, Ref{ID: id, Runtime: RuntimePodman}); c.Name != "" {
			t.Fatalf("hung engine answered: %+v", c)
		}
	}
	if d := time.Since(start); d > 50*time.Millisecond || f.callCount() != calls {
		t.Errorf("a down engine was asked again (%d calls, %v)", f.callCount()-calls, d)
	}
	r.Start(ctx, nil)
	time.Sleep(300 * time.Millisecond) // pings keep failing: still one warning
	f.set(false, false)
	deadline := time.Now().Add(3 * time.Second)
	for r.Get(ctx, Ref{ID: ids[0], Runtime: RuntimePodman}).Name != "one" {
		if time.Now().After(deadline) {
			t.Fatal("names did not return after the engine came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	logMu.Lock()
	out := log.String()
	logMu.Unlock()
	if n := strings.Count(out, "not answering"); n != 1 || !strings.Contains(out, "answers again") {
		t.Errorf("want one warning and one recovery note, got:\n%s", out)
	}
}

// containerd's own API and its CRI serve one socket: when the daemon
// dies, one warning says so, and one note when it is back.
func TestResolverOneWarningPerSocket(t *testing.T) {
	api, cri := newFake(RuntimeContainerd, -1, nil), newFake(RuntimeContainerd, -1, nil)
	api.endpoint, cri.endpoint = "containerd at unix:///run/c.sock", "CRI at unix:///run/c.sock"
	other := newFake(RuntimePodman, -1, nil)
	var log bytes.Buffer
	var logMu sync.Mutex
	r := NewResolver(lockedWriter{&logMu, &log}, cri, api, other)
	r.timeout, r.retry = 50*time.Millisecond, 20*time.Millisecond
	api.set(true, false)
	cri.set(true, false)
	other.set(true, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Start(ctx, nil)
	time.Sleep(200 * time.Millisecond)
	api.set(false, false)
	cri.set(false, false)
	time.Sleep(200 * time.Millisecond)
	cancel()
	logMu.Lock()
	out := log.String()
	logMu.Unlock()
	if strings.Count(out, "unix:///run/c.sock not answering") != 1 || strings.Count(out, "unix:///run/c.sock answers again") != 1 ||
		strings.Count(out, "podman fake not answering") != 1 {
		t.Errorf("want one warning and one note for the socket, one warning for podman; got:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// containerd's /<namespace>/<name> is a container only when an engine
// knows it.
func TestResolverUnverified(t *testing.T) {
	ref := Ref{ID: "redis-1", Namespace: "default", Runtime: RuntimeContainerd, User: -1, Unverified: true}
	if c := NewResolver(nil).Get(context.Background(), ref); !c.IsHost() {
		t.Errorf("no engine: %+v, want the host", c)
	}
	ctrd := newFake(RuntimeContainerd, -1, map[string]string{"redis-1": "redis-1"})
	if c := NewResolver(nil, ctrd).Get(context.Background(), ref); c.IsHost() || c.Name != "redis-1" || c.Type != RuntimeContainerd {
		t.Errorf("known to containerd: %+v", c)
	}
}

// A container created, run and removed before the agent's first lookup
// still resolves through Follow; a destroyed one is dropped after linger.
func TestResolverFollow(t *testing.T) {
	full := strings.Repeat("ab", 32)
	e := newFake(RuntimePodman, -1, map[string]string{full: "short-lived"})
	r := NewResolver(nil, e)
	r.linger = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { r.Follow(ctx, e, e); close(done) }()
	e.events <- [2]string{"create", full}
	e.events <- [2]string{"create", strings.Repeat("cd", 32)} // gone before its inspect: not cached
	// Gone before its inspect, but the event named it (podman's late events).
	said := strings.Repeat("9a", 32)
	e.events <- [2]string{"said:from-event", said}
	e.mu.Lock()
	delete(e.containers, full) // run --rm: removed before the agent looks
	e.mu.Unlock()
	if c := r.Get(ctx, Ref{ID: full, Runtime: RuntimePodman}); c.Name != "short-lived" || c.ID != full[:12] || c.Type != RuntimePodman {
		t.Fatalf("after removal: %+v, want the container seen at creation", c)
	}
	if c := r.Get(ctx, Ref{ID: said, Runtime: RuntimePodman}); c.Name != "from-event" || c.Type != RuntimePodman {
		t.Errorf("a container gone before its inspect: %+v, want the name its event gave", c)
	}
	e.events <- [2]string{"destroy", full}
	deadline := time.Now().Add(2 * time.Second)
	for {
		r.mu.Lock()
		_, cached := r.cache[full[:12]]
		r.mu.Unlock()
		if !cached {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("destroyed container still cached after its linger")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

// flakyFeed fails its first Watch (a daemon restarting), then reports one
// creation and waits.
type flakyFeed struct {
	mu    sync.Mutex
	calls int
	id    string
}

func (f *flakyFeed) Watch(ctx context.Context, created func(Ref, *event.Container), destroyed func(Ref)) error {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n == 1 {
		return errors.New("connection refused")
	}
	created(Ref{ID: f.id}, nil)
	<-ctx.Done()
	return nil
}

// A broken event stream is reopened after the retry delay.
func TestResolverFollowReconnects(t *testing.T) {
	full := strings.Repeat("ef", 32)
	e := newFake(RuntimeDocker, -1, map[string]string{full: "after-restart"})
	feed := &flakyFeed{id: full}
	r := NewResolver(nil, e)
	r.retry = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Follow(ctx, e, feed); close(done) }()
	deadline := time.Now().Add(2 * time.Second)
	for {
		r.mu.Lock()
		ent := r.cache[full[:12]]
		r.mu.Unlock()
		if ent != nil && ent.c.Name == "after-restart" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no creation seen after the stream broke once (%d watches)", feed.calls)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Follow did not return when its context ended")
	}
}

func TestFindSockets(t *testing.T) {
	root := t.TempDir()
	listen := func(p string) string {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("unix", full)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return "unix://" + full
	}
	docker := listen("/var/run/docker.sock")
	podman := listen("/run/podman/podman.sock")
	rootless := listen("/run/user/1000/docker.sock")
	rootlessPodman := listen("/run/user/1001/podman/podman.sock")
	ctrd := listen("/run/containerd/containerd.sock")
	dockersCtrd := listen("/var/run/docker/containerd/containerd.sock")
	ownCtrd := listen("/srv/ctrd.sock")
	crio := listen("/var/run/crio/crio.sock")
	k3s := listen("/run/k3s/containerd/containerd.sock")
	endpoint := listen("/srv/cri.sock")
	// Not a socket: a daemon that left a file behind.
	os.MkdirAll(filepath.Join(root, "/run/user/1002"), 0o755)
	os.WriteFile(filepath.Join(root, "/run/user/1002/docker.sock"), nil, 0o600)
	os.Symlink(filepath.Join(root, "/var/run/docker.sock"), filepath.Join(root, "/run/docker.sock"))
	env := map[string]string{"DOCKER_HOST": docker, "CONTAINER_HOST": "tcp://10.0.0.1:8888", "CONTAINERD_ADDRESS": strings.TrimPrefix(ownCtrd, "unix://"),
		"CONTAINER_RUNTIME_ENDPOINT": endpoint}
	got := FindSockets(root, func(k string) string { return env[k] })
	want := []Socket{
		{docker, RuntimeDocker, -1, ""},
		{"tcp://10.0.0.1:8888", RuntimePodman, -1, ""},
		{ownCtrd, RuntimeContainerd, -1, ""},
		{podman, RuntimePodman, -1, ""},
		{ctrd, RuntimeContainerd, -1, ""},
		{dockersCtrd, RuntimeContainerd, -1, ""},
		{k3s, RuntimeContainerd, -1, ""},
		// CRI endpoints: crictl's variable, containerd's sockets (whose CRI
		// Discover asks about), CRI-O's; never Docker's own containerd.
		{endpoint, RuntimeCRI, -1, RuntimeCRI},
		{ownCtrd, RuntimeCRI, -1, RuntimeContainerd},
		{crio, RuntimeCRI, -1, RuntimeCRIO},
		{ctrd, RuntimeCRI, -1, RuntimeContainerd},
		{k3s, RuntimeCRI, -1, RuntimeContainerd},
		{rootless, RuntimeDocker, 1000, ""},
		{rootlessPodman, RuntimePodman, 1001, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("socket %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// --cri-socket: after crictl's variable, a path or an address.
	flagged := listen("/srv/flag.sock")
	got = findSockets(root, func(string) string { return "" }, []string{strings.TrimPrefix(flagged, "unix://"), endpoint})
	var cri []Socket
	for _, s := range got {
		if s.Runtime == RuntimeCRI {
			cri = append(cri, s)
		}
	}
	if len(cri) < 2 || cri[0] != (Socket{flagged, RuntimeCRI, -1, RuntimeCRI}) || cri[1] != (Socket{endpoint, RuntimeCRI, -1, RuntimeCRI}) {
		t.Errorf("with --cri-socket: %+v", cri)
	}
	if o := ownerOf("unix:///run/user/1000/podman/podman.sock"); o != 1000 {
		t.Errorf("ownerOf = %d", o)
	}
}

// BenchmarkResolverGet1000: the lookup a new process pays once its
// container is cached, with 1,000 containers known across three engines;
// B/container is the heap the cache holds for each.
func BenchmarkResolverGet1000(b *testing.B) {
	engines := []*fakeDaemon{newFake(RuntimeDocker, -1, nil), newFake(RuntimePodman, -1, nil), newFake(RuntimeContainerd, -1, nil)}
	var refs []Ref
	for i := 0; i < 1000; i++ {
		e := engines[i%3]
		id := fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i), byte(i >> 8)})) // random-looking, as engines' ids are
		e.containers[id] = fmt.Sprintf("c%d", i)
		refs = append(refs, Ref{ID: id, Runtime: e.runtime, User: -1})
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := NewResolver(nil, engines[0], engines[1], engines[2])
	ctx := context.Background()
	for i, ref := range refs {
		if c := r.Get(ctx, ref); c.Name != fmt.Sprintf("c%d", i) {
			b.Fatalf("%+v resolved as %+v", ref, c)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Get(ctx, refs[i%len(refs)])
	}
	b.StopTimer()
	b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/1000, "B/container")
	runtime.KeepAlive(r)
}
