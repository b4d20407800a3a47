package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

func taskStatus(c *testutil.Containerd, ns, id string) string {
	for _, line := range strings.Split(c.Ctr("-n", ns, "tasks", "ls"), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}

// The Controller on containerd: pause and stop a ctr container named by
// the short id alerts carry; isolate says it cannot.
func TestControllerContainerdLive(t *testing.T) {
	c := testutil.StartContainerd(t)
	img := c.ImportBusybox("palisade")
	d, err := DialContainerd(c.Socket, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b := make([]byte, 32)
	rand.Read(b)
	id := hex.EncodeToString(b) // nerdctl-style: alerts carry 12 of its 64 digits
	c.Ctr("-n", "palisade", "run", "-d", "--snapshotter", "native", img, id, "sleep", "600")
	short := Ref{ID: id}.ShortID()
	ctx := context.Background()
	if err := d.Pause(ctx, "palisade", short); err != nil {
		t.Fatal(err)
	}
	if s := taskStatus(c, "palisade", id); s != "PAUSED" {
		t.Errorf("after Pause: %s", s)
	}
	c.Ctr("-n", "palisade", "tasks", "resume", id)
	start := time.Now()
	if err := d.Stop(ctx, "palisade", short, time.Second); err != nil {
		t.Fatal(err)
	}
	if s := taskStatus(c, "palisade", id); s != "STOPPED" {
		t.Errorf("after Stop: %s (%v)", s, time.Since(start))
	}
	if _, err := d.Isolate(ctx, "palisade", short); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Isolate: %v, want ErrNotSupported", err)
	}
	if err := d.Pause(ctx, "palisade", "0000deadbeef"); !isNotFound(err) {
		t.Errorf("unknown container: %v, want not found", err)
	}
	c.Ctr("-n", "palisade", "tasks", "delete", "-f", id)
	c.Ctr("-n", "palisade", "containers", "delete", id)
}

// The Controller on Docker: isolate leaves the container on no network,
// pause freezes it, stop stops it.
func TestControllerDockerLive(t *testing.T) {
	img := testutil.RequireBusyboxImage(t)
	d, err := NewDocker()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	name := fmt.Sprintf("palisade-control-%d", time.Now().UnixNano()%1e6)
	out, err := exec.Command("docker", "run", "-d", "--name", name, img, "sleep", "600").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	id := shortID(strings.TrimSpace(string(out)))
	inspect := func(f string) string {
		o, _ := exec.Command("docker", "inspect", "-f", f, name).Output()
		return strings.TrimSpace(string(o))
	}
	ctx := context.Background()
	nets, err := d.Isolate(ctx, "", id)
	if err != nil || strings.Join(nets, ",") != "bridge" {
		t.Errorf("Isolate: %v, %v; want [bridge]", nets, err)
	}
	if n := inspect("{{len .NetworkSettings.Networks}}"); n != "0" {
		t.Errorf("after Isolate: %s networks", n)
	}
	if err := d.Pause(ctx, "", id); err != nil {
		t.Fatal(err)
	}
	if p := inspect("{{.State.Paused}}"); p != "true" {
		t.Errorf("after Pause: paused %s", p)
	}
	exec.Command("docker", "unpause", name).Run()
	if err := d.Stop(ctx, "", id, time.Second); err != nil {
		t.Fatal(err)
	}
	if s := inspect("{{.State.Status}}"); s != "exited" {
		t.Errorf("after Stop: %s", s)
	}
}
