package confine

import (
	"context"
	"errors"
	"fmt"
	"github.com/palisade-sec/palisade/internal/exposure"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/apparmor"
	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/selinux"
)

// Report is what confines one process and the breakout paths open from it.
type Report struct {
	PID          int           `json:"pid"`
	Command      string        `json:"command"`
	UID          IDs           `json:"uid"`
	GID          IDs           `json:"gid"`
	Groups       []int         `json:"groups"`
	Capabilities CapSets       `json:"capabilities"`
	NoNewPrivs   bool          `json:"no_new_privs"`
	Seccomp      SeccompState  `json:"seccomp"`
	AppArmor     AppArmorState `json:"apparmor"`
	SELinux      selinux.State `json:"selinux"`
	UserNS       UserNS        `json:"user_namespace"`
	Cgroups      []Cgroup      `json:"cgroups"`
	Container    Container     `json:"container"`
	// Findings are the open breakout paths, worst first once sorted.
	Findings []Finding `json:"findings"`
	// Probes, Sockets and Writable are checks made from the reading
	// process itself (CheckLive); empty for another process.
	Probes   []ProbeResult `json:"probes"`
	Sockets  []SocketCheck `json:"sockets"`
	Writable []WriteCheck  `json:"writable"`
	// UsernsProbe, KernelProbes and Kernel are the kernel-exposure probes
	// and the table evaluated for this process (CheckKernel).
	UsernsProbe  *ProbeOutcome       `json:"userns_probe,omitempty"`
	KernelProbes []KernelProbeResult `json:"kernel_probes,omitempty"`
	Kernel       *exposure.Report    `json:"kernel_exposure,omitempty"`
	// releaseAgents are the cgroup v1 release_agent files mountinfo shows.
	releaseAgents []string
}

// IDs are a process's real, effective, saved and filesystem user or group ids.
type IDs struct {
	Real      int `json:"real"`
	Effective int `json:"effective"`
	Saved     int `json:"saved"`
	FS        int `json:"fs"`
}

// CapSet is one capability set as /proc shows it and by name.
type CapSet struct {
	Hex   string   `json:"hex"`
	Names []string `json:"names"`
}

// CapSets are the five capability sets of a process.
type CapSets struct {
	Inheritable CapSet `json:"inheritable"`
	Permitted   CapSet `json:"permitted"`
	Effective   CapSet `json:"effective"`
	Bounding    CapSet `json:"bounding"`
	Ambient     CapSet `json:"ambient"`
	// Known is how many capabilities this kernel has (cap_last_cap + 1).
	Known int `json:"known"`
}

// SeccompState is the seccomp mode and how many filters are stacked.
type SeccompState struct {
	Mode    string `json:"mode"` // disabled, strict, filter
	Filters int    `json:"filters"`
}

// AppArmorState is whether the kernel runs AppArmor and the process's profile.
type AppArmorState struct {
	InKernel bool   `json:"in_kernel"`
	Source   string `json:"source"`
	Profile  string `json:"profile,omitempty"`
	Mode     string `json:"mode,omitempty"`
	Error    string `json:"error,omitempty"`
}

// IDMap is one line of /proc/PID/uid_map or gid_map.
type IDMap struct {
	Inside  uint64 `json:"inside"`
	Outside uint64 `json:"outside"`
	Count   uint64 `json:"count"`
}

// UserNS is the process's user namespace and its id mappings.
type UserNS struct {
	// Initial is true for the host's user namespace (identity map of all ids).
	Initial   bool    `json:"initial"`
	Namespace string  `json:"namespace,omitempty"` // user:[inode]
	UIDMap    []IDMap `json:"uid_map"`
	GIDMap    []IDMap `json:"gid_map"`
}

// Cgroup is one line of /proc/PID/cgroup.
type Cgroup struct {
	Hierarchy   int    `json:"hierarchy"`
	Controllers string `json:"controllers"`
	Path        string `json:"path"`
}

// Container is whether the process runs in a container, and why we think so.
type Container struct {
	// Verdict is "yes" (cgroup names a container runtime), "likely" (only
	// marker files or PID 1 hints) or "no evidence".
	Verdict  string   `json:"verdict"`
	ID       string   `json:"id,omitempty"`
	Evidence []string `json:"evidence"`
}

// ReadProcess reads /proc and /sys under root for process pid (0: the
// caller) and returns its confinement with the findings that follow from
// it. Only root "/" reads AppArmor and SELinux state (they come from the
// real kernel, not from files under root).
func ReadProcess(root string, pid int) (*Report, error) {
	proc := "self"
	if pid > 0 {
		proc = strconv.Itoa(pid)
	}
	procDir := filepath.Join(root, "proc", proc)
	statusText, err := os.ReadFile(filepath.Join(procDir, "status"))
	if err != nil {
		return nil, fmt.Errorf("read process status: %w", err)
	}
	c := &Report{}
	if err := ParseStatus(string(statusText), lastCap(root), c); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join("/proc", proc, "status"), err)
	}

	c.AppArmor.InKernel, c.AppArmor.Source = apparmor.KernelStatus()
	if root != "/" {
		c.AppArmor.InKernel, c.AppArmor.Source = false, "not read (fake root)"
	}
	if c.AppArmor.InKernel {
		if conf, err := apparmor.ReadConfinement(pid); err != nil {
			c.AppArmor.Error = err.Error()
		} else {
			c.AppArmor.Profile, c.AppArmor.Mode = conf.Profile, conf.Mode
		}
	}
	if root == "/" {
		st, err := selinux.ReadState(pid)
		if err != nil {
			return nil, err
		}
		c.SELinux = st
	} else {
		c.SELinux = selinux.State{Mode: "disabled", Source: "not read (fake root)"}
	}

	if b, err := os.ReadFile(filepath.Join(procDir, "uid_map")); err == nil {
		c.UserNS.UIDMap = ParseIDMap(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(procDir, "gid_map")); err == nil {
		c.UserNS.GIDMap = ParseIDMap(string(b))
	}
	c.UserNS.Initial = isIdentityMap(c.UserNS.UIDMap) && isIdentityMap(c.UserNS.GIDMap)
	if ns, err := os.Readlink(filepath.Join(procDir, "ns/user")); err == nil {
		c.UserNS.Namespace = ns
	}

	if b, err := os.ReadFile(filepath.Join(procDir, "cgroup")); err == nil {
		c.Cgroups = ParseCgroups(string(b))
	}
	c.Container = DetectContainer(root, c.Cgroups)

	c.Findings = append([]Finding{}, PostureFindings(Posture{
		EffectiveUID: c.UID.Effective, NoNewPrivs: c.NoNewPrivs, SeccompMode: c.Seccomp.Mode,
		AppArmorInKernel: c.AppArmor.InKernel, AppArmorProfile: c.AppArmor.Profile,
		SELinuxEnabled: c.SELinux.Enabled(), SELinuxLabel: c.SELinux.Label,
		InitialUserNS: c.UserNS.Initial,
		Effective:     c.Capabilities.Effective.Names, Permitted: c.Capabilities.Permitted.Names,
		Bounding: c.Capabilities.Bounding.Names,
	})...)
	if b, err := os.ReadFile(filepath.Join(procDir, "mountinfo")); err == nil {
		mounts, err := ParseMountinfo(filepath.Join("/proc", proc, "mountinfo"), string(b))
		if err != nil {
			return nil, err
		}
		c.Findings = append(c.Findings, MountFindings(mounts)...)
		c.releaseAgents = ReleaseAgentPaths(mounts)
	}
	c.Probes, c.Sockets, c.Writable = []ProbeResult{}, []SocketCheck{}, []WriteCheck{}
	return c, nil
}

// CheckLive makes the checks that act from the calling process, which must
// be the one c describes: runtime sockets, write access to /proc/sys and
// release_agent files, and (with probe) the syscall probes, each run in a
// child made by command.
func (c *Report) CheckLive(ctx context.Context, probe bool, command func(ctx context.Context, name string) *exec.Cmd) {
	if ctx == nil {
		ctx = context.Background()
	}
	c.Sockets = ReachSockets(RuntimeSocketPaths)
	procSys := OpenableForWrite(ProcSysPaths)
	agents := OpenableForWrite(c.releaseAgents)
	c.Writable = append(append([]WriteCheck{}, procSys...), agents...)
	c.Findings = MergeSocketFindings(c.Findings, SocketFindings(c.Sockets))
	c.Findings = append(c.Findings, WriteFindings(procSys, agents)...)
	if probe {
		filtered := c.Seccomp.Mode != "disabled"
		c.Probes = RunProbes(ctx, command, Env{Filtered: filtered, Effective: c.Capabilities.Effective.Names, Kernel: KernelRelease()})
	}
}

// initSystems are PID 1 programs that mean a whole system, not a container.
var initSystems = map[string]bool{"systemd": true, "init": true, "launchd": true, "runit": true, "openrc-init": true}

// DetectContainer weighs what a process can see: cgroup paths naming a
// container runtime or holding a container id (strong), marker files a
// runtime drops, and PID 1 not being an init system (weak). It never
// claims "yes" on marker files alone.
func DetectContainer(root string, cgroups []Cgroup) Container {
	v := Container{Verdict: "no evidence", Evidence: []string{}}
	strong := false
	for _, cg := range cgroups {
		marker, named := container.RuntimeFromCgroup(cg.Path)
		id, runtime, hasID := container.FullIDFromCgroup(cg.Path)
		if !named && !hasID {
			continue
		}
		if !named {
			marker = runtime
			if marker == container.RuntimeUnknown {
				marker = "a container id" // no layout says whose: no guess
			}
		}
		if !strong {
			v.Evidence = append(v.Evidence, fmt.Sprintf("cgroup path %q names %s", cg.Path, marker))
		}
		strong = true
		if hasID && v.ID == "" {
			v.ID = id
		}
	}
	weak := false
	for _, marker := range []struct{ path, what string }{
		{"/.dockerenv", "Docker's marker file /.dockerenv exists"},
		{"/run/.containerenv", "Podman's marker file /run/.containerenv exists"},
	} {
		if _, err := os.Stat(filepath.Join(root, marker.path)); err == nil {
			v.Evidence = append(v.Evidence, marker.what)
			weak = true
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "proc/1/comm")); err == nil {
		comm := strings.TrimSpace(string(b))
		if !initSystems[comm] {
			v.Evidence = append(v.Evidence, fmt.Sprintf("PID 1 is %q, not an init system", comm))
			weak = true
		}
	} else if errors.Is(err, os.ErrPermission) {
		v.Evidence = append(v.Evidence, "cannot read /proc/1/comm")
	}
	switch {
	case strong:
		v.Verdict = "yes"
	case weak:
		v.Verdict = "likely"
	}
	return v
}
