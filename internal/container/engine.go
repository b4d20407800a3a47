package container

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/kernel"
)

// Engine is what a Docker Engine says about itself (GET /info), and the
// API version the client negotiated with it.
type Engine struct {
	ServerVersion   string
	API             string
	SecurityOptions []string
	CgroupVersion   string
	CgroupDriver    string
	// Runc is the runc version or commit the daemon reports (RuncCommit.ID).
	Runc string
}

// DockerSocket is $DOCKER_HOST when it names a unix socket, else the
// default socket.
func DockerSocket() string {
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		return strings.TrimPrefix(h, "unix://")
	}
	return "/var/run/docker.sock"
}

// NewDockerAt connects lazily to the Engine listening on a unix socket
// (NewDocker follows DOCKER_HOST instead).
func NewDockerAt(socket string) (*Docker, error) {
	cli, err := client.New(client.WithHost("unix://" + socket))
	if err != nil {
		return nil, err
	}
	return &Docker{cli: cli, host: "unix://" + socket, runtime: RuntimeDocker, owner: -1}, nil
}

// Engine asks the daemon about itself, after negotiating the API version
// down to the daemon's.
func (d *Docker) Engine(ctx context.Context) (Engine, error) {
	if _, err := d.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return Engine{}, err
	}
	res, err := d.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return Engine{}, err
	}
	in := res.Info
	return Engine{ServerVersion: in.ServerVersion, API: d.cli.ClientVersion(), SecurityOptions: in.SecurityOptions,
		CgroupVersion: in.CgroupVersion, CgroupDriver: in.CgroupDriver, Runc: in.RuncCommit.ID}, nil
}

// engineTimeout bounds the whole conversation DaemonChecks has with a daemon.
const engineTimeout = 5 * time.Second

// DaemonChecks asks the Engine at socket about itself and judges what it
// gives containers by default: a warning with the fix when it does not
// answer (detection works without it, alerts lack container names), else
// the daemon's version and its seccomp, user-namespace and MAC settings.
func DaemonChecks(ctx context.Context, socket string) []kernel.Check {
	e, err := askEngine(ctx, socket)
	if err != nil {
		return []kernel.Check{{
			Name: "docker", Status: kernel.Warn,
			Detail: fmt.Sprintf("no Docker Engine at %s: %v; detection still works, alerts lack container names and images", socket, err),
			Fix:    "start dockerd, or point --docker-socket / DOCKER_HOST=unix://PATH at its socket",
		}}
	}
	return EngineChecks(socket, e)
}

// AskEngine asks the Engine at socket about itself, within engineTimeout.
func AskEngine(ctx context.Context, socket string) (Engine, error) { return askEngine(ctx, socket) }

func askEngine(ctx context.Context, socket string) (Engine, error) {
	if _, err := os.Stat(socket); err != nil {
		return Engine{}, fmt.Errorf("socket missing")
	}
	d, err := NewDockerAt(socket)
	if err != nil {
		return Engine{}, err
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(ctx, engineTimeout)
	defer cancel()
	return d.Engine(ctx)
}

// securityOptions turns Docker's ["name=seccomp,profile=builtin", ...]
// into name -> key/value pairs.
func securityOptions(opts []string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, o := range opts {
		kv := map[string]string{}
		name := ""
		for _, f := range strings.Split(o, ",") {
			k, v, _ := strings.Cut(f, "=")
			if k == "name" {
				name = v
			} else {
				kv[k] = v
			}
		}
		if name == "" {
			name = o // pre-1.25 daemons listed bare names
		}
		out[name] = kv
	}
	return out
}

// EngineChecks turns what the daemon at socket said into checks: its
// version, then its default seccomp profile, user-namespace remapping and
// SELinux/AppArmor confinement, each a warning with its fix when missing.
func EngineChecks(socket string, e Engine) []kernel.Check {
	opts := securityOptions(e.SecurityOptions)
	cg := e.CgroupVersion
	if cg == "" {
		cg = "?"
	}
	checks := []kernel.Check{{
		Name:   "docker",
		Status: kernel.OK,
		Detail: fmt.Sprintf("Docker Engine %s at %s (API %s, cgroup v%s, %s driver)", e.ServerVersion, socket, e.API, cg, e.CgroupDriver),
	}}

	sc := kernel.Check{Name: "docker-seccomp"}
	switch p, ok := opts["seccomp"]; {
	case !ok:
		sc.Status, sc.Detail = kernel.Warn, "containers run without a seccomp filter by default"
		sc.Fix = "build dockerd with seccomp support and drop any --seccomp-profile=unconfined from its configuration"
	case p["profile"] == "unconfined":
		sc.Status, sc.Detail = kernel.Warn, "default seccomp profile is unconfined"
		sc.Fix = "remove \"seccomp-profile\": \"unconfined\" from /etc/docker/daemon.json (or use a palisade-generated profile)"
	default:
		sc.Status, sc.Detail = kernel.OK, "default seccomp profile: "+p["profile"]
	}

	us := kernel.Check{Name: "docker-userns"}
	_, rootless := opts["rootless"]
	_, userns := opts["userns"]
	switch {
	case rootless:
		us.Status, us.Detail = kernel.OK, "rootless daemon: container root is an unprivileged host user"
	case userns:
		us.Status, us.Detail = kernel.OK, "user namespace remapping on: container root is not host root"
	default:
		us.Status, us.Detail = kernel.Warn, "neither rootless nor userns-remap: uid 0 in a container is uid 0 on the host"
		us.Fix = "set \"userns-remap\": \"default\" in /etc/docker/daemon.json, or run Docker rootless"
	}

	mac := kernel.Check{Name: "docker-mac"}
	_, selinux := opts["selinux"]
	_, apparmor := opts["apparmor"]
	switch {
	case selinux && apparmor:
		mac.Status, mac.Detail = kernel.OK, "SELinux and AppArmor confinement available"
	case selinux:
		mac.Status, mac.Detail = kernel.OK, "SELinux confinement on (--selinux-enabled)"
	case apparmor:
		mac.Status, mac.Detail = kernel.OK, "AppArmor confinement on (docker-default profile)"
	default:
		mac.Status, mac.Detail = kernel.Warn, "no SELinux or AppArmor confinement for containers"
		mac.Fix = "boot with apparmor=1 security=apparmor (AppArmor) or enable SELinux and set \"selinux-enabled\": true"
	}
	return append(checks, sc, us, mac)
}

// Resolve names a running container by name or id through the Engine
// (DOCKER_HOST or the default socket). Without an Engine, an argument that
// looks like a container id (12 to 64 hex digits) is taken as one, with no
// name; anything else is an error naming it.
func Resolve(ctx context.Context, nameOrID string) (id, name string, err error) {
	d, err := NewDocker()
	if err == nil {
		defer d.Close()
		c, ierr := d.Inspect(ctx, nameOrID)
		if ierr == nil {
			return c.ID, c.Name, nil
		}
		err = ierr
	}
	if len(nameOrID) >= 12 && len(nameOrID) <= 64 && isHex(nameOrID) {
		return nameOrID, "", nil
	}
	return "", "", fmt.Errorf("container %q: %v", escape.Text(nameOrID), err)
}
