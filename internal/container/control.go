package container

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"google.golang.org/grpc/metadata"
)

// Controller changes a container through its engine: the only calls in
// this package that are not read-only, used by internal/respond. id may be
// the short id alerts carry; namespace is containerd's (empty elsewhere).
type Controller interface {
	// Pause freezes every process of the container (the cgroup freezer).
	Pause(ctx context.Context, namespace, id string) error
	// Stop asks the container to stop (SIGTERM) and kills it after grace.
	Stop(ctx context.Context, namespace, id string, grace time.Duration) error
	// Isolate disconnects the container from every network it is on and
	// returns the networks' names.
	Isolate(ctx context.Context, namespace, id string) ([]string, error)
}

// ErrNotSupported is returned by a Controller for an action its engine has
// no API for (containerd has no networks of its own: CNI sets them up).
var ErrNotSupported = errors.New("not supported by this engine")

// Pause implements Controller.
func (d *Docker) Pause(ctx context.Context, _, id string) error {
	_, err := d.cli.ContainerPause(ctx, id, client.ContainerPauseOptions{})
	return err
}

// Stop implements Controller.
func (d *Docker) Stop(ctx context.Context, _, id string, grace time.Duration) error {
	secs := int(grace / time.Second)
	_, err := d.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs})
	return err
}

// Isolate implements Controller: every network in the container's
// settings is disconnected, forced (the endpoint goes even if the network
// driver complains).
func (d *Docker) Isolate(ctx context.Context, _, id string) ([]string, error) {
	res, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, err
	}
	var names []string
	if ns := res.Container.NetworkSettings; ns != nil {
		for name := range ns.Networks {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var errs []error
	var done []string
	for _, n := range names {
		if _, err := d.cli.NetworkDisconnect(ctx, n, client.NetworkDisconnectOptions{Container: id, Force: true}); err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", n, err))
			continue
		}
		done = append(done, n)
	}
	return done, errors.Join(errs...)
}

// controlContext puts the namespace in ctx and finds the full id of a
// short one (nerdctl's hex ids are shortened in alerts).
func (c *Containerd) controlContext(ctx context.Context, namespace, id string) (context.Context, string, error) {
	if namespace == "" {
		namespace = "default"
	}
	ctx = metadata.AppendToOutgoingContext(ctx, namespaceHeader, namespace)
	if _, err := c.containers.Get(ctx, &containersapi.GetContainerRequest{ID: id}); err == nil {
		return ctx, id, nil
	} else if err = grpcError(err); !isNotFound(err) {
		return ctx, "", err
	}
	res, err := c.containers.List(ctx, &containersapi.ListContainersRequest{})
	if err != nil {
		return ctx, "", grpcError(err)
	}
	full := ""
	for _, ct := range res.Containers {
		if strings.HasPrefix(ct.ID, id) {
			if full != "" {
				return ctx, "", fmt.Errorf("container id %s is ambiguous in namespace %s", id, namespace)
			}
			full = ct.ID
		}
	}
	if full == "" {
		return ctx, "", cerrdefs.ErrNotFound.WithMessage("no container " + id + " in containerd namespace " + namespace)
	}
	return ctx, full, nil
}

// Pause implements Controller with the task service.
func (c *Containerd) Pause(ctx context.Context, namespace, id string) error {
	ctx, id, err := c.controlContext(ctx, namespace, id)
	if err != nil {
		return err
	}
	_, err = tasksapi.NewTasksClient(c.conn).Pause(ctx, &tasksapi.PauseTaskRequest{ContainerID: id})
	return grpcError(err)
}

// Stop implements Controller: SIGTERM to every process of the task, then
// SIGKILL if the task still runs after grace. The task stays (stopped) for
// its owner (ctr, nerdctl, the kubelet) to delete.
func (c *Containerd) Stop(ctx context.Context, namespace, id string, grace time.Duration) error {
	ctx, id, err := c.controlContext(ctx, namespace, id)
	if err != nil {
		return err
	}
	tasks := tasksapi.NewTasksClient(c.conn)
	if _, err := tasks.Kill(ctx, &tasksapi.KillRequest{ContainerID: id, Signal: uint32(syscall.SIGTERM), All: true}); err != nil {
		return grpcError(err)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		res, err := tasks.Get(ctx, &tasksapi.GetRequest{ContainerID: id})
		if err != nil {
			if err = grpcError(err); isNotFound(err) {
				return nil
			}
			return err
		}
		if res.Process == nil || res.Process.Status.String() == "STOPPED" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	_, err = tasks.Kill(ctx, &tasksapi.KillRequest{ContainerID: id, Signal: uint32(syscall.SIGKILL), All: true})
	return grpcError(err)
}

// Isolate implements Controller: containerd has no network API.
func (c *Containerd) Isolate(context.Context, string, string) ([]string, error) {
	return nil, fmt.Errorf("isolate: %w (containerd: its networks are CNI's)", ErrNotSupported)
}
