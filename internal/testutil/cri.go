package testutil

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// CRIImage is the image a CRI containerd started by StartCRIContainerd
// has: BusyboxImage's root filesystem, imported from a tarball the test
// writes (there is no registry), both the pods' sandbox image and theirs.
const CRIImage = "localhost/palisade-test:busybox-2"

// CRINamespace is the containerd namespace of the CRI plugin.
const CRINamespace = "k8s.io"

// CRIContainerd is a containerd of the test's own with the CRI plugin on:
// its own root, state, socket and stream server on loopback, snapshotter
// native, sandboxes from CRIImage, and no CNI (pods use the host's network)
// unless WithPodNetwork gives it one.
type CRIContainerd struct {
	Socket string
	// State is the daemon's state directory (its OCI bundles are under
	// io.containerd.runtime.v2.task).
	State string
	RT    runtimeapi.RuntimeServiceClient

	dir  string
	cfg  string
	log  *SyncBuffer
	cmd  *exec.Cmd
	conn *grpc.ClientConn
	t    testing.TB
	pods []string // pod uids, for their cgroups
	// bridge is the pod network's bridge (WithPodNetwork), removed at the end.
	bridge string
	images []string // images ImportDockerImage brought, removed at the end
}

// CRIOption is a choice about the daemon StartCRIContainerd starts.
type CRIOption func(*criOptions)

type criOptions struct{ podNetwork bool }

// WithPodNetwork gives the pods that are not on the host's network one of
// their own, as a node's CNI does: CNI's bridge plugin on a bridge named
// after the daemon (never docker0 or podman's), a free /24 of 10.244.0.0/16
// with host-local addresses, the bridge the pods' gateway, no masquerade
// (pods reach the host and each other, nothing beyond).
func WithPodNetwork() CRIOption { return func(o *criOptions) { o.podNetwork = true } }

// StartCRIContainerd needs root, containerd, ctr and busybox-static, and
// starts a containerd with the CRI plugin on, stopped with its pods and
// their cgroups when the test ends. Docker's containerd is not touched.
func StartCRIContainerd(t testing.TB, opts ...CRIOption) *CRIContainerd {
	t.Helper()
	var o criOptions
	for _, opt := range opts {
		opt(&o)
	}
	RequireRoot(t)
	needs := []Need{{"containerd", "containerd"}, {"ctr", "containerd"}, {"busybox", "busybox-static"}, {"runc", "runc"}}
	if o.podNetwork {
		needs = append(needs, Need{cniBin + "/bridge", "containernetworking-plugins"}, Need{cniBin + "/host-local", "containernetworking-plugins"},
			Need{cniBin + "/loopback", "containernetworking-plugins"}, Need{"ip", "iproute2"})
	}
	RequireInstalled(t, needs...)
	dir, err := os.MkdirTemp("", "cri")
	if err != nil {
		t.Fatal(err)
	}
	c := &CRIContainerd{Socket: filepath.Join(dir, "c.sock"), State: filepath.Join(dir, "state"), dir: dir, cfg: filepath.Join(dir, "config.toml"), log: &SyncBuffer{}, t: t}
	os.MkdirAll(filepath.Join(dir, "cni"), 0o755)
	cniBinDir := filepath.Join(dir, "cni")
	if o.podNetwork {
		cniBinDir = cniBin
		c.bridge = fmt.Sprintf("pcri%x-%d", os.Getpid()&0xffffff, bridgeSeq.Add(1)%100)
		subnet, err := freeSubnet()
		if err != nil {
			t.Fatal(err)
		}
		conf := fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "palisade-test-pods", "plugins": [{"type": "bridge", "bridge": %q,
  "isGateway": true, "ipMasq": false, "hairpinMode": true,
  "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]]}}]}`, c.bridge, filepath.Join(dir, "ipam"), subnet)
		if err := os.WriteFile(filepath.Join(dir, "cni", "10-pods.conflist"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, so the
	// sandbox's -998 cannot be set. The stream server stays on loopback.
	os.WriteFile(c.cfg, []byte(fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.internal.v1.opt"]
  path = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.Socket, c.Socket+".ttrpc", filepath.Join(dir, "opt"),
		CRIImage, cniBinDir, filepath.Join(dir, "cni"))), 0o600)
	t.Cleanup(c.cleanup)
	c.Start()
	conn, err := grpc.NewClient("unix://"+c.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c.conn, c.RT = conn, runtimeapi.NewRuntimeServiceClient(conn)
	c.importImage()
	if o.podNetwork {
		c.waitNetworkReady()
	}
	return c
}

// bridgeSeq tells apart the bridges of daemons one test binary starts.
var bridgeSeq atomic.Int32

// cniBin is where Debian's containernetworking-plugins puts the plugins.
const cniBin = "/usr/lib/cni"

// freeSubnet picks a /24 of 10.244.0.0/16 that no route of the host's
// covers yet, starting from one the pid chooses (tests run side by side).
func freeSubnet() (string, error) {
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return "", fmt.Errorf("ip route: %w", err)
	}
	for i := 0; i < 250; i++ {
		n := (os.Getpid() + i) % 250
		prefix := fmt.Sprintf("10.244.%d.", n)
		if !strings.Contains(string(out), prefix) && !strings.Contains(string(out), "10.244.0.0/16") {
			return prefix + "0/24", nil
		}
	}
	return "", fmt.Errorf("no free /24 in 10.244.0.0/16")
}

// waitNetworkReady waits for the CRI to load the CNI config.
func (c *CRIContainerd) waitNetworkReady() {
	c.t.Helper()
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		st, err := c.RT.Status(context.Background(), &runtimeapi.StatusRequest{})
		if err == nil && st.Status != nil {
			for _, cond := range st.Status.Conditions {
				if cond.Type == runtimeapi.NetworkReady && cond.Status {
					return
				}
			}
		}
		if time.Since(start) > 10*time.Second {
			c.t.Fatalf("the CRI's pod network never became ready (%v, %v)\n%s", st, err, c.log.String())
		}
	}
}

// ImportDockerImage copies image ref from Docker (docker save) into the
// CRI's namespace under the names given (ctr images tag), as a node that
// has the image needs no pull; the names are removed when the test ends.
func (c *CRIContainerd) ImportDockerImage(ref string, names ...string) {
	c.t.Helper()
	archive := filepath.Join(c.dir, "docker-image.tar")
	if out, err := exec.Command("docker", "save", "-o", archive, ref).CombinedOutput(); err != nil {
		c.t.Fatalf("docker save %s: %v\n%s", ref, err, out)
	}
	defer os.Remove(archive)
	out, err := exec.Command("ctr", "-a", c.Socket, "-n", CRINamespace, "images", "import", "--snapshotter", "native", archive).CombinedOutput()
	if err != nil {
		c.t.Fatalf("ctr images import %s: %v\n%s", ref, err, out)
	}
	imported := NormalizedRef(ref)
	c.images = append(c.images, imported)
	for _, n := range names {
		if out, err := exec.Command("ctr", "-a", c.Socket, "-n", CRINamespace, "images", "tag", "--force", imported, n).CombinedOutput(); err != nil {
			c.t.Fatalf("ctr images tag %s %s: %v\n%s", imported, n, err, out)
		}
		c.images = append(c.images, n)
		c.waitImage(n)
	}
}

// NormalizedRef is ref as containerd names it: docker.io/library/NAME for
// a bare name, docker.io/ORG/NAME for a name without a registry host.
func NormalizedRef(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	switch {
	case !ok:
		return "docker.io/library/" + ref
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		return "docker.io/" + ref
	}
	return ref
}

// waitImage waits for the CRI to see image ref (it learns of images from
// containerd's events).
func (c *CRIContainerd) waitImage(ref string) {
	c.t.Helper()
	is := runtimeapi.NewImageServiceClient(c.conn)
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		res, err := is.ImageStatus(context.Background(), &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
		if err == nil && res.Image != nil {
			return
		}
		if time.Since(start) > 10*time.Second {
			c.t.Fatalf("the CRI never saw %s (%v)", ref, err)
		}
	}
}

// Start starts the daemon (again, after Kill) and waits for its CRI.
func (c *CRIContainerd) Start() {
	c.t.Helper()
	c.cmd = exec.Command("containerd", "--config", c.cfg)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("containerd: %v", err)
	}
	conn, err := grpc.NewClient("unix://"+c.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := rt.Status(ctx, &runtimeapi.StatusRequest{})
		cancel()
		if err == nil && runtimeReady(st) {
			return
		}
		if time.Since(start) > 30*time.Second {
			c.t.Fatalf("containerd's CRI not ready (%v): %s", err, c.log.String())
		}
	}
}

func runtimeReady(st *runtimeapi.StatusResponse) bool {
	if st.Status == nil {
		return false
	}
	for _, c := range st.Status.Conditions {
		if c.Type == runtimeapi.RuntimeReady && c.Status {
			return true
		}
	}
	return false
}

// Kill kills the daemon (SIGKILL), leaving its containers running.
func (c *CRIContainerd) Kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Kill()
		c.cmd.Wait()
		c.cmd = nil
	}
}

// Log is what the daemon printed.
func (c *CRIContainerd) Log() string { return c.log.String() }

// importImage writes CRIImage as a Docker image archive and imports it
// into the CRI's namespace.
func (c *CRIContainerd) importImage() {
	c.t.Helper()
	archive := filepath.Join(c.dir, "image.tar")
	if err := writeImageArchive(archive, busyboxRootfs(c.t), CRIImage); err != nil {
		c.t.Fatal(err)
	}
	out, err := exec.Command("ctr", "-a", c.Socket, "-n", CRINamespace, "images", "import", "--snapshotter", "native", archive).CombinedOutput()
	if err != nil {
		c.t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	c.waitImage(CRIImage)
}

// writeImageArchive writes the directory root as a one-layer image named
// ref, in the archive format `docker save` writes.
func writeImageArchive(path, root, ref string) error {
	layer, err := os.CreateTemp(filepath.Dir(path), "layer")
	if err != nil {
		return err
	}
	defer os.Remove(layer.Name())
	h := sha256.New()
	if err := tarDir(io.MultiWriter(layer, h), root); err != nil {
		return err
	}
	layer.Close()
	diffID := "sha256:" + hex.EncodeToString(h.Sum(nil))
	config, _ := json.Marshal(map[string]any{
		"architecture": goruntime.GOARCH, "os": "linux",
		"config": map[string]any{"Cmd": []string{"/bin/sleep", "3600"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	manifest, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{ref}, "Layers": []string{"layer.tar"}}})
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	data, err := os.ReadFile(layer.Name())
	if err != nil {
		return err
	}
	for _, e := range []struct {
		name string
		data []byte
	}{{"layer.tar", data}, {"config.json", config}, {"manifest.json", manifest}} {
		if err := add(e.name, e.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// tarDir writes root's tree (files, directories, symlinks) as a tar.
func tarDir(w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = rel, 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// Pod is a pod the test runs through the CRI, as kubelet would.
type Pod struct {
	ID     string
	Config *runtimeapi.PodSandboxConfig
}

// RunPod runs a pod with the host's network (no CNI here), kubelet's
// labels and a besteffort cgroup parent (/kubepods/besteffort/pod<uid>);
// labels are the pod's own labels.
func (c *CRIContainerd) RunPod(name, namespace, uid string, labels map[string]string) *Pod {
	c.t.Helper()
	l := map[string]string{"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace, "io.kubernetes.pod.uid": uid}
	for k, v := range labels {
		l[k] = v
	}
	return c.RunPodSandbox(&runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: namespace, Uid: uid},
		Labels:   l,
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: "/kubepods/besteffort/pod" + uid,
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
			},
		},
	})
}

// RunPodSandbox runs a pod from a config the test built (as kubelet builds
// one from a pod spec); the pod's cgroups (under /kubepods, any QoS class)
// are removed when the test ends.
func (c *CRIContainerd) RunPodSandbox(cfg *runtimeapi.PodSandboxConfig) *Pod {
	c.t.Helper()
	c.pods = append(c.pods, cfg.GetMetadata().GetUid())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.RT.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		c.t.Fatalf("RunPodSandbox %s: %v\n%s", cfg.GetMetadata().GetName(), err, c.log.String())
	}
	return &Pod{ID: res.PodSandboxId, Config: cfg}
}

// DefaultMaskedPaths and DefaultReadonlyPaths are what kubelet asks for a
// container whose procMount is Default.
var (
	DefaultMaskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
		"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"}
	DefaultReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// RunContainer creates and starts a container named name in pod p running
// cmd, with kubelet's labels, and returns its id.
func (c *CRIContainerd) RunContainer(p *Pod, name string, cmd ...string) string {
	c.t.Helper()
	m := p.Config.Metadata
	return c.StartContainer(p, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: CRIImage},
		Command:  cmd,
		Labels: map[string]string{"io.kubernetes.container.name": name, "io.kubernetes.pod.name": m.Name,
			"io.kubernetes.pod.namespace": m.Namespace, "io.kubernetes.pod.uid": m.Uid},
		Linux: &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
			MaskedPaths:      DefaultMaskedPaths,
			ReadonlyPaths:    DefaultReadonlyPaths,
		}},
	})
}

// StartContainer creates and starts the container cfg describes in pod p
// and returns its id.
func (c *CRIContainerd) StartContainer(p *Pod, cfg *runtimeapi.ContainerConfig) string {
	c.t.Helper()
	name := cfg.GetMetadata().GetName()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.RT.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: p.ID, Config: cfg, SandboxConfig: p.Config})
	if err != nil {
		c.t.Fatalf("CreateContainer %s: %v\n%s", name, err, c.log.String())
	}
	if _, err := c.RT.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: res.ContainerId}); err != nil {
		c.t.Fatalf("StartContainer %s: %v\n%s", name, err, c.log.String())
	}
	return res.ContainerId
}

// Exec runs cmd in container id (ExecSync) and returns its stdout.
func (c *CRIContainerd) Exec(id string, cmd ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.RT.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 20})
	if err != nil {
		c.t.Fatalf("ExecSync %v in %s: %v", cmd, id, err)
	}
	if res.ExitCode != 0 {
		c.t.Fatalf("ExecSync %v in %s: exit %d: %s", cmd, id, res.ExitCode, res.Stderr)
	}
	return string(res.Stdout)
}

// ExecTTY runs cmd in container id with a terminal and stdin, as `kubectl
// exec -it` does: Exec gives a URL on the CRI's stream server, spoken to
// with kubelet's websocket channel protocol (v4.channel.k8s.io: a byte of
// channel first, 0 stdin, 1 stdout, 3 the exit status). input is typed on
// the terminal; ExecTTY returns what the terminal printed once the command
// has exited with status 0.
func (c *CRIContainerd) ExecTTY(id, input string, cmd ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.RT.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: cmd, Tty: true, Stdin: true, Stdout: true})
	if err != nil {
		c.t.Fatalf("Exec %v in %s: %v", cmd, id, err)
	}
	u := strings.Replace(res.Url, "http://", "ws://", 1)
	cfg, err := websocket.NewConfig(u, "http://127.0.0.1/")
	if err != nil {
		c.t.Fatalf("exec url %q: %v", res.Url, err)
	}
	cfg.Protocol = []string{"v4.channel.k8s.io"}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		c.t.Fatalf("exec stream %s: %v", u, err)
	}
	defer ws.Close()
	ws.SetDeadline(time.Now().Add(20 * time.Second))
	if err := websocket.Message.Send(ws, append([]byte{0}, input...)); err != nil {
		c.t.Fatalf("exec stream: stdin: %v", err)
	}
	var out strings.Builder
	for {
		var frame []byte
		if err := websocket.Message.Receive(ws, &frame); err != nil {
			c.t.Fatalf("exec %v in %s: no exit status (%v); the terminal printed %q", cmd, id, err, out.String())
		}
		if len(frame) == 0 {
			continue
		}
		switch frame[0] {
		case 1:
			out.Write(frame[1:])
		case 3:
			var st struct{ Status, Message string }
			if err := json.Unmarshal(frame[1:], &st); err != nil || st.Status != "Success" {
				c.t.Fatalf("exec %v in %s: %s; the terminal printed %q", cmd, id, frame[1:], out.String())
			}
			return out.String()
		}
	}
}

// PID is the host pid of container id's init process (from the verbose
// ContainerStatus).
func (c *CRIContainerd) PID(id string) int {
	c.t.Helper()
	res, err := c.RT.ContainerStatus(context.Background(), &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		c.t.Fatalf("ContainerStatus %s: %v", id, err)
	}
	var info struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(res.Info["info"]), &info); err != nil || info.Pid <= 0 {
		c.t.Fatalf("no pid in the status of %s: %q (%v)", id, res.Info["info"], err)
	}
	return info.Pid
}

// cleanup removes the pods (their containers with them), stops the
// daemon, kills whatever is left in the pods' cgroups, removes those
// cgroups and the directory.
func (c *CRIContainerd) cleanup() {
	if c.cmd == nil && len(c.pods) > 0 {
		// Killed by the test: back for the pods' removal, if it will.
		c.cmd = exec.Command("containerd", "--config", c.cfg)
		if c.cmd.Start() != nil {
			c.cmd = nil
		}
		time.Sleep(2 * time.Second)
	}
	if c.RT != nil && c.cmd != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if res, err := c.RT.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
			for _, p := range res.Items {
				c.RT.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.Id})
				c.RT.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id})
			}
		}
		is := runtimeapi.NewImageServiceClient(c.conn)
		for _, ref := range c.images {
			is.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
		}
		cancel()
	}
	if c.conn != nil {
		c.conn.Close()
	}
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-done
		}
	}
	// Shims of this daemon (their -address is its socket) and anything
	// left in the pods' cgroups.
	killShims(c.Socket)
	for _, uid := range c.pods {
		removePodCgroups(uid)
	}
	if c.bridge != "" {
		// CNI's DEL (at StopPodSandbox) leaves the bridge; only this daemon's.
		exec.Command("ip", "link", "del", c.bridge).Run()
	}
	exec.Command("umount", "-R", filepath.Join(c.dir, "state")).Run()
	exec.Command("sh", "-c", "grep -o ' "+c.dir+"[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l").Run()
	os.RemoveAll(c.dir)
}

// killShims kills the containerd shims serving the containerd at socket.
func killShims(socket string) {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for i, a := range args {
			if a == "-address" && i+1 < len(args) && args[i+1] == socket {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// removePodCgroups kills the processes left in pod uid's cgroups and
// removes them, then the QoS parents and kubepods if empty (they are
// kubelet's on a real node; here the test's).
func removePodCgroups(uid string) {
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		hier = []string{"/sys/fs/cgroup"} // cgroup v2
	}
	for _, h := range hier {
		for _, qos := range []string{"besteffort", "burstable", ""} {
			pod := filepath.Join(h, "kubepods", qos, "pod"+uid)
			if _, err := os.Stat(pod); err != nil {
				continue
			}
			var dirs []string
			filepath.Walk(pod, func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			for i := len(dirs) - 1; i >= 0; i-- {
				if procs, err := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs")); err == nil {
					for _, f := range strings.Fields(string(procs)) {
						if pid, err := strconv.Atoi(f); err == nil {
							syscall.Kill(pid, syscall.SIGKILL)
						}
					}
				}
				for try := 0; try < 20 && os.Remove(dirs[i]) != nil; try++ {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
		os.Remove(filepath.Join(h, "kubepods", "besteffort"))
		os.Remove(filepath.Join(h, "kubepods", "burstable"))
		os.Remove(filepath.Join(h, "kubepods"))
	}
}
