package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/dockerinspect"
	"github.com/palisade-sec/palisade/internal/exposure"
)

// Snapshot is what Collect read from a daemon.
type Snapshot struct {
	Containers []*audit.Container
	Daemon     *audit.Daemon
	// APIVersion is the negotiated Engine API version.
	APIVersion string
	// Host is what the kernel-exposure checks knew of the daemon's host.
	Host *exposure.Host
}

// Host describes how the daemon is reached and configured locally.
type Host struct {
	// DockerHost is the daemon address (DOCKER_HOST or the default socket).
	DockerHost string
	// TLS is true when the client uses TLS (DOCKER_TLS_VERIFY/DOCKER_CERT_PATH).
	TLS bool
	// DockerdArgs is the local dockerd's command line, when it could be read.
	DockerdArgs []string
	// DaemonJSON is the content of the local /etc/docker/daemon.json, if any.
	DaemonJSON []byte
}

// Collect inspects every container and the daemon's settings.
func Collect(ctx context.Context) (*Snapshot, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("connect to docker: %w", err)
	}
	defer cli.Close()
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker info: %w", err)
	}
	h := Host{DockerHost: cli.DaemonHost(), TLS: os.Getenv("DOCKER_TLS_VERIFY") != "" || os.Getenv("DOCKER_CERT_PATH") != ""}
	if isLocal(h.DockerHost) {
		h.DockerdArgs = localDockerdArgs()
		h.DaemonJSON, _ = os.ReadFile("/etc/docker/daemon.json")
	}
	d, err := DaemonFromInfo(&info.Info, h)
	if err != nil {
		return nil, err
	}
	host := ExposureHost(&info.Info, h)
	table := exposure.Builtin()
	d.Runtime = RuntimeExposure(host, table)
	snap := &Snapshot{Daemon: d, APIVersion: cli.ClientVersion(), Host: host}
	snap.Containers, err = inspectAll(ctx, cli, d, "", func(r *container.InspectResponse, c *audit.Container) {
		c.Kernel = ContainerExposure(r, d, host, table)
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(snap.Containers, func(i, j int) bool { return snap.Containers[i].Target < snap.Containers[j].Target })
	return snap, nil
}

// inspectAll audits every container the daemon lists, with the daemon's
// defaults applied, and lets each add what only its inspect output tells;
// a container removed between list and inspect is left out. where starts
// the message of a failed list.
func inspectAll(ctx context.Context, cli *client.Client, d *audit.Daemon, where string, each func(*container.InspectResponse, *audit.Container)) ([]*audit.Container, error) {
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("%slist containers: %w", where, err)
	}
	var cs []*audit.Container
	for _, it := range list.Items {
		r, err := cli.ContainerInspect(ctx, it.ID, client.ContainerInspectOptions{})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue // removed between list and inspect
		}
		c := dockerinspect.FromInspect(&r.Container, "")
		ApplyDaemonDefaults(c, d)
		each(&r.Container, c)
		cs = append(cs, c)
	}
	return cs, nil
}

// ApplyDaemonDefaults adjusts a container for daemon-wide settings its
// inspect output does not show.
func ApplyDaemonDefaults(c *audit.Container, d *audit.Daemon) {
	if (d.Rootless || d.UsernsRemap) && !c.HostUserns {
		c.RunsAsRoot = "" // uid 0 is remapped to an unprivileged host uid
	}
	if d.NoNewPrivileges {
		c.NoNewPrivileges = true
	}
}

func isLocal(host string) bool {
	return strings.HasPrefix(host, "unix://") || host == ""
}

// localDockerdArgs finds a dockerd process and returns its arguments.
func localDockerdArgs() []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "dockerd" {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		return strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
	}
	return nil
}

// DaemonFromInfo builds the daemon's audit view from /info and how it is
// reached.
func DaemonFromInfo(info *system.Info, h Host) (*audit.Daemon, error) {
	d := &audit.Daemon{Target: "daemon " + h.DockerHost}
	for _, opt := range info.SecurityOptions {
		kv := parseSecurityOption(opt)
		switch kv["name"] {
		case "rootless":
			d.Rootless = true
		case "userns":
			d.UsernsRemap = true
		case "no-new-privileges":
			d.NoNewPrivileges = true
		case "seccomp":
			d.Seccomp = kv["profile"]
			if d.Seccomp == "" {
				d.Seccomp = "builtin"
			}
		}
	}
	var tcp []string
	if u, err := url.Parse(h.DockerHost); err == nil && u.Scheme == "tcp" && !h.TLS {
		tcp = append(tcp, h.DockerHost)
	}
	hosts, verify := ParseDockerdArgs(h.DockerdArgs)
	if len(h.DaemonJSON) > 0 {
		jh, jv, err := ParseDaemonJSON("/etc/docker/daemon.json", h.DaemonJSON)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, jh...)
		verify = verify || jv
	}
	if !verify {
		for _, hh := range hosts {
			if strings.HasPrefix(hh, "tcp://") || strings.HasPrefix(hh, "tcp:") {
				tcp = append(tcp, hh)
			}
		}
	}
	d.TCP = dedupe(tcp)
	return d, nil
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// parseSecurityOption reads "name=seccomp,profile=builtin" (API ≥ 1.26).
func parseSecurityOption(s string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(part, "=")
		m[k] = v
	}
	return m
}

// ParseDockerdArgs returns the -H/--host addresses on a dockerd command line
// and whether --tlsverify is on.
func ParseDockerdArgs(args []string) (hosts []string, tlsVerify bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-H" || a == "--host":
			if i+1 < len(args) {
				hosts = append(hosts, args[i+1])
				i++
			}
		case strings.HasPrefix(a, "--host="):
			hosts = append(hosts, strings.TrimPrefix(a, "--host="))
		case strings.HasPrefix(a, "-H="):
			hosts = append(hosts, strings.TrimPrefix(a, "-H="))
		case strings.HasPrefix(a, "-H") && len(a) > 2:
			hosts = append(hosts, a[2:])
		case a == "--tlsverify" || a == "--tlsverify=true":
			tlsVerify = true
		}
	}
	return hosts, tlsVerify
}

// ParseDaemonJSON reads "hosts" and "tlsverify" from daemon.json.
func ParseDaemonJSON(file string, data []byte) (hosts []string, tlsVerify bool, err error) {
	var cfg struct {
		Hosts     []string `json:"hosts"`
		TLSVerify bool     `json:"tlsverify"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, false, audit.JSONError(file, data, err)
	}
	return cfg.Hosts, cfg.TLSVerify, nil
}
