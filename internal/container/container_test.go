package container

import (
	"context"
	"errors"
	"os/exec"
	"strings"
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
