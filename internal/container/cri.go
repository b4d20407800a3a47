package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/palisade-sec/palisade/internal/event"
)

// criNamespace is the containerd namespace the CRI plugin keeps its pods
// and containers in (containerd and k3s both).
const criNamespace = "k8s.io"

// podCacheSize bounds how many pods a CRI engine remembers: a node runs
// at most a few hundred (kubelet's default limit is 110).
const podCacheSize = 1024

// CRI reads containers and pods from a Kubernetes Container Runtime
// Interface endpoint (containerd's CRI plugin, CRI-O, k3s' containerd):
// container name, image, labels and mounts from ContainerStatus, the pod's
// name, namespace, uid, labels and host namespaces from PodSandboxStatus.
// Read-only calls only.
type CRI struct {
	conn *grpc.ClientConn
	addr string
	rt   runtimeapi.RuntimeServiceClient
	// poll is how often ListContainers is read when the runtime has no
	// container event stream (containerd before 1.7).
	poll time.Duration
	// answering is whether the last Version call succeeded.
	answering atomic.Bool

	mu      sync.Mutex
	runtime string // container.type: from the runtime's name once it answers
	version string // "containerd 1.6.20" from Version
	pods    map[string]*criPod
	podAge  []string // pods in the order they were cached, oldest first
}

// criPod is what PodSandboxStatus says of a pod.
type criPod struct {
	name, namespace, uid          string
	labels                        map[string]string
	hostPID, hostNetwork, hostIPC bool
}

// DialCRI connects lazily to a CRI endpoint's socket (a path). runtime is
// container.type until the endpoint says its name (RuntimeContainerd,
// RuntimeCRIO, or RuntimeCRI when the socket path does not say).
func DialCRI(socket, runtime string) (*CRI, error) {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		return nil, err
	}
	return &CRI{conn: conn, addr: "unix://" + socket, rt: runtimeapi.NewRuntimeServiceClient(conn),
		poll: time.Second, runtime: runtime, pods: map[string]*criPod{}}, nil
}

// Runtime implements Daemon: the runtime behind the endpoint.
func (c *CRI) Runtime() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runtime
}

// Owner implements Daemon: CRI runtimes run as root.
func (c *CRI) Owner() int { return -1 }

// Endpoint implements Daemon.
func (c *CRI) Endpoint() string { return "CRI at " + c.addr }

// Close releases the connection.
func (c *CRI) Close() error { return c.conn.Close() }

// Ping implements Daemon with Version, which also names the runtime.
func (c *CRI) Ping(ctx context.Context) error {
	_, err := c.Version(ctx)
	return err
}

// Version asks the endpoint which runtime it is ("containerd 1.6.20",
// "cri-o 1.31.0") and the CRI version it speaks. A containerd whose CRI
// plugin is off answers Unimplemented.
func (c *CRI) Version(ctx context.Context) (string, error) {
	v, err := c.rt.Version(ctx, &runtimeapi.VersionRequest{})
	c.answering.Store(err == nil)
	if err != nil {
		return "", criError(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runtime = criRuntime(v.RuntimeName, c.runtime)
	c.version = strings.TrimSpace(v.RuntimeName + " " + v.RuntimeVersion)
	return c.version + " (CRI " + v.RuntimeApiVersion + ")", nil
}

// criRuntime is container.type for a CRI runtime's name; other names
// (a runtime Palisade does not know) keep what the socket path said.
func criRuntime(name, was string) string {
	switch strings.ToLower(name) {
	case "containerd":
		return RuntimeContainerd
	case "cri-o", "crio":
		return RuntimeCRIO
	}
	if was == "" {
		return RuntimeCRI
	}
	return was
}

// Lookup implements Daemon: ContainerStatus (verbose, for the sandbox id
// and privileged flag), then the pod, cached. A containerd namespace other
// than the CRI's is not the CRI's: not found without asking.
func (c *CRI) Lookup(ctx context.Context, ref Ref) (*event.Container, error) {
	if ref.Namespace != "" && ref.Namespace != criNamespace {
		return nil, cerrdefs.ErrNotFound.WithMessage("namespace " + ref.Namespace + " is not the CRI's")
	}
	res, err := c.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ref.ID, Verbose: true})
	if err != nil {
		return nil, criError(err)
	}
	if res.Status == nil {
		return nil, cerrdefs.ErrNotFound.WithMessage("no status for container " + ref.ID)
	}
	info := parseCRIInfo(res.Info)
	sandbox := info.SandboxID
	if sandbox == "" {
		// Runtimes that say nothing verbose: the listing has the sandbox.
		list, err := c.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: res.Status.Id}})
		if err != nil {
			return nil, criError(err)
		}
		for _, l := range list.Containers {
			if l.Id == res.Status.Id {
				sandbox = l.PodSandboxId
			}
		}
	}
	var pod *criPod
	if sandbox != "" {
		if pod, err = c.pod(ctx, sandbox); err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	ctr := fromCRI(res.Status, pod)
	ctr.Privileged, ctr.HasPrivileged = info.privileged()
	ctr.Type = c.Runtime()
	return ctr, nil
}

// criInfo is the part of a verbose ContainerStatus's "info" Palisade
// reads: the sandbox id (containerd and CRI-O alike) and whether the
// container is privileged, which CRI-O says at the top and containerd in
// the container's CRI config (left out when false).
type criInfo struct {
	SandboxID  string `json:"sandboxID"`
	Privileged *bool  `json:"privileged"`
	Config     *struct {
		Linux struct {
			SecurityContext struct {
				Privileged bool `json:"privileged"`
			} `json:"security_context"`
		} `json:"linux"`
	} `json:"config"`
}

// privileged reports the container's privileged flag and whether the
// info said it.
func (i criInfo) privileged() (privileged, known bool) {
	switch {
	case i.Privileged != nil:
		return *i.Privileged, true
	case i.Config != nil:
		return i.Config.Linux.SecurityContext.Privileged, true
	}
	return false, false
}

func parseCRIInfo(info map[string]string) criInfo {
	var out criInfo
	if s, ok := info["info"]; ok {
		json.Unmarshal([]byte(s), &out)
	}
	return out
}

// pod is the sandbox id's pod, from the cache or PodSandboxStatus. The
// cache keeps the newest podCacheSize pods.
func (c *CRI) pod(ctx context.Context, id string) (*criPod, error) {
	c.mu.Lock()
	p, ok := c.pods[id]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	res, err := c.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		return nil, criError(err)
	}
	s := res.Status
	if s == nil {
		return nil, cerrdefs.ErrNotFound.WithMessage("no status for pod " + id)
	}
	p = &criPod{labels: s.Labels}
	if m := s.Metadata; m != nil {
		p.name, p.namespace, p.uid = m.Name, m.Namespace, m.Uid
	}
	if s.Linux != nil && s.Linux.Namespaces != nil && s.Linux.Namespaces.Options != nil {
		o := s.Linux.Namespaces.Options
		p.hostPID = o.Pid == runtimeapi.NamespaceMode_NODE
		p.hostNetwork = o.Network == runtimeapi.NamespaceMode_NODE
		p.hostIPC = o.Ipc == runtimeapi.NamespaceMode_NODE
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[id]; !ok {
		c.pods[id] = p
		c.podAge = append(c.podAge, id)
		for len(c.podAge) > podCacheSize {
			delete(c.pods, c.podAge[0])
			c.podAge = c.podAge[1:]
		}
	}
	return p, nil
}

// forgetPod drops a removed pod from the cache.
func (c *CRI) forgetPod(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[id]; !ok {
		return
	}
	delete(c.pods, id)
	for i, p := range c.podAge {
		if p == id {
			c.podAge = append(c.podAge[:i], c.podAge[i+1:]...)
			break
		}
	}
}

// fromCRI reads a container's status and its pod (nil when unknown: the
// io.kubernetes.pod.* labels kubelet puts on each container stand in).
// Labels are the container's, with the pod's labels added where the
// container has no label of that key: k8s.pod.label[KEY] reads them.
func fromCRI(s *runtimeapi.ContainerStatus, pod *criPod) *event.Container {
	c := &event.Container{ID: Ref{ID: s.Id}.ShortID(), Labels: s.Labels, ImageID: s.ImageRef}
	if s.Metadata != nil {
		c.Name = s.Metadata.Name
	}
	if s.Image != nil {
		c.Image = s.Image.Image
		if s.Image.UserSpecifiedImage != "" {
			c.Image = s.Image.UserSpecifiedImage
		}
	}
	if strings.HasPrefix(c.Image, "sha256:") && s.ImageRef != "" {
		// CRI-O answers with the image id; the reference names it.
		c.Image = s.ImageRef
	}
	if c.Image != "" {
		c.ImageRepository, c.ImageTag, c.ImageDigest = SplitImage(c.Image)
	}
	if s.StartedAt > 0 {
		c.StartTime = s.StartedAt
	} else if s.CreatedAt > 0 {
		c.StartTime = s.CreatedAt
	}
	for _, m := range s.Mounts {
		mode := "rw"
		if m.Readonly {
			mode = "ro"
		}
		c.Mounts = append(c.Mounts, event.Mount{Source: m.HostPath, Dest: m.ContainerPath, Mode: mode, RW: !m.Readonly,
			Propagation: criPropagation(m.Propagation)})
	}
	c.K8sNamespace = s.Labels["io.kubernetes.pod.namespace"]
	c.K8sPodName = s.Labels["io.kubernetes.pod.name"]
	c.K8sPodUID = s.Labels["io.kubernetes.pod.uid"]
	if pod == nil {
		return c
	}
	if pod.name != "" {
		c.K8sPodName, c.K8sNamespace, c.K8sPodUID = pod.name, pod.namespace, pod.uid
	}
	c.HostPID, c.HostNetwork, c.HostIPC = pod.hostPID, pod.hostNetwork, pod.hostIPC
	if len(pod.labels) > 0 {
		merged := make(map[string]string, len(s.Labels)+len(pod.labels))
		for k, v := range pod.labels {
			merged[k] = v
		}
		for k, v := range s.Labels {
			merged[k] = v
		}
		c.Labels = merged
	}
	return c
}

// criPropagation spells a CRI mount propagation as Docker does.
func criPropagation(p runtimeapi.MountPropagation) string {
	switch p {
	case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
		return "rslave"
	case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
		return "rshared"
	}
	return "rprivate"
}

// Watch implements Feed with the CRI's container event stream
// (GetContainerEvents, containerd 1.7+ and CRI-O 1.26+); a runtime without
// it is polled with ListContainers every poll interval instead.
func (c *CRI) Watch(ctx context.Context, created func(Ref, *event.Container), destroyed func(Ref)) error {
	stream, err := c.rt.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err == nil {
		var ev *runtimeapi.ContainerEventResponse
		if ev, err = stream.Recv(); err == nil {
			c.event(ev, created, destroyed)
			for {
				ev, err := stream.Recv()
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					if errors.Is(err, io.EOF) {
						return errors.New("the CRI closed the event stream")
					}
					return criError(err)
				}
				c.event(ev, created, destroyed)
			}
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if status.Code(err) != codes.Unimplemented {
		return criError(err)
	}
	return c.pollContainers(ctx, created, destroyed)
}

func (c *CRI) event(ev *runtimeapi.ContainerEventResponse, created func(Ref, *event.Container), destroyed func(Ref)) {
	if ev.PodSandboxStatus != nil && ev.PodSandboxStatus.Id == ev.ContainerId {
		// The sandbox itself: a removed pod leaves the cache.
		if ev.ContainerEventType == runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT {
			c.forgetPod(ev.ContainerId)
		}
		return
	}
	switch ev.ContainerEventType {
	case runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT:
		created(Ref{ID: ev.ContainerId, Namespace: criNamespace}, nil)
	case runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT:
		destroyed(Ref{ID: ev.ContainerId, Namespace: criNamespace})
	}
}

// pollContainers lists the containers every poll interval and reports the
// new and the gone; pods gone from ListPodSandbox leave the pod cache.
func (c *CRI) pollContainers(ctx context.Context, created func(Ref, *event.Container), destroyed func(Ref)) error {
	known := map[string]bool{}
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(c.poll):
			}
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		res, err := c.rt.ListContainers(lctx, &runtimeapi.ListContainersRequest{})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return criError(err)
		}
		now := make(map[string]bool, len(res.Containers))
		pods := map[string]bool{}
		for _, l := range res.Containers {
			now[l.Id] = true
			pods[l.PodSandboxId] = true
			if !known[l.Id] {
				created(Ref{ID: l.Id, Namespace: criNamespace}, nil)
			}
		}
		for id := range known {
			if !now[id] {
				destroyed(Ref{ID: id, Namespace: criNamespace})
			}
		}
		known = now
		c.mu.Lock()
		var gone []string
		for id := range c.pods {
			if !pods[id] {
				gone = append(gone, id)
			}
		}
		c.mu.Unlock()
		for _, id := range gone {
			c.forgetPod(id)
		}
	}
}

// IsUnimplemented reports an endpoint without the CRI (a containerd whose
// CRI plugin is off).
func IsUnimplemented(err error) bool { return status.Code(err) == codes.Unimplemented }

// criError turns the CRI's not-found answers into errdefs' NotFound:
// the NotFound code, or (CRI-O, older containerd) a message saying so.
func criError(err error) error {
	if err == nil {
		return nil
	}
	st := status.Convert(err)
	msg := strings.ToLower(st.Message())
	if st.Code() == codes.NotFound || (st.Code() == codes.Unknown &&
		(strings.Contains(msg, "not found") || strings.Contains(msg, "could not find") || strings.Contains(msg, "does not exist"))) {
		return fmt.Errorf("%w: %s", cerrdefs.ErrNotFound, st.Message())
	}
	return err
}
