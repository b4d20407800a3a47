package container

import (
	"context"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/palisade-sec/palisade/internal/event"
)

// Docker speaks the Docker Engine API: to a Docker daemon, rootful or
// rootless, or to podman's Docker-compatible service (podman system
// service), negotiating the API version down to the daemon's.
type Docker struct {
	cli     *client.Client
	host    string
	runtime string
	owner   int

	initMu sync.Mutex
	inits  map[string]int // InitPIDs' answers: a running container's init does not change
}

// NewDocker connects to DOCKER_HOST or the default socket, lazily: errors
// surface on the first call.
func NewDocker() (*Docker, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, err
	}
	return &Docker{cli: cli, host: cli.DaemonHost(), runtime: RuntimeDocker, owner: -1}, nil
}

// DialDocker connects to the Engine API at host ("unix:///run/podman/podman.sock")
// whose containers are of runtime (RuntimeDocker or RuntimePodman) and
// whose daemon runs as owner (-1: rootful).
func DialDocker(host, runtime string, owner int) (*Docker, error) {
	cli, err := client.New(client.WithHost(host))
	if err != nil {
		return nil, err
	}
	return &Docker{cli: cli, host: host, runtime: runtime, owner: owner}, nil
}

const actionRemove = "remove"

// Runtime implements Daemon.
func (d *Docker) Runtime() string { return d.runtime }

// Owner implements Daemon.
func (d *Docker) Owner() int { return d.owner }

// Endpoint implements Daemon.
func (d *Docker) Endpoint() string {
	name := d.runtime
	if d.owner >= 0 {
		name = "rootless " + name
	}
	return name + " at " + d.host
}

// Watch implements Feed with the Engine API's event stream (container
// create and destroy).
func (d *Docker) Watch(ctx context.Context, created func(Ref, *event.Container), destroyed func(Ref)) error {
	// Podman's Docker API reports a removal as "remove", Docker's as "destroy".
	gone := []string{string(events.ActionDestroy)}
	if d.runtime == RuntimePodman {
		gone = append(gone, actionRemove)
	}
	res := d.cli.Events(ctx, client.EventsListOptions{
		Filters: make(client.Filters).Add("type", string(events.ContainerEventType)).
			Add("event", append([]string{string(events.ActionCreate)}, gone...)...),
	})
	for {
		select {
		case m := <-res.Messages:
			switch m.Action {
			case events.ActionCreate:
				created(Ref{ID: m.Actor.ID}, fromAttributes(m.Actor.ID, m.Actor.Attributes))
			case events.ActionDestroy, actionRemove:
				destroyed(Ref{ID: m.Actor.ID})
			}
		case err := <-res.Err:
			return err
		case <-ctx.Done():
			return nil
		}
	}
}

// fromAttributes is what a create event says of its container: Docker
// and podman both name it and its image there.
func fromAttributes(id string, attrs map[string]string) *event.Container {
	if attrs["name"] == "" {
		return nil
	}
	c := &event.Container{ID: shortID(id), Name: attrs["name"], Image: attrs["image"]}
	if c.Image != "" {
		c.ImageRepository, c.ImageTag, c.ImageDigest = SplitImage(c.Image)
	}
	return c
}

// Close releases the client.
func (d *Docker) Close() error { return d.cli.Close() }

// Ping implements Daemon.
func (d *Docker) Ping(ctx context.Context) error {
	_, err := d.cli.Ping(ctx, client.PingOptions{})
	return err
}

// Lookup implements Daemon.
func (d *Docker) Lookup(ctx context.Context, ref Ref) (*event.Container, error) {
	return d.Inspect(ctx, ref.ID)
}

// Inspect reads one container by id or name.
func (d *Docker) Inspect(ctx context.Context, id string) (*event.Container, error) {
	res, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, err
	}
	in := res.Container
	c := &event.Container{ID: shortID(in.ID), Name: strings.TrimPrefix(in.Name, "/"), ImageID: in.Image, Type: d.runtime}
	if in.Config != nil {
		c.Image = in.Config.Image
		c.ImageRepository, c.ImageTag, c.ImageDigest = SplitImage(in.Config.Image)
		c.Labels = in.Config.Labels
		c.K8sNamespace = in.Config.Labels["io.kubernetes.pod.namespace"]
		c.K8sPodName = in.Config.Labels["io.kubernetes.pod.name"]
		c.K8sPodUID = in.Config.Labels["io.kubernetes.pod.uid"]
	}
	if in.HostConfig != nil {
		c.Privileged, c.HasPrivileged = in.HostConfig.Privileged, true
		c.HostPID = string(in.HostConfig.PidMode) == "host"
		c.HostNetwork = string(in.HostConfig.NetworkMode) == "host"
		c.HostIPC = string(in.HostConfig.IpcMode) == "host"
	}
	if in.State != nil {
		if t, err := time.Parse(time.RFC3339Nano, in.State.StartedAt); err == nil && t.Year() > 1 {
			c.StartTime = t.UnixNano()
		}
	}
	for _, m := range in.Mounts {
		c.Mounts = append(c.Mounts, event.Mount{Source: m.Source, Dest: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: string(m.Propagation)})
	}
	return c, nil
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
