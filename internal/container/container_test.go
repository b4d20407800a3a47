package container

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/testutil"
)

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
	r := NewResolver(nil, d)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Follow(ctx, d, d)
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
	if c := r.Get(ctx, Ref{ID: id, Runtime: RuntimeDocker}); c.Name != name || c.ImageRepository != "palisade-test" {
		t.Errorf("Get(%s) = %+v, want %s from the cache", id, c, name)
	}
}

// Podman through its Docker API: a --rm container that exits at once is
// cached from its create event with its name, image and type podman, and
// forgotten after podman's "remove" event.
func TestPodmanFollowLive(t *testing.T) {
	img := testutil.RequirePodmanImage(t)
	host := testutil.StartPodmanService(t)
	d, err := DialDocker(host, RuntimePodman, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := NewResolver(nil, d)
	r.linger = time.Second // long enough for the polls below to see it on a busy machine
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Start(ctx, nil)
	cached := func(name string) *event.Container {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			r.mu.Lock()
			for _, e := range r.cache {
				if e.c != nil && e.c.Name == name {
					r.mu.Unlock()
					return e.c
				}
			}
			r.mu.Unlock()
		}
		return nil
	}
	// podman's service opens its event stream lazily: a first container
	// shows it is open.
	run := fmt.Sprintf("palisade-podman-follow-%d", time.Now().UnixNano()%1e6)
	warm := testutil.Podman(append(append([]string{"create", "--name", run + "-warm"}, testutil.PodmanRunFlags...), img, "true")...)
	if out, err := warm.CombinedOutput(); err != nil {
		t.Fatalf("podman create: %v %s", err, out)
	}
	t.Cleanup(func() { testutil.Podman("rm", "-f", run+"-warm").Run() })
	if cached(run+"-warm") == nil {
		t.Fatal("podman's create events never reached the cache")
	}
	name := run + "-rm"
	out, err := testutil.Podman(append(append([]string{"run", "--rm", "--name", name}, testutil.PodmanRunFlags...), img, "true")...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman run: %v %s", err, out)
	}
	seen := cached(name)
	if seen == nil {
		t.Fatal("the --rm container never reached the cache")
	}
	if seen.Type != RuntimePodman || seen.ImageRepository != "localhost/palisade-test" || len(seen.ID) != 12 {
		t.Errorf("cached %+v", seen)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r.mu.Lock()
		_, cached := r.cache[seen.ID]
		r.mu.Unlock()
		if !cached {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("removed container still cached: podman's remove event was not followed")
		}
	}
}

// containerd's own API, on a containerd the test starts: a ctr-run
// container (cgroup /<namespace>/<name>, which alone proves nothing) is a
// container with its name and image once containerd is asked, and the host
// when no engine knows it; its creation and deletion are followed.
func TestContainerdLive(t *testing.T) {
	c := testutil.StartContainerd(t)
	img := c.ImportBusybox("palisade")
	d, err := DialContainerd(c.Socket, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := NewResolver(nil, d)
	r.linger = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Start(ctx, nil)
	time.Sleep(300 * time.Millisecond) // the event stream is open
	name := fmt.Sprintf("pal-%d", time.Now().UnixNano()%1e6)
	c.Ctr("-n", "palisade", "run", "-d", "--snapshotter", "native", "--label", "team=blue", img, name, "sleep", "60")
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.TaskPID("palisade", name)))
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := ParseProcCgroup(string(cg))
	if !ok || ref.ID != name || ref.Namespace != "palisade" || ref.Runtime != RuntimeContainerd || !ref.Unverified {
		t.Fatalf("cgroup %q parsed as %+v %v", cg, ref, ok)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r.mu.Lock()
		_, cached := r.cache[ref.key()]
		r.mu.Unlock()
		if cached {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("containerd's create event did not reach the cache")
		}
	}
	got := r.Get(ctx, ref)
	if got.IsHost() || got.Name != name || got.ID != name || got.Type != RuntimeContainerd ||
		got.ImageRepository != "docker.io/library/palisade-test" || got.ImageTag != "busybox-2" ||
		got.Labels["team"] != "blue" || got.Labels["io.containerd.namespace"] != "palisade" {
		t.Errorf("Get = %+v", got)
	}
	// Without the namespace (a systemd layout names none) every namespace is searched.
	if c2, err := d.Lookup(ctx, Ref{ID: name}); err != nil || c2.Name != name {
		t.Errorf("Lookup without namespace = %+v, %v", c2, err)
	}
	if _, err := d.Lookup(ctx, Ref{ID: "no-such", Namespace: "palisade"}); !isNotFound(err) {
		t.Errorf("unknown container: %v, want not found", err)
	}
	if c3 := NewResolver(nil).Get(ctx, ref); !c3.IsHost() {
		t.Errorf("with no engine to confirm it: %+v, want the host", c3)
	}
	c.Ctr("-n", "palisade", "tasks", "delete", "-f", name)
	c.Ctr("-n", "palisade", "containers", "delete", name)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r.mu.Lock()
		_, cached := r.cache[ref.key()]
		r.mu.Unlock()
		if !cached {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deleted container still cached: containerd's delete event was not followed")
		}
	}
}
