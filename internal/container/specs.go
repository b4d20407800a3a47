package container

import (
	"context"
	"encoding/json"
	"fmt"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	"google.golang.org/grpc/metadata"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Spec is a live container's OCI runtime spec as its engine holds it,
// for palisade audit.
type Spec struct {
	ID        string
	Name      string // the CRI's container name; containerd's id
	Namespace string // containerd namespace, or the pod's Kubernetes namespace
	Pod       string // the pod's name (CRI)
	// Privileged is the CRI's flag (PrivilegedKnown when it said it).
	Privileged, PrivilegedKnown bool
	// HostPID, HostNetwork and HostIPC are the pod's (CRI): its containers
	// join the sandbox's namespaces by path, which the spec alone cannot
	// tell from the host's.
	HostPID, HostNetwork, HostIPC bool
	// Runtime is the OCI runtime spec (JSON), nil when the engine gave none.
	Runtime json.RawMessage
}

// Specs lists the running containers of the CRI with their runtime specs
// (verbose ContainerStatus: containerd and CRI-O both put the spec there)
// and their pods.
func (c *CRI) Specs(ctx context.Context) ([]Spec, error) {
	res, err := c.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}})
	if err != nil {
		return nil, criError(err)
	}
	var out []Spec
	for _, l := range res.Containers {
		st, err := c.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: l.Id, Verbose: true})
		if err != nil {
			if isNotFound(criError(err)) {
				continue // gone since the listing
			}
			return nil, criError(err)
		}
		s := Spec{ID: l.Id}
		if l.Metadata != nil {
			s.Name = l.Metadata.Name
		}
		var info struct {
			criInfo
			RuntimeSpec json.RawMessage `json:"runtimeSpec"`
		}
		if raw, ok := st.Info["info"]; ok {
			if err := json.Unmarshal([]byte(raw), &info); err != nil {
				return nil, fmt.Errorf("container %s: verbose status: %w", l.Id, err)
			}
		}
		s.Runtime = info.RuntimeSpec
		s.Privileged, s.PrivilegedKnown = info.criInfo.privileged()
		if p, err := c.pod(ctx, l.PodSandboxId); err == nil {
			s.Pod, s.Namespace = p.name, p.namespace
			s.HostPID, s.HostNetwork, s.HostIPC = p.hostPID, p.hostNetwork, p.hostIPC
		} else {
			s.Pod, s.Namespace = l.Labels["io.kubernetes.pod.name"], l.Labels["io.kubernetes.pod.namespace"]
		}
		out = append(out, s)
	}
	return out, nil
}

// Specs lists containerd's containers with their runtime specs, in every
// namespace but Docker's and those in skip (the CRI's, audited through
// the CRI).
func (c *Containerd) Specs(ctx context.Context, skip map[string]bool) ([]Spec, error) {
	namespaces, err := c.namespaceList(ctx)
	if err != nil {
		return nil, err
	}
	var out []Spec
	for _, ns := range namespaces {
		if skip[ns] {
			continue
		}
		res, err := c.containers.List(metadata.AppendToOutgoingContext(ctx, namespaceHeader, ns), &containersapi.ListContainersRequest{})
		if err != nil {
			return nil, grpcError(err)
		}
		for _, in := range res.Containers {
			s := Spec{ID: in.ID, Name: in.ID, Namespace: ns}
			if in.Spec != nil {
				s.Runtime = in.Spec.Value // the spec's JSON, as containerd's client stores it
			}
			out = append(out, s)
		}
	}
	return out, nil
}
