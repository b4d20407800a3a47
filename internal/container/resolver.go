package container

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/palisade-sec/palisade/internal/event"
)

// Lookup fetches a container's metadata by id.
type Lookup interface {
	Inspect(ctx context.Context, id string) (*event.Container, error)
}

// Feed reports containers as the engine creates and destroys them.
type Feed interface {
	// Watch calls created and destroyed with each container's full id
	// until ctx ends or the stream breaks (then it returns the error).
	Watch(ctx context.Context, created, destroyed func(id string)) error
}

// Resolver caches container metadata. Lookups that fail are remembered for
// a short while so a dead daemon does not slow every event.
type Resolver struct {
	lookup  Lookup
	timeout time.Duration
	retry   time.Duration
	// linger is how long a destroyed container stays cached: its last
	// records may still be on their way through the agent.
	linger time.Duration

	mu    sync.Mutex
	cache map[string]*entry
}

type entry struct {
	c      *event.Container
	failed time.Time // zero when c is complete
}

// NewResolver makes a resolver over lookup (which may be nil: then only ids
// and runtimes are known, never names).
func NewResolver(lookup Lookup) *Resolver {
	return &Resolver{lookup: lookup, timeout: 2 * time.Second, retry: 5 * time.Second, linger: time.Minute, cache: map[string]*entry{}}
}

// Follow keeps the cache ahead of the events: each container the feed
// reports created is inspected at once, and each destroyed one is dropped
// a while later. Without it a container that runs for a millisecond and is
// removed (docker run --rm) before the agent reads its first record would
// get no name or image: the inspect on first sight would find it gone. It
// returns when ctx ends; a broken stream (a daemon restart) is reopened
// after retry.
func (r *Resolver) Follow(ctx context.Context, feed Feed) {
	created := func(id string) {
		if r.lookup == nil {
			return
		}
		ictx, cancel := context.WithTimeout(ctx, r.timeout)
		c, err := r.lookup.Inspect(ictx, id)
		cancel()
		if err != nil || c == nil {
			return // Get tries again on first sight
		}
		if c.Type == "" {
			c.Type = "docker"
		}
		r.remember(shortID(id), &entry{c: c})
	}
	destroyed := func(id string) {
		time.AfterFunc(r.linger, func() { r.Forget(shortID(id)) })
	}
	for ctx.Err() == nil {
		if err := feed.Watch(ctx, created, destroyed); err == nil || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(r.retry):
		}
	}
}

// Get returns the container for an id, inspecting it on first sight.
func (r *Resolver) Get(ctx context.Context, id, runtime string) *event.Container {
	r.mu.Lock()
	e, ok := r.cache[id]
	if ok && (e.failed.IsZero() || time.Since(e.failed) < r.retry || r.lookup == nil) {
		r.mu.Unlock()
		return e.c
	}
	r.mu.Unlock()
	c := &event.Container{ID: id, Type: runtime}
	var failed time.Time
	if r.lookup != nil {
		ictx, cancel := context.WithTimeout(ctx, r.timeout)
		got, err := r.lookup.Inspect(ictx, id)
		cancel()
		if err == nil && got != nil {
			got.Type = runtime
			c = got
		} else {
			failed = time.Now()
		}
	} else {
		failed = time.Now()
	}
	return r.remember(id, &entry{c: c, failed: failed})
}

// remember caches e under id unless a complete entry is there already (a
// concurrent lookup won), and returns the container cached.
func (r *Resolver) remember(id string, e *entry) *event.Container {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.cache[id]; ok && old.failed.IsZero() {
		return old.c
	}
	r.cache[id] = e
	return e.c
}

// Forget drops a container from the cache (on its removal).
func (r *Resolver) Forget(id string) {
	r.mu.Lock()
	delete(r.cache, id)
	r.mu.Unlock()
}

// Docker inspects containers through the Engine API (DOCKER_HOST or the
// default socket), negotiating the API version down to the daemon's.
type Docker struct {
	cli *client.Client
}

// NewDocker connects lazily; errors surface on the first Inspect.
func NewDocker() (*Docker, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, err
	}
	return &Docker{cli: cli}, nil
}

// Watch implements Feed with the Engine API's event stream (container
// create and destroy).
func (d *Docker) Watch(ctx context.Context, created, destroyed func(id string)) error {
	res := d.cli.Events(ctx, client.EventsListOptions{
		Filters: make(client.Filters).Add("type", string(events.ContainerEventType)).
			Add("event", string(events.ActionCreate), string(events.ActionDestroy)),
	})
	for {
		select {
		case m := <-res.Messages:
			switch m.Action {
			case events.ActionCreate:
				created(m.Actor.ID)
			case events.ActionDestroy:
				destroyed(m.Actor.ID)
			}
		case err := <-res.Err:
			return err
		case <-ctx.Done():
			return nil
		}
	}
}

// Close releases the client.
func (d *Docker) Close() error { return d.cli.Close() }

// Ping reports whether the daemon answers.
func (d *Docker) Ping(ctx context.Context) error {
	_, err := d.cli.Ping(ctx, client.PingOptions{})
	return err
}

// Inspect implements Lookup.
func (d *Docker) Inspect(ctx context.Context, id string) (*event.Container, error) {
	res, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, err
	}
	in := res.Container
	c := &event.Container{ID: shortID(in.ID), Name: strings.TrimPrefix(in.Name, "/"), ImageID: in.Image}
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

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
