package container

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeCRI answers the part of the RuntimeService Palisade asks, as CRI-O
// does (replies shaped after CRI-O's server: the image as its id with the
// reference in image_ref, "privileged" at the top of the verbose info, an
// unknown id as codes.Unknown "could not find container"), and counts the
// calls.
type fakeCRI struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	name   string
	events bool // serves GetContainerEvents

	mu         sync.Mutex
	containers map[string]*runtimeapi.ContainerStatus
	sandboxOf  map[string]string
	pods       map[string]*runtimeapi.PodSandboxStatus
	calls      map[string]int
	stream     chan *runtimeapi.ContainerEventResponse
}

func (f *fakeCRI) count(m string) {
	f.mu.Lock()
	f.calls[m]++
	f.mu.Unlock()
}

func (f *fakeCRI) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	f.count("Version")
	return &runtimeapi.VersionResponse{Version: "0.1.0", RuntimeName: f.name, RuntimeVersion: "1.31.1", RuntimeApiVersion: "v1"}, nil
}

func (f *fakeCRI) ContainerStatus(_ context.Context, r *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	f.count("ContainerStatus")
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.containers[r.ContainerId]
	if !ok {
		return nil, status.Errorf(codes.Unknown, "could not find container %q: container with ID starting with %s not found", r.ContainerId, r.ContainerId)
	}
	info := map[string]string{}
	if r.Verbose {
		priv := "false"
		if s.Labels["test.privileged"] == "yes" {
			priv = "true"
		}
		info["info"] = fmt.Sprintf(`{"sandboxID":%q,"pid":4242,"privileged":%s,"runtimeSpec":{}}`, f.sandboxOf[s.Id], priv)
	}
	return &runtimeapi.ContainerStatusResponse{Status: s, Info: info}, nil
}

func (f *fakeCRI) PodSandboxStatus(_ context.Context, r *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	f.count("PodSandboxStatus")
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pods[r.PodSandboxId]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "pod sandbox %s not found", r.PodSandboxId)
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: p}, nil
}

func (f *fakeCRI) ListContainers(_ context.Context, r *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	f.count("ListContainers")
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*runtimeapi.Container
	for id, s := range f.containers {
		if r.Filter != nil && r.Filter.Id != "" && !strings.HasPrefix(id, r.Filter.Id) {
			continue
		}
		out = append(out, &runtimeapi.Container{Id: id, PodSandboxId: f.sandboxOf[id], Metadata: s.Metadata, Image: s.Image, Labels: s.Labels})
	}
	return &runtimeapi.ListContainersResponse{Containers: out}, nil
}

func (f *fakeCRI) GetContainerEvents(_ *runtimeapi.GetEventsRequest, s grpc.ServerStreamingServer[runtimeapi.ContainerEventResponse]) error {
	if !f.events {
		return status.Error(codes.Unimplemented, "method GetContainerEvents not implemented")
	}
	for {
		select {
		case ev := <-f.stream:
			if err := s.Send(ev); err != nil {
				return err
			}
		case <-s.Context().Done():
			return nil
		}
	}
}

// add registers a container in a pod (created on first use).
func (f *fakeCRI) add(id, name, image, sandbox, pod, ns, uid string, podLabels map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers[id] = &runtimeapi.ContainerStatus{
		Id: id, Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image: &runtimeapi.ImageSpec{Image: "sha256:" + strings.Repeat("ab", 32)}, ImageRef: image,
		StartedAt: 1_700_000_000_000_000_000,
		Labels: map[string]string{"io.kubernetes.container.name": name, "io.kubernetes.pod.name": pod,
			"io.kubernetes.pod.namespace": ns, "io.kubernetes.pod.uid": uid},
		Mounts: []*runtimeapi.Mount{{ContainerPath: "/var/run/secrets", HostPath: "/var/lib/kubelet/pods/" + uid + "/volumes", Readonly: true}},
	}
	f.sandboxOf[id] = sandbox
	if _, ok := f.pods[sandbox]; !ok {
		f.pods[sandbox] = &runtimeapi.PodSandboxStatus{Id: sandbox,
			Metadata: &runtimeapi.PodSandboxMetadata{Name: pod, Namespace: ns, Uid: uid},
			Labels:   podLabels,
			Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{
				Pid: runtimeapi.NamespaceMode_NODE, Network: runtimeapi.NamespaceMode_POD}}},
		}
	}
}

func (f *fakeCRI) remove(id string) {
	f.mu.Lock()
	delete(f.containers, id)
	f.mu.Unlock()
}

// startFakeCRI serves f on a unix socket and returns the socket's path.
func startFakeCRI(t *testing.T, f *fakeCRI) string {
	t.Helper()
	f.containers, f.sandboxOf, f.pods, f.calls = map[string]*runtimeapi.ContainerStatus{}, map[string]string{},
		map[string]*runtimeapi.PodSandboxStatus{}, map[string]int{}
	f.stream = make(chan *runtimeapi.ContainerEventResponse, 16)
	sock := filepath.Join(t.TempDir(), "crio.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(srv, f)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return sock
}

func fakeHexID(seed string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(seed)))
}

// A CRI-O node's container (cgroup kubepods/.../crio-<id>, both drivers)
// resolved through the CRI: its Kubernetes name, the image's reference
// rather than CRI-O's image id, pod name, namespace, uid and labels, the
// pod's host PID namespace and the privileged flag; the pod is asked once
// for its two containers; an unknown id is "not found", not an outage.
func TestCRIFakeCRIO(t *testing.T) {
	f := &fakeCRI{name: "cri-o"}
	sock := startFakeCRI(t, f)
	uid := "2c7e0e4a-6f5b-4b39-9e0c-1d2e3f405162"
	web, side := fakeHexID("web"), fakeHexID("sidecar")
	f.add(web, "web", "example.test/shop/web@sha256:"+strings.Repeat("cd", 32), "sb1", "web-7d4b9", "shop", uid, map[string]string{"app": "web", "io.kubernetes.pod.name": "web-7d4b9"})
	f.add(side, "proxy", "envoyproxy/envoy:v1.31", "sb1", "web-7d4b9", "shop", uid, nil)
	f.containers[side].Labels["test.privileged"] = "yes"

	d, err := DialCRI(sock, RuntimeCRIO)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := NewResolver(nil, d)
	ctx := context.Background()
	for _, path := range []string{
		"/kubepods/besteffort/pod" + uid + "/crio-" + web,
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/crio-" + web + ".scope",
	} {
		ref, ok := ParseCgroup(path)
		if !ok || ref.Runtime != RuntimeCRIO {
			t.Fatalf("%s parsed as %+v", path, ref)
		}
		got := r.Get(ctx, ref)
		if got.Name != "web" || got.Type != RuntimeCRIO || got.K8sPodName != "web-7d4b9" || got.K8sNamespace != "shop" ||
			got.K8sPodUID != uid || got.Labels["app"] != "web" || got.ImageRepository != "example.test/shop/web" ||
			got.ImageDigest != "sha256:"+strings.Repeat("cd", 32) || !got.HostPID || got.HostNetwork ||
			!got.HasPrivileged || got.Privileged || len(got.Mounts) != 1 || got.Mounts[0].RW {
			t.Errorf("%s: %+v", path, got)
		}
	}
	ref, _ := ParseCgroup("/kubepods/besteffort/pod" + uid + "/crio-" + side)
	if got := r.Get(ctx, ref); got.Name != "proxy" || !got.Privileged || got.ImageRepository != "envoyproxy/envoy" || got.ImageTag != "v1.31" {
		t.Errorf("sidecar: %+v", got)
	}
	if n := f.calls["PodSandboxStatus"]; n != 1 {
		t.Errorf("PodSandboxStatus asked %d times for one pod, want 1", n)
	}
	if _, err := d.Lookup(ctx, Ref{ID: fakeHexID("gone")}); !isNotFound(err) {
		t.Errorf("unknown container: %v, want not found", err)
	}
	// A containerd namespace that is not the CRI's: not asked.
	before := f.calls["ContainerStatus"]
	if _, err := d.Lookup(ctx, Ref{ID: web, Namespace: "default"}); !isNotFound(err) || f.calls["ContainerStatus"] != before {
		t.Errorf("namespace default: %v after %d calls", err, f.calls["ContainerStatus"]-before)
	}
	if v, err := d.Version(ctx); err != nil || !strings.Contains(v, "cri-o 1.31.1") || d.Runtime() != RuntimeCRIO {
		t.Errorf("Version = %q, %v (runtime %s)", v, err, d.Runtime())
	}
}

// A runtime with the CRI's event stream: a container is inspected when
// its creation is reported, so a container gone before its first sight
// keeps its name; its deletion is followed, and a deleted sandbox leaves
// the pod cache. Without the stream (containerd 1.6) ListContainers is
// polled for the same.
func TestCRIFeed(t *testing.T) {
	for _, events := range []bool{true, false} {
		t.Run(fmt.Sprintf("events=%v", events), func(t *testing.T) {
			f := &fakeCRI{name: "containerd", events: events}
			sock := startFakeCRI(t, f)
			d, err := DialCRI(sock, RuntimeContainerd)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			d.poll = 20 * time.Millisecond
			r := NewResolver(nil, d)
			r.linger = 10 * time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r.Start(ctx, nil)
			id := fakeHexID("brief")
			uid := "0b5c7a44-1111-4222-8333-944455566677"
			f.add(id, "job", "busybox:1.36", "sb9", "job-x1", "batch", uid, map[string]string{"team": "data"})
			if events {
				time.Sleep(100 * time.Millisecond) // the stream is open
				f.stream <- &runtimeapi.ContainerEventResponse{ContainerId: id, ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT}
			}
			key := Ref{ID: id}.key()
			waitCache := func(want bool) *entry {
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					r.mu.Lock()
					e, ok := r.cache[key]
					r.mu.Unlock()
					if ok == want {
						return e
					}
				}
				t.Fatalf("container %s cached: want %v", id, want)
				return nil
			}
			e := waitCache(true)
			f.remove(id) // gone before the agent's first sight
			if got := r.Get(ctx, Ref{ID: id, Runtime: RuntimeCRI, PodUID: uid}); got != e.c || got.Name != "job" ||
				got.K8sPodName != "job-x1" || got.Labels["team"] != "data" || got.Type != RuntimeContainerd {
				t.Errorf("Get = %+v", got)
			}
			if events {
				f.stream <- &runtimeapi.ContainerEventResponse{ContainerId: id, ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT}
				f.stream <- &runtimeapi.ContainerEventResponse{ContainerId: "sb9", ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT,
					PodSandboxStatus: &runtimeapi.PodSandboxStatus{Id: "sb9"}}
			}
			waitCache(false)
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				d.mu.Lock()
				n := len(d.pods)
				d.mu.Unlock()
				if n == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the removed pod stays in the pod cache")
				}
			}
		})
	}
}

// The pod cache keeps the newest podCacheSize pods.
func TestCRIPodCacheBounded(t *testing.T) {
	f := &fakeCRI{name: "cri-o"}
	sock := startFakeCRI(t, f)
	d, err := DialCRI(sock, RuntimeCRIO)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	for i := 0; i < podCacheSize+10; i++ {
		sb := fmt.Sprintf("sb%d", i)
		f.add(fmt.Sprintf("c%d", i), "c", "img:1", sb, sb, "ns", "uid", nil)
		if _, err := d.pod(ctx, sb); err != nil {
			t.Fatal(err)
		}
	}
	if len(d.pods) != podCacheSize || len(d.podAge) != podCacheSize {
		t.Fatalf("%d pods cached (%d in age order), want %d", len(d.pods), len(d.podAge), podCacheSize)
	}
	if _, ok := d.pods["sb0"]; ok {
		t.Error("the oldest pod is still cached")
	}
	if _, ok := d.pods[fmt.Sprintf("sb%d", podCacheSize+9)]; !ok {
		t.Error("the newest pod is not cached")
	}
}

// TestDiscoverWithRemembers: the resolver's discovery every 10 s dials
// and probes only sockets it has not seen (or made anew by a restarted
// daemon); a CRI that is off (Unimplemented) is not asked again, one that
// failed otherwise (down, slow) is.
func TestDiscoverWithRemembers(t *testing.T) {
	f := &fakeCRI{name: "cri-o"}
	sock := startFakeCRI(t, f)
	var mu sync.Mutex
	probes := map[string]int{}
	refusing := func(code codes.Code) string {
		path := filepath.Join(t.TempDir(), code.String()+".sock")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer(grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
			mu.Lock()
			probes[code.String()]++
			mu.Unlock()
			return status.Error(code, "no")
		}))
		go srv.Serve(l)
		t.Cleanup(srv.Stop)
		return path
	}
	off, down := refusing(codes.Unimplemented), refusing(codes.Unavailable)
	disc := DiscoverWith([]string{sock, off, down})
	found := func() bool {
		t.Helper()
		in := false
		for _, d := range disc() {
			if d.Endpoint() == "CRI at unix://"+sock {
				in = true
			}
			if c, ok := d.(io.Closer); ok {
				c.Close()
			}
		}
		return in
	}
	versions := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.calls["Version"]
	}
	if !found() || versions() != 1 {
		t.Fatalf("first discovery: the CRI not found or %d Version calls", versions())
	}
	if found() || found() || versions() != 1 {
		t.Errorf("later discoveries dialled the known CRI again: %d Version calls", versions())
	}
	mu.Lock()
	if probes["Unimplemented"] != 1 || probes["Unavailable"] != 3 {
		t.Errorf("probes %v: want the CRI that is off asked once, the one down every time", probes)
	}
	mu.Unlock()
	// A restarted daemon makes its socket anew: it is dialled again.
	os.Remove(sock)
	f2 := &fakeCRI{name: "cri-o"}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f2.containers, f2.sandboxOf, f2.pods, f2.calls = map[string]*runtimeapi.ContainerStatus{}, map[string]string{}, map[string]*runtimeapi.PodSandboxStatus{}, map[string]int{}
	srv := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(srv, f2)
	go srv.Serve(l)
	defer srv.Stop()
	if !found() {
		t.Error("a socket made anew was not dialled")
	}
}

// A containerd whose CRI did not answer the first probe (still starting,
// or slow) and answers a later discovery's: its own API, found by the
// first discovery, must leave the CRI's containers to the CRI then too.
func TestDiscoverWithLateCRIOnContainerdSocket(t *testing.T) {
	f := &fakeCRI{name: "containerd"}
	f.containers, f.sandboxOf, f.pods, f.calls = map[string]*runtimeapi.ContainerStatus{}, map[string]string{},
		map[string]*runtimeapi.PodSandboxStatus{}, map[string]int{}
	sock := filepath.Join(t.TempDir(), "containerd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	refused := 0
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(info.FullMethod, "/Version") && refused == 0 {
			refused++
			return nil, status.Error(codes.Unavailable, "starting")
		}
		return h(ctx, req)
	}))
	runtimeapi.RegisterRuntimeServiceServer(srv, f)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	t.Setenv("CONTAINERD_ADDRESS", sock)

	disc := DiscoverWith(nil)
	var ctrd *Containerd
	var closers []io.Closer
	t.Cleanup(func() {
		for _, c := range closers {
			c.Close()
		}
	})
	for _, d := range disc() {
		if c, ok := d.(*Containerd); ok && d.Endpoint() == "containerd at unix://"+sock {
			ctrd = c
		}
		if c, ok := d.(io.Closer); ok {
			closers = append(closers, c)
		}
	}
	if ctrd == nil {
		t.Fatalf("first discovery found no containerd at %s", sock)
	}
	if ctrd.leavesToCRI(criNamespace) {
		t.Fatal("containerd leaves its CRI's containers to a CRI that did not answer")
	}
	var cri bool
	for _, d := range disc() {
		if d.Endpoint() == "CRI at unix://"+sock {
			cri = true
		}
		if c, ok := d.(io.Closer); ok {
			closers = append(closers, c)
		}
	}
	if !cri {
		t.Fatal("second discovery did not find the CRI that answers now")
	}
	if !ctrd.leavesToCRI(criNamespace) {
		t.Error("containerd's own API, found first, still follows the containers of the CRI on its socket")
	}
}
