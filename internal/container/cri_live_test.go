package container

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// The CRI of a containerd the test starts, as kubelet drives it: a pod's
// container, under kubelet's cgroup parent, is a container of containerd
// with its Kubernetes name, its pod's name, namespace, uid and labels, and
// its image, whether the CRI's poll reports it first or a first sight
// asks for it.
func TestCRILive(t *testing.T) {
	c := testutil.StartCRIContainerd(t)
	d, err := DialCRI(c.Socket, RuntimeCRI)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v, err := d.Version(ctx)
	if err != nil || d.Runtime() != RuntimeContainerd {
		t.Fatalf("Version = %q, %v; runtime %q, want containerd", v, err, d.Runtime())
	}
	t.Logf("version: %s", v)
	r := NewResolver(nil, d)
	r.Start(ctx, nil)

	run := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	uid := "5b0c1a6e-0000-4000-8000-" + fmt.Sprintf("%012d", time.Now().UnixNano()%1e12)
	pod := c.RunPod("web-"+run, "shop", uid, map[string]string{"app": "web", "tier": "front"})
	id := c.RunContainer(pod, "nginx", "sleep", "600")
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.PID(id)))
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := ParseProcCgroup(string(cg))
	if !ok || ref.ID != id || ref.PodUID != uid || ref.Runtime != RuntimeCRI {
		t.Fatalf("cgroup %q parsed as %+v %v", cg, ref, ok)
	}
	got := r.Get(ctx, ref)
	if got.Name != "nginx" || got.Type != RuntimeContainerd || got.K8sPodName != "web-"+run || got.K8sNamespace != "shop" ||
		got.K8sPodUID != uid || got.Labels["app"] != "web" || got.ImageRepository != "localhost/palisade-test" ||
		got.ImageTag != "busybox-2" || !got.HostNetwork || !got.HasPrivileged || got.Privileged {
		t.Errorf("Get = %+v", got)
	}
	// The OCI bundle containerd wrote names the container and its pod
	// too, for a container gone from the CRI before its first sight.
	b := NewBundles(filepath.Join(c.State, "io.containerd.runtime.v2.task"), RuntimeContainerd)
	for _, r := range []Ref{ref, {ID: id, Namespace: "k8s.io"}} {
		if got, err := b.Lookup(ctx, r); err != nil || got.Name != "nginx" || got.K8sPodName != "web-"+run || got.K8sNamespace != "shop" {
			t.Errorf("bundle of %+v: %+v, %v", r, got, err)
		}
	}
}
