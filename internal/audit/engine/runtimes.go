package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	mobycontainer "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/oci"
	"github.com/palisade-sec/palisade/internal/container"
)

// Runtimes are the values audit --runtime takes: auto is every engine
// found on the host.
var Runtimes = []string{"auto", "docker", "podman", "containerd", "cri"}

// Engines is what CollectRuntime read from every engine of a runtime.
type Engines struct {
	Containers []*audit.Container
	Daemons    []*audit.Daemon
	// Asked lists the endpoints that answered ("podman at unix:///...").
	Asked []string
	// Errors are the engines that did not answer: the others are audited.
	Errors []error
}

// CollectRuntime audits every engine of runtime ("auto": all) that
// container.FindSockets finds (DOCKER_HOST, CONTAINER_HOST,
// CONTAINERD_ADDRESS, CONTAINER_RUNTIME_ENDPOINT and the usual sockets,
// rootless ones too) plus criSockets: Docker and podman through the
// Engine API (containers and the daemon's settings), containerd's
// containers through their OCI specs (every namespace but Docker's, and
// but the CRI's where the CRI answers on the same socket), and the CRI's
// running containers through the runtime spec and pod it reports, judged
// as a Kubernetes pod (fixes in securityContext terms). A named runtime
// with no engine found is an error.
func CollectRuntime(ctx context.Context, runtime string, criSockets []string) *Engines {
	out := &Engines{}
	socks := container.FindSocketsWith("/", os.Getenv, criSockets)
	criAt := map[string]bool{} // containerd sockets whose CRI answered
	for _, s := range socks {
		if s.Runtime == container.RuntimeCRI && (runtime == "auto" || runtime == "cri") {
			path, ok := strings.CutPrefix(s.Host, "unix://")
			if !ok {
				continue
			}
			cri, err := container.DialCRI(path, s.Hint)
			if err != nil {
				continue
			}
			if _, err := cri.Version(ctx); err != nil {
				cri.Close()
				if s.Hint == container.RuntimeContainerd && runtime == "auto" {
					continue // containerd without CRI: audited as containerd
				}
				if !container.IsUnimplemented(err) && (runtime != "auto" || !isRefused(err)) {
					out.Errors = append(out.Errors, fmt.Errorf("CRI at %s: %w", s.Host, err))
				}
				continue
			}
			specs, err := cri.Specs(ctx)
			cri.Close()
			if err != nil {
				out.Errors = append(out.Errors, fmt.Errorf("CRI at %s: %w", s.Host, err))
				continue
			}
			criAt[s.Host] = true
			out.Asked = append(out.Asked, cri.Endpoint())
			for _, sp := range specs {
				if c := fromCRISpec(sp); c != nil {
					out.Containers = append(out.Containers, c)
				}
			}
		}
	}
	for _, s := range socks {
		switch {
		case s.Runtime == container.RuntimeCRI:
		case s.Runtime == container.RuntimeContainerd && (runtime == "auto" || runtime == "containerd"):
			path, ok := strings.CutPrefix(s.Host, "unix://")
			if !ok || strings.HasSuffix(path, "/docker/containerd/containerd.sock") {
				continue // Docker's own: its containers are Docker's
			}
			d, err := container.DialContainerd(path, s.Owner)
			if err != nil {
				continue
			}
			skip := map[string]bool{}
			if criAt[s.Host] {
				skip["k8s.io"] = true
			}
			specs, err := d.Specs(ctx, skip)
			d.Close()
			if err != nil {
				out.Errors = append(out.Errors, fmt.Errorf("containerd at %s: %w", s.Host, err))
				continue
			}
			out.Asked = append(out.Asked, d.Endpoint())
			for _, sp := range specs {
				if c := fromContainerdSpec(sp); c != nil {
					out.Containers = append(out.Containers, c)
				}
			}
		case (s.Runtime == container.RuntimeDocker || s.Runtime == container.RuntimePodman) && (runtime == "auto" || runtime == s.Runtime):
			snap, err := CollectAt(ctx, s)
			if err != nil {
				if runtime != "auto" || !isRefused(err) {
					out.Errors = append(out.Errors, err)
				}
				continue
			}
			out.Asked = append(out.Asked, s.Runtime+" at "+s.Host)
			out.Daemons = append(out.Daemons, snap.Daemon)
			out.Containers = append(out.Containers, snap.Containers...)
		}
	}
	if len(out.Asked) == 0 && len(out.Errors) == 0 {
		out.Errors = append(out.Errors, fmt.Errorf("--runtime %s: no engine found on this host (set DOCKER_HOST, CONTAINER_HOST, CONTAINERD_ADDRESS or CONTAINER_RUNTIME_ENDPOINT, or give --cri-socket)", runtime))
	}
	sort.SliceStable(out.Containers, func(i, j int) bool { return out.Containers[i].Target < out.Containers[j].Target })
	return out
}

// isRefused reports a socket nothing listens on (a daemon that left its
// socket behind), which auto passes over.
func isRefused(err error) bool {
	return strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such file")
}

// CollectAt is Collect for the Engine API at s (Docker, rootless Docker
// or podman): the containers are named after their engine when it is not
// the rootful Docker ("podman container /web").
func CollectAt(ctx context.Context, s container.Socket) (*Snapshot, error) {
	cli, err := client.New(client.WithHost(s.Host))
	if err != nil {
		return nil, fmt.Errorf("connect to %s at %s: %w", s.Runtime, s.Host, err)
	}
	defer cli.Close()
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s at %s: info: %w", s.Runtime, s.Host, err)
	}
	h := Host{DockerHost: s.Host}
	if s.Runtime == container.RuntimeDocker && s.Owner < 0 && isLocal(s.Host) {
		h.DockerdArgs = localDockerdArgs()
		h.DaemonJSON, _ = os.ReadFile("/etc/docker/daemon.json")
	}
	d, err := DaemonFromInfo(&info.Info, h)
	if err != nil {
		return nil, err
	}
	prefix := ""
	switch {
	case s.Owner >= 0:
		prefix = fmt.Sprintf("rootless %s (uid %d) ", s.Runtime, s.Owner)
	case s.Runtime != container.RuntimeDocker:
		prefix = s.Runtime + " "
	}
	d.Target = prefix + d.Target
	snap := &Snapshot{Daemon: d, APIVersion: cli.ClientVersion()}
	snap.Containers, err = inspectAll(ctx, cli, d, fmt.Sprintf("%s at %s: ", s.Runtime, s.Host), func(_ *mobycontainer.InspectResponse, c *audit.Container) {
		c.Target = prefix + c.Target
		if c.Group != "" {
			c.Group = prefix + c.Group
		}
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// fromContainerdSpec audits a containerd container by its OCI spec, in
// the spec's own terms; nil when containerd holds no spec for it.
func fromContainerdSpec(sp container.Spec) *audit.Container {
	var s specs.Spec
	if len(sp.Runtime) == 0 || json.Unmarshal(sp.Runtime, &s) != nil {
		return nil
	}
	c := oci.FromSpec(&s, "")
	c.Target = "containerd " + sp.Namespace + "/" + sp.ID
	c.Group = c.Target
	return c
}

// criDefaultCaps is the capability set containerd's CRI gives a container
// that asks for none (CRI-O's is a subset): capabilities beyond it are
// what the pod's securityContext added.
var criDefaultCaps = map[string]bool{"CHOWN": true, "DAC_OVERRIDE": true, "FSETID": true, "FOWNER": true, "MKNOD": true,
	"NET_RAW": true, "SETGID": true, "SETUID": true, "SETFCAP": true, "SETPCAP": true, "NET_BIND_SERVICE": true,
	"SYS_CHROOT": true, "KILL": true, "AUDIT_WRITE": true}

// fromCRISpec audits a pod's container from the runtime spec its CRI
// reports, as a Kubernetes container: capabilities beyond the runtime's
// default set are the securityContext's additions, and fixes are worded
// for the pod spec. nil when the CRI gave no spec.
func fromCRISpec(sp container.Spec) *audit.Container {
	var s specs.Spec
	if len(sp.Runtime) == 0 || json.Unmarshal(sp.Runtime, &s) != nil {
		return nil
	}
	c := oci.FromSpec(&s, "")
	c.Source = audit.SourceKubernetes
	c.Group = "pod " + sp.Namespace + "/" + sp.Pod
	c.Target = c.Group + " container " + sp.Name
	c.Skip = map[string]bool{"no-pids-limit": true, "host-uts": true, "host-userns": true}
	if !sp.PrivilegedKnown {
		c.Skip["privileged"] = true
	}
	c.Privileged = sp.Privileged
	// The spec joins the sandbox's namespaces by /proc/PID/ns path: the
	// pod says whether those are the host's.
	c.HostPID, c.HostNetwork, c.HostIPC = sp.HostPID, sp.HostNetwork, sp.HostIPC
	var added []string
	for _, k := range c.CapAdd {
		if !criDefaultCaps[k] {
			added = append(added, k)
		}
	}
	c.CapAdd, c.KeptCaps = added, nil
	if c.RunsAsRoot != "" {
		c.RunsAsRoot = "the container runs as uid 0 and the pod has no user namespace (runAsNonRoot, runAsUser unset)"
	}
	if c.UnmaskedProc != "" {
		c.UnmaskedProc = "/proc and /sys are not masked (procMount: Unmasked)"
	}
	return c
}
