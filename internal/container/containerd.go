package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	eventsapi "github.com/containerd/containerd/api/services/events/v1"
	namespacesapi "github.com/containerd/containerd/api/services/namespaces/v1"
	cerrdefs "github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/palisade-sec/palisade/internal/event"
)

// namespaceHeader is the gRPC metadata key containerd reads a request's
// namespace from.
const namespaceHeader = "containerd-namespace"

// dockerNamespaces hold Docker's own containers (and plugins): their cgroups
// name Docker, and Docker's API gives their names; containerd only knows
// their ids.
var dockerNamespaces = map[string]bool{"moby": true, "plugins.moby": true}

// Containerd reads containers from containerd's gRPC API, in every
// namespace (ctr and nerdctl in "default", Kubernetes' CRI in "k8s.io",
// any other): read-only calls, except the task calls of control.go.
type Containerd struct {
	conn       *grpc.ClientConn
	addr       string
	owner      int
	containers containersapi.ContainersClient
	namespaces namespacesapi.NamespacesClient
	events     eventsapi.EventsClient

	mu     sync.Mutex
	nsList []string
	nsTime time.Time
	// cri is the CRI plugin on the same socket, when it answers: its feed
	// reports the CRI's containers with their pods, this one skips them.
	cri *CRI
}

// criOnSocket records that the CRI endpoint c serves this containerd.
func (c *Containerd) criOnSocket(cri *CRI) {
	c.mu.Lock()
	c.cri = cri
	c.mu.Unlock()
}

// leavesToCRI reports whether namespace ns's containers are followed by
// the CRI on the same socket (while it answers).
func (c *Containerd) leavesToCRI(ns string) bool {
	c.mu.Lock()
	cri := c.cri
	c.mu.Unlock()
	return ns == criNamespace && cri != nil && cri.answering.Load()
}

// DialContainerd connects lazily to containerd's socket (a path);
// owner is -1 for a rootful containerd.
func DialContainerd(socket string, owner int) (*Containerd, error) {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return &Containerd{conn: conn, addr: "unix://" + socket, owner: owner,
		containers: containersapi.NewContainersClient(conn), namespaces: namespacesapi.NewNamespacesClient(conn),
		events: eventsapi.NewEventsClient(conn)}, nil
}

// Runtime implements Daemon.
func (c *Containerd) Runtime() string { return RuntimeContainerd }

// Owner implements Daemon.
func (c *Containerd) Owner() int { return c.owner }

// Endpoint implements Daemon.
func (c *Containerd) Endpoint() string { return "containerd at " + c.addr }

// Close releases the connection.
func (c *Containerd) Close() error { return c.conn.Close() }

// Ping implements Daemon.
func (c *Containerd) Ping(ctx context.Context) error {
	_, err := c.namespaces.List(ctx, &namespacesapi.ListNamespacesRequest{})
	return grpcError(err)
}

// namespaceList is containerd's namespaces but Docker's, listed at most
// once a second.
func (c *Containerd) namespaceList(ctx context.Context) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nsList != nil && time.Since(c.nsTime) < time.Second {
		return c.nsList, nil
	}
	res, err := c.namespaces.List(ctx, &namespacesapi.ListNamespacesRequest{})
	if err != nil {
		return nil, grpcError(err)
	}
	var out []string
	for _, ns := range res.Namespaces {
		if !dockerNamespaces[ns.Name] {
			out = append(out, ns.Name)
		}
	}
	c.nsList, c.nsTime = out, time.Now()
	return out, nil
}

// Lookup implements Daemon: the container in ref's namespace, or in the
// first namespace that has it when the cgroup named none (systemd layouts).
func (c *Containerd) Lookup(ctx context.Context, ref Ref) (*event.Container, error) {
	namespaces := []string{ref.Namespace}
	if ref.Namespace == "" {
		var err error
		if namespaces, err = c.namespaceList(ctx); err != nil {
			return nil, err
		}
	} else if dockerNamespaces[ref.Namespace] {
		return nil, cerrdefs.ErrNotFound.WithMessage("namespace " + ref.Namespace + " is Docker's")
	}
	for _, ns := range namespaces {
		res, err := c.containers.Get(metadata.AppendToOutgoingContext(ctx, namespaceHeader, ns), &containersapi.GetContainerRequest{ID: ref.ID})
		if err != nil {
			if err = grpcError(err); isNotFound(err) {
				continue
			}
			return nil, err
		}
		return fromContainerd(ns, res.Container), nil
	}
	return nil, cerrdefs.ErrNotFound.WithMessage("no container " + ref.ID + " in containerd")
}

// fromContainerd reads a container's record: its name is Kubernetes' name
// for it (CRI), nerdctl's, or its id (ctr).
func fromContainerd(ns string, in *containersapi.Container) *event.Container {
	c := &event.Container{ID: Ref{ID: in.ID}.ShortID(), Name: in.ID, Type: RuntimeContainerd, Labels: in.Labels,
		Image: in.Image}
	if n := in.Labels["io.kubernetes.container.name"]; n != "" {
		c.Name = n
	} else if n := in.Labels["nerdctl/name"]; n != "" {
		c.Name = n
	}
	if in.Image != "" {
		c.ImageRepository, c.ImageTag, c.ImageDigest = SplitImage(in.Image)
	}
	c.K8sNamespace = in.Labels["io.kubernetes.pod.namespace"]
	c.K8sPodName = in.Labels["io.kubernetes.pod.name"]
	c.K8sPodUID = in.Labels["io.kubernetes.pod.uid"]
	if in.CreatedAt != nil {
		c.StartTime = in.CreatedAt.AsTime().UnixNano()
	}
	if ns != "" && c.Labels["io.kubernetes.pod.namespace"] == "" {
		c.Labels = withLabel(c.Labels, "io.containerd.namespace", ns)
	}
	return c
}

// Watch implements Feed with containerd's event stream (container create
// and delete, every namespace but Docker's).
func (c *Containerd) Watch(ctx context.Context, created func(Ref, *event.Container), destroyed func(Ref)) error {
	sub, err := c.events.Subscribe(ctx, &eventsapi.SubscribeRequest{
		Filters: []string{`topic=="/containers/create"`, `topic=="/containers/delete"`},
	})
	if err != nil {
		return grpcError(err)
	}
	for {
		env, err := sub.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return errors.New("containerd closed the event stream")
			}
			return grpcError(err)
		}
		if env.Event == nil || dockerNamespaces[env.Namespace] || c.leavesToCRI(env.Namespace) {
			continue
		}
		switch env.Topic {
		case "/containers/create":
			var e apievents.ContainerCreate
			if env.Event.UnmarshalTo(&e) == nil {
				created(Ref{ID: e.ID, Namespace: env.Namespace}, fromContainerd(env.Namespace, &containersapi.Container{ID: e.ID, Image: e.Image}))
			}
		case "/containers/delete":
			var e apievents.ContainerDelete
			if env.Event.UnmarshalTo(&e) == nil {
				destroyed(Ref{ID: e.ID, Namespace: env.Namespace})
			}
		}
	}
}

// grpcError turns containerd's NotFound status into errdefs' NotFound.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if status.Code(err) == codes.NotFound {
		return fmt.Errorf("%w: %s", cerrdefs.ErrNotFound, status.Convert(err).Message())
	}
	return err
}

// withLabel copies labels with k=v added: the namespace is not one of the
// container's own labels, but rules may need it to tell containers apart.
func withLabel(labels map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for key, val := range labels {
		out[key] = val
	}
	out[k] = v
	return out
}
