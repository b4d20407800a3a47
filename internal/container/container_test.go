package container

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/testutil"
)

const hexID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestIDFromCgroup(t *testing.T) {
	for _, tc := range []struct {
		path, id, rt string
	}{
		{"/system.slice/docker-" + hexID + ".scope", "0123456789ab", "docker"},
		{"/docker/" + hexID, "0123456789ab", "docker"},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-" + hexID + ".scope", "0123456789ab", "containerd"},
		{"/kubepods/burstable/pod1234-5678/" + hexID, "0123456789ab", "containerd"},
		{"/kubepods.slice/crio-" + hexID + ".scope", "0123456789ab", "cri-o"},
		{"/machine.slice/libpod-" + hexID + ".scope/container", "0123456789ab", "podman"},
		{"/user.slice/user-1000.slice/session-1.scope", "", ""},
		{"/", "", ""},
		{"/docker/" + hexID[:63], "", ""},
	} {
		id, rt, ok := IDFromCgroup(tc.path)
		if id != tc.id || rt != tc.rt || ok != (tc.id != "") {
			t.Errorf("IDFromCgroup(%q) = %q %q %v, want %q %q", tc.path, id, rt, ok, tc.id, tc.rt)
		}
	}
	if id, _, ok := IDFromProcCgroup("12:pids:/docker/" + hexID + "\n0::/\n"); !ok || id != "0123456789ab" {
		t.Errorf("v1 proc cgroup: %q %v", id, ok)
	}
	if id, rt, ok := FullIDFromCgroup("/system.slice/docker-" + hexID + ".scope"); !ok || id != hexID || rt != "docker" {
		t.Errorf("FullIDFromCgroup = %q %q %v", id, rt, ok)
	}
}

func TestRuntimeFromCgroup(t *testing.T) {
	for path, want := range map[string]string{
		"/docker/" + hexID:                                    "docker",
		"/system.slice/docker-" + hexID + ".scope":            "docker",
		"/kubepods/burstable/pod1234/" + hexID:                "kubepods",
		"/kubepods.slice/cri-containerd-" + hexID + ".scope":  "kubepods",
		"/system.slice/cri-containerd-" + hexID + ".scope":    "cri-containerd",
		"/machine.slice/libpod-" + hexID + ".scope/container": "machine.slice",
		"/lxc.payload.c1":                                     "lxc",
		"/actions_job/" + hexID:                               "actions_job",
		"/ecs/task/" + hexID:                                  "ecs",
		"/user.slice/user-1000.slice/session-1.scope":         "",
		"/system.slice/dockerd.service":                       "",
		"/":                                                   "",
		"/mydocker/x":                                         "",
	} {
		got, ok := RuntimeFromCgroup(path)
		if got != want || ok != (want != "") {
			t.Errorf("RuntimeFromCgroup(%q) = %q %v, want %q", path, got, ok, want)
		}
	}
}

func TestSplitImage(t *testing.T) {
	for _, tc := range []struct{ ref, repo, tag, digest string }{
		{"nginx:1.25", "nginx", "1.25", ""},
		{"nginx", "nginx", "latest", ""},
		{"reg:5000/team/app:2", "reg:5000/team/app", "2", ""},
		{"reg:5000/team/app", "reg:5000/team/app", "latest", ""},
		{"app@sha256:abc", "app", "", "sha256:abc"},
	} {
		r, tg, d := SplitImage(tc.ref)
		if r != tc.repo || tg != tc.tag || d != tc.digest {
			t.Errorf("SplitImage(%q) = %q %q %q", tc.ref, r, tg, d)
		}
	}
}

type fakeLookup struct {
	calls int
	err   error
}

func (f *fakeLookup) Inspect(ctx context.Context, id string) (*event.Container, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return &event.Container{ID: id, Name: "web"}, nil
}

func TestResolverCaches(t *testing.T) {
	f := &fakeLookup{}
	r := NewResolver(f)
	for i := 0; i < 3; i++ {
		if c := r.Get(context.Background(), "0123456789ab", "docker"); c.Name != "web" || c.Type != "docker" {
			t.Fatalf("got %+v", c)
		}
	}
	if f.calls != 1 {
		t.Errorf("%d inspects, want 1", f.calls)
	}
	bad := &fakeLookup{err: errors.New("down")}
	r = NewResolver(bad)
	r.retry = time.Hour
	for i := 0; i < 3; i++ {
		if c := r.Get(context.Background(), "0123456789ab", "docker"); c.ID != "0123456789ab" || c.Name != "" {
			t.Fatalf("got %+v", c)
		}
	}
	if bad.calls != 1 {
		t.Errorf("failed lookups retried %d times within the retry window", bad.calls)
	}
}

func TestDockerInspectLive(t *testing.T) {
	img := testutil.RequireBusyboxImage(t)
	name := "palisade-container-test"
	exec.Command("docker", "rm", "-f", name).Run()
	out, err := exec.Command("docker", "run", "-d", "--name", name, "--label", "team=blue",
		"-v", "/var/run/docker.sock:/var/run/docker.sock", img, "/bin/sleep", "60").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	full := strings.TrimSpace(string(out))
	d, err := NewDocker()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := d.Inspect(context.Background(), full[:12])
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != full[:12] || c.Name != name || c.ImageRepository != "palisade-test" || c.ImageTag != "busybox-2" ||
		c.Privileged || !c.HasPrivileged || c.Labels["team"] != "blue" || c.StartTime == 0 {
		t.Errorf("inspect = %+v", c)
	}
	found := false
	for _, m := range c.Mounts {
		if m.Source == "/var/run/docker.sock" && m.Dest == "/var/run/docker.sock" && m.RW {
			found = true
		}
	}
	if !found {
		t.Errorf("docker.sock mount missing: %+v", c.Mounts)
	}
}

// engine is a fake Docker: containers by full id, a feed of their creation
// and destruction, and an inspect that finds only those still there.
type engine struct {
	mu         sync.Mutex
	containers map[string]string // full id -> name
	events     chan [2]string    // {"create"|"destroy", id}
}

func (e *engine) Inspect(ctx context.Context, id string) (*event.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for full, name := range e.containers {
		if strings.HasPrefix(full, id) {
			return &event.Container{ID: full[:12], Name: name}, nil
		}
	}
	return nil, errors.New("no such container: " + id)
}

func (e *engine) Watch(ctx context.Context, created, destroyed func(id string)) error {
	for {
		select {
		case ev := <-e.events:
			if ev[0] == "create" {
				created(ev[1])
			} else {
				destroyed(ev[1])
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// A container created, run and removed before the agent's first lookup
// still resolves through Follow; a destroyed one is dropped after linger.
func TestResolverFollow(t *testing.T) {
	full := strings.Repeat("ab", 32)
	e := &engine{containers: map[string]string{full: "short-lived"}, events: make(chan [2]string)}
	r := NewResolver(e)
	r.linger = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { r.Follow(ctx, e); close(done) }()
	e.events <- [2]string{"create", full}
	e.events <- [2]string{"create", strings.Repeat("cd", 32)} // gone before its inspect: not cached
	e.mu.Lock()
	delete(e.containers, full) // docker run --rm: removed before the agent looks
	e.mu.Unlock()
	if c := r.Get(ctx, full[:12], "docker"); c.Name != "short-lived" || c.ID != full[:12] || c.Type != "docker" {
		t.Fatalf("after removal: %+v, want the container seen at creation", c)
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

// The live feed: a container run with --rm that exits at once is in the
// cache, with its name, by the time docker run returns, although
// inspecting it then fails.
func TestDockerFollowLive(t *testing.T) {
	img := testutil.RequireBusyboxImage(t)
	d, err := NewDocker()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := NewResolver(d)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Follow(ctx, d)
	time.Sleep(300 * time.Millisecond) // the event stream is open
	name := "palisade-follow-test"
	out, err := exec.Command("docker", "run", "--rm", "--name", name, img, "true").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v %s", err, out)
	}
	var id string
	deadline := time.Now().Add(5 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		r.mu.Lock()
		for k, e := range r.cache {
			if e.c != nil && e.c.Name == name {
				id = k
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("the --rm container never reached the cache")
	}
	if _, err := d.Inspect(ctx, id); err == nil {
		t.Logf("container %s still inspectable (removal not finished)", id)
	}
	if c := r.Get(ctx, id, "docker"); c.Name != name || c.ImageRepository != "palisade-test" {
		t.Errorf("Get(%s) = %+v, want %s from the cache", id, c, name)
	}
}

// flakyFeed fails its first Watch (a daemon restarting), then reports one
// creation and waits.
type flakyFeed struct {
	mu    sync.Mutex
	calls int
	id    string
}

func (f *flakyFeed) Watch(ctx context.Context, created, destroyed func(id string)) error {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n == 1 {
		return errors.New("connection refused")
	}
	created(f.id)
	<-ctx.Done()
	return nil
}

// A broken event stream is reopened after the retry delay.
func TestResolverFollowReconnects(t *testing.T) {
	full := strings.Repeat("ef", 32)
	e := &engine{containers: map[string]string{full: "after-restart"}}
	feed := &flakyFeed{id: full}
	r := NewResolver(e)
	r.retry = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Follow(ctx, feed); close(done) }()
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
