package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/kernel"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

func newDoctorCmd(s streams) *cobra.Command {
	var format, out, socket string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check whether this host can run palisade",
		Long: "Checks what live capture and container context need from this host:\n" +
			"privileges, kernel BTF, the BPF ring buffer, BTF/raw tracepoints (by attaching\n" +
			"empty programs), tracefs, lockdown, the cgroup version, a trial load of the\n" +
			"event source, the Docker socket and the daemon's security options. Each\n" +
			"problem comes with its fix. Exits 1 when capture cannot run here.",
		Example: "  sudo palisade doctor\n  sudo palisade doctor -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if socket == "" {
				socket = dockerSocketPath()
			}
			r := runDoctor(cmd.Context(), socket)
			if err := writeResult(s.out, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, r)
				}
				return r.writeText(w)
			}); err != nil {
				return err
			}
			if !r.OK {
				return exitf(1, "this host cannot run palisade's live capture (%d failed checks; fixes above)", r.Failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&out, "out", "", "write the report to this file (default stdout)")
	cmd.Flags().StringVar(&socket, "docker-socket", "", "Docker Engine socket (default $DOCKER_HOST or /var/run/docker.sock)")
	return cmd
}

// doctorReport is the outcome of every check.
type doctorReport struct {
	OK       bool           `json:"ok"` // no check failed
	Failed   int            `json:"failed"`
	Warnings int            `json:"warnings"`
	Checks   []kernel.Check `json:"checks"`
}

func runDoctor(ctx context.Context, socket string) doctorReport {
	checks := append([]kernel.Check(nil), kernel.Checks()...)
	checks = append(checks, captureCheck())
	checks = append(checks, dockerChecks(ctx, socket)...)
	return newDoctorReport(checks)
}

func newDoctorReport(checks []kernel.Check) doctorReport {
	r := doctorReport{Checks: checks}
	for _, c := range checks {
		switch c.Status {
		case kernel.Fail:
			r.Failed++
		case kernel.Warn:
			r.Warnings++
		}
	}
	r.OK = r.Failed == 0
	return r
}

// captureCheck loads and attaches the real event source, then closes it.
func captureCheck() kernel.Check {
	c := kernel.Check{Name: "capture"}
	start := time.Now()
	src, err := ebpf.Open(ebpf.Options{Syscalls: []int{}})
	if err != nil {
		c.Status, c.Detail = kernel.Fail, firstLine(err.Error())
		c.Fix = "fix the failed checks above; run as root on Linux 5.8+ with BTF"
		return c
	}
	took := time.Since(start)
	src.Close()
	c.Status = kernel.OK
	c.Detail = fmt.Sprintf("event source loaded and attached in %d ms", took.Milliseconds())
	return c
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// dockerSocketPath is $DOCKER_HOST when it names a unix socket, else the
// default socket.
func dockerSocketPath() string {
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		return strings.TrimPrefix(h, "unix://")
	}
	return "/var/run/docker.sock"
}

// dockerInfo is the part of the Engine API's GET /info that doctor reads.
type dockerInfo struct {
	ServerVersion   string   `json:"ServerVersion"`
	SecurityOptions []string `json:"SecurityOptions"`
	CgroupVersion   string   `json:"CgroupVersion"`
	CgroupDriver    string   `json:"CgroupDriver"`
}

// maxDockerAPI is the Engine API version doctor asks for; older daemons
// get their own version.
const maxDockerAPI = "1.41"

func dockerChecks(ctx context.Context, socket string) []kernel.Check {
	sock := kernel.Check{Name: "docker"}
	info, api, err := fetchDockerInfo(ctx, socket)
	if err != nil {
		sock.Status = kernel.Warn
		sock.Detail = fmt.Sprintf("no Docker Engine at %s: %v; detection still works, alerts lack container names and images", socket, err)
		sock.Fix = "start dockerd, or point --docker-socket / DOCKER_HOST=unix://PATH at its socket"
		return []kernel.Check{sock}
	}
	return dockerInfoChecks(socket, api, info)
}

// fetchDockerInfo asks the daemon for its API version (GET /_ping) and then
// for /info at min(that, 1.41), over the unix socket.
func fetchDockerInfo(ctx context.Context, socket string) (dockerInfo, string, error) {
	if _, err := os.Stat(socket); err != nil {
		return dockerInfo{}, "", fmt.Errorf("socket missing")
	}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}
	get := func(path string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return resp, nil
	}
	resp, err := get("/_ping")
	if err != nil {
		return dockerInfo{}, "", err
	}
	resp.Body.Close()
	api := negotiateAPI(resp.Header.Get("Api-Version"))
	resp, err = get("/v" + api + "/info")
	if err != nil {
		return dockerInfo{}, api, err
	}
	defer resp.Body.Close()
	var info dockerInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&info); err != nil {
		return dockerInfo{}, api, fmt.Errorf("decode /info: %w", err)
	}
	return info, api, nil
}

// negotiateAPI picks the lower of the daemon's API version and 1.41.
func negotiateAPI(server string) string {
	if server == "" || compareVersions(server, maxDockerAPI) >= 0 {
		return maxDockerAPI
	}
	return server
}

func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
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

// dockerInfoChecks judges the daemon's security options. Pure, so the
// judgement is tested without a daemon.
func dockerInfoChecks(socket, api string, info dockerInfo) []kernel.Check {
	opts := securityOptions(info.SecurityOptions)
	cg := info.CgroupVersion
	if cg == "" {
		cg = "?"
	}
	checks := []kernel.Check{{
		Name:   "docker",
		Status: kernel.OK,
		Detail: fmt.Sprintf("Docker Engine %s at %s (API %s, cgroup v%s, %s driver)", info.ServerVersion, socket, api, cg, info.CgroupDriver),
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

func (r doctorReport) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tDETAIL")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Status, escape.Text(c.Name), escape.Text(c.Detail))
		if c.Fix != "" && c.Status != kernel.OK {
			fmt.Fprintf(tw, "\t\tfix: %s\n", escape.Text(c.Fix))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case !r.OK:
		_, err := fmt.Fprintf(w, "\nlive capture cannot run here: %d failed, %d warnings\n", r.Failed, r.Warnings)
		return err
	case r.Warnings > 0:
		_, err := fmt.Fprintf(w, "\npalisade can run here (%d warnings)\n", r.Warnings)
		return err
	}
	_, err := fmt.Fprintln(w, "\npalisade can run here")
	return err
}
