package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
	"github.com/palisade-sec/palisade/internal/apparmor"
	"github.com/palisade-sec/palisade/internal/confine"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/selinux"
	"github.com/spf13/cobra"
)

func newInspectCmd(s streams) *cobra.Command {
	var format, out, probeSyscall string
	var pid int
	var noProbe bool
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Show what confines this process (or --pid N)",
		Long: "Reports what confines a process: user and group ids, the five capability\n" +
			"sets by name, no_new_privs, seccomp mode and filter count, AppArmor profile,\n" +
			"SELinux mode and label, user-namespace mapping, cgroup, and whether it\n" +
			"runs inside a container (with the evidence). Then the breakout paths open\n" +
			"from here, as findings named like `palisade audit` checks: host mounts,\n" +
			"reachable runtime sockets, writable /proc/sys and cgroup release_agent,\n" +
			"dangerous capabilities, and a probe of dangerous syscalls (each run in a\n" +
			"child process with arguments that make it fail harmlessly) telling a\n" +
			"seccomp block, ENOSYS and a seccomp kill apart. See docs/inspect.md.",
		Example: "  palisade inspect\n  palisade inspect -o json --pid 1\n  docker run --rm -v $(command -v palisade):/palisade:ro IMAGE /palisade inspect",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if probeSyscall != "" {
				if err := confine.ProbeChild(probeSyscall, s.out); err != nil {
					return exitf(3, "probe: %v", err)
				}
				return nil
			}
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if pid < 0 {
				return exitf(2, "--pid %d: want a process id", pid)
			}
			c, err := inspectProcess("/", pid)
			if err != nil {
				return exitf(1, "inspect: %v", err)
			}
			if pid == 0 {
				c.checkLive(cmd.Context(), !noProbe)
			}
			confine.SortFindings(c.Findings)
			return writeResult(s.out, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, c)
				}
				return c.writeText(w)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&out, "out", "", "write the report to this file (default stdout)")
	cmd.Flags().IntVar(&pid, "pid", 0, "inspect this process instead of palisade itself (no probes, socket or write checks)")
	cmd.Flags().BoolVar(&noProbe, "no-probe", false, "skip the syscall probes")
	cmd.Flags().StringVar(&probeSyscall, "probe-syscall", "", "run one syscall probe (the probe child)")
	cmd.Flags().MarkHidden("probe-syscall")
	return cmd
}

// inspectReport is everything inspect reports about one process.
type inspectReport struct {
	PID          int              `json:"pid"`
	Command      string           `json:"command"`
	UID          inspectIDs       `json:"uid"`
	GID          inspectIDs       `json:"gid"`
	Groups       []int            `json:"groups"`
	Capabilities inspectCapSets   `json:"capabilities"`
	NoNewPrivs   bool             `json:"no_new_privs"`
	Seccomp      inspectSeccomp   `json:"seccomp"`
	AppArmor     inspectAppArmor  `json:"apparmor"`
	SELinux      selinux.State    `json:"selinux"`
	UserNS       inspectUserNS    `json:"user_namespace"`
	Cgroups      []inspectCgroup  `json:"cgroups"`
	Container    inspectContainer `json:"container"`
	// Findings are the open breakout paths, worst first.
	Findings []confine.Finding `json:"findings"`
	// Probes, Sockets and Writable are checks made from palisade's own
	// process; they are empty with --pid (and Probes with --no-probe).
	Probes   []confine.ProbeResult `json:"probes"`
	Sockets  []confine.SocketCheck `json:"sockets"`
	Writable []confine.WriteCheck  `json:"writable"`
	// releaseAgents are the cgroup v1 release_agent files mountinfo shows.
	releaseAgents []string
}

type inspectIDs struct {
	Real      int `json:"real"`
	Effective int `json:"effective"`
	Saved     int `json:"saved"`
	FS        int `json:"fs"`
}

type inspectCapSet struct {
	Hex   string   `json:"hex"`
	Names []string `json:"names"`
}

type inspectCapSets struct {
	Inheritable inspectCapSet `json:"inheritable"`
	Permitted   inspectCapSet `json:"permitted"`
	Effective   inspectCapSet `json:"effective"`
	Bounding    inspectCapSet `json:"bounding"`
	Ambient     inspectCapSet `json:"ambient"`
	// Known is how many capabilities this kernel has (cap_last_cap + 1).
	Known int `json:"known"`
}

type inspectSeccomp struct {
	Mode    string `json:"mode"` // disabled, strict, filter
	Filters int    `json:"filters"`
}

type inspectAppArmor struct {
	InKernel bool   `json:"in_kernel"`
	Source   string `json:"source"`
	Profile  string `json:"profile,omitempty"`
	Mode     string `json:"mode,omitempty"`
	Error    string `json:"error,omitempty"`
}

type inspectIDMap struct {
	Inside  uint64 `json:"inside"`
	Outside uint64 `json:"outside"`
	Count   uint64 `json:"count"`
}

type inspectUserNS struct {
	// Initial is true for the host's user namespace (identity map of all ids).
	Initial   bool           `json:"initial"`
	Namespace string         `json:"namespace,omitempty"` // user:[inode]
	UIDMap    []inspectIDMap `json:"uid_map"`
	GIDMap    []inspectIDMap `json:"gid_map"`
}

type inspectCgroup struct {
	Hierarchy   int    `json:"hierarchy"`
	Controllers string `json:"controllers"`
	Path        string `json:"path"`
}

type inspectContainer struct {
	// Verdict is "yes" (cgroup names a container runtime), "likely" (only
	// marker files or PID 1 hints) or "no evidence".
	Verdict  string   `json:"verdict"`
	ID       string   `json:"id,omitempty"`
	Evidence []string `json:"evidence"`
}

// inspectProcess reads /proc and /sys under root for process pid (0: self).
func inspectProcess(root string, pid int) (*inspectReport, error) {
	proc := "self"
	if pid > 0 {
		proc = strconv.Itoa(pid)
	}
	procDir := filepath.Join(root, "proc", proc)
	statusText, err := os.ReadFile(filepath.Join(procDir, "status"))
	if err != nil {
		return nil, fmt.Errorf("read process status: %w", err)
	}
	c := &inspectReport{}
	lastCap := inspectLastCap(root)
	if err := inspectParseStatus(string(statusText), lastCap, c); err != nil {
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
		c.UserNS.UIDMap = inspectParseIDMap(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(procDir, "gid_map")); err == nil {
		c.UserNS.GIDMap = inspectParseIDMap(string(b))
	}
	c.UserNS.Initial = inspectIsIdentityMap(c.UserNS.UIDMap) && inspectIsIdentityMap(c.UserNS.GIDMap)
	if ns, err := os.Readlink(filepath.Join(procDir, "ns/user")); err == nil {
		c.UserNS.Namespace = ns
	}

	if b, err := os.ReadFile(filepath.Join(procDir, "cgroup")); err == nil {
		c.Cgroups = inspectParseCgroups(string(b))
	}
	c.Container = inspectDetectContainer(root, c.Cgroups)

	c.Findings = append([]confine.Finding{}, confine.PostureFindings(confine.Posture{
		EffectiveUID: c.UID.Effective, NoNewPrivs: c.NoNewPrivs, SeccompMode: c.Seccomp.Mode,
		AppArmorInKernel: c.AppArmor.InKernel, AppArmorProfile: c.AppArmor.Profile,
		SELinuxEnabled: c.SELinux.Enabled(), SELinuxLabel: c.SELinux.Label,
		InitialUserNS: c.UserNS.Initial,
		Effective:     c.Capabilities.Effective.Names, Permitted: c.Capabilities.Permitted.Names,
		Bounding: c.Capabilities.Bounding.Names,
	})...)
	mi := filepath.Join(procDir, "mountinfo")
	if b, err := os.ReadFile(mi); err == nil {
		mounts, err := confine.ParseMountinfo(filepath.Join("/proc", proc, "mountinfo"), string(b))
		if err != nil {
			return nil, err
		}
		c.Findings = append(c.Findings, confine.MountFindings(mounts)...)
		c.releaseAgents = confine.ReleaseAgentPaths(mounts)
	}
	c.Probes, c.Sockets, c.Writable = []confine.ProbeResult{}, []confine.SocketCheck{}, []confine.WriteCheck{}
	return c, nil
}

// inspectProbeEnv makes a test binary act as the probe child (see
// inspect_test.go's TestMain); the palisade binary uses --probe-syscall.
const inspectProbeEnv = "PALISADE_INSPECT_PROBE_SYSCALL"

// inspectProbeCommand re-executes palisade as a probe child, so a seccomp
// kill ends the child, not inspect.
func inspectProbeCommand(ctx context.Context, name string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	cmd := exec.CommandContext(ctx, exe, "inspect", "--probe-syscall", name)
	cmd.Env = append(os.Environ(), inspectProbeEnv+"="+name)
	return cmd
}

// checkLive makes the checks that act from this process: runtime sockets,
// write access to /proc/sys and release_agent files, and the syscall probes.
func (c *inspectReport) checkLive(ctx context.Context, probe bool) {
	if ctx == nil {
		ctx = context.Background()
	}
	c.Sockets = confine.ReachSockets(confine.RuntimeSocketPaths)
	procSys := confine.OpenableForWrite(confine.ProcSysPaths)
	agents := confine.OpenableForWrite(c.releaseAgents)
	c.Writable = append(append([]confine.WriteCheck{}, procSys...), agents...)
	c.Findings = append(c.Findings, confine.SocketFindings(c.Sockets)...)
	c.Findings = append(c.Findings, confine.WriteFindings(procSys, agents)...)
	if probe {
		filtered := c.Seccomp.Mode != "disabled"
		c.Probes = confine.RunProbes(ctx, inspectProbeCommand, confine.Env{Filtered: filtered, Effective: c.Capabilities.Effective.Names, Kernel: confine.KernelRelease()})
	}
}

func inspectLastCap(root string) int {
	b, err := os.ReadFile(filepath.Join(root, "proc/sys/kernel/cap_last_cap"))
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 && n < 64 {
			return n
		}
	}
	return int(capability.CAP_CHECKPOINT_RESTORE)
}

// inspectParseStatus fills c from /proc/PID/status.
func inspectParseStatus(text string, lastCap int, c *inspectReport) error {
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	need := func(k string) (string, error) {
		v, ok := fields[k]
		if !ok {
			return "", fmt.Errorf("no %s: line", k)
		}
		return v, nil
	}
	var err error
	if c.PID, err = strconv.Atoi(fields["Pid"]); err != nil {
		return fmt.Errorf("Pid: %q is not a number", fields["Pid"])
	}
	c.Command = fields["Name"]
	for _, id := range []struct {
		key string
		dst *inspectIDs
	}{{"Uid", &c.UID}, {"Gid", &c.GID}} {
		v, err := need(id.key)
		if err != nil {
			return err
		}
		n, err := inspectParseInts(v)
		if err != nil || len(n) != 4 {
			return fmt.Errorf("%s: want 4 ids, got %q", id.key, v)
		}
		*id.dst = inspectIDs{n[0], n[1], n[2], n[3]}
	}
	if c.Groups, err = inspectParseInts(fields["Groups"]); err != nil {
		return fmt.Errorf("Groups: %v", err)
	}
	if c.Groups == nil {
		c.Groups = []int{}
	}
	c.Capabilities.Known = lastCap + 1
	for _, cs := range []struct {
		key string
		dst *inspectCapSet
	}{
		{"CapInh", &c.Capabilities.Inheritable}, {"CapPrm", &c.Capabilities.Permitted},
		{"CapEff", &c.Capabilities.Effective}, {"CapBnd", &c.Capabilities.Bounding},
		{"CapAmb", &c.Capabilities.Ambient},
	} {
		v, err := need(cs.key)
		if err != nil {
			return err
		}
		mask, err := strconv.ParseUint(v, 16, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a hex mask", cs.key, v)
		}
		*cs.dst = inspectCapSet{Hex: v, Names: inspectCapNames(mask)}
	}
	if v, ok := fields["NoNewPrivs"]; ok {
		c.NoNewPrivs = v == "1"
	}
	switch fields["Seccomp"] {
	case "", "0":
		c.Seccomp.Mode = "disabled"
	case "1":
		c.Seccomp.Mode = "strict"
	case "2":
		c.Seccomp.Mode = "filter"
	default:
		c.Seccomp.Mode = "unknown (" + fields["Seccomp"] + ")"
	}
	if v, ok := fields["Seccomp_filters"]; ok {
		c.Seccomp.Filters, _ = strconv.Atoi(v)
	}
	return nil
}

func inspectParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// inspectCapNames names the bits of a capability mask; bits the capability package
// does not know are shown as cap_N.
func inspectCapNames(mask uint64) []string {
	names := []string{}
	for mask != 0 {
		bit := bits.TrailingZeros64(mask)
		mask &^= 1 << bit
		name := capability.Cap(bit).String()
		if name == "" || strings.HasPrefix(name, "unknown") {
			name = "cap_" + strconv.Itoa(bit)
		}
		names = append(names, name)
	}
	return names
}

func inspectParseIDMap(text string) []inspectIDMap {
	out := []inspectIDMap{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		var m inspectIDMap
		var err error
		if m.Inside, err = strconv.ParseUint(f[0], 10, 32); err != nil {
			continue
		}
		if m.Outside, err = strconv.ParseUint(f[1], 10, 32); err != nil {
			continue
		}
		if m.Count, err = strconv.ParseUint(f[2], 10, 33); err != nil {
			continue
		}
		out = append(out, m)
	}
	return out
}

func inspectIsIdentityMap(m []inspectIDMap) bool {
	return len(m) == 1 && m[0].Inside == 0 && m[0].Outside == 0 && m[0].Count == 4294967295
}

func inspectParseCgroups(text string) []inspectCgroup {
	out := []inspectCgroup{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		h, err := strconv.Atoi(parts[0])
		if err != nil {
			continue
		}
		out = append(out, inspectCgroup{Hierarchy: h, Controllers: parts[1], Path: parts[2]})
	}
	return out
}

var (
	inspectContainerIDRE   = regexp.MustCompile(`(?:^|[/-])([0-9a-f]{64})(?:\.scope)?(?:/|$)`)
	inspectRuntimeCgroupRE = regexp.MustCompile(`(?:^|/)(docker|libpod|crio|cri-containerd|containerd|kubepods|lxc|machine\.slice|actions_job|garden|ecs)(?:[-./]|$)`)
	inspectInitSystems     = map[string]bool{"systemd": true, "init": true, "launchd": true, "runit": true, "openrc-init": true}
)

// inspectDetectContainer weighs what a process can see: cgroup paths naming a
// container runtime (strong), marker files a runtime drops, and PID 1 not
// being an init system (weak). It never claims "yes" on marker files alone.
func inspectDetectContainer(root string, cgroups []inspectCgroup) inspectContainer {
	v := inspectContainer{Verdict: "no evidence", Evidence: []string{}}
	strong := false
	for _, cg := range cgroups {
		if m := inspectRuntimeCgroupRE.FindStringSubmatch(cg.Path); m != nil {
			if !strong {
				v.Evidence = append(v.Evidence, fmt.Sprintf("cgroup path %q names %s", cg.Path, m[1]))
			}
			strong = true
			if id := inspectContainerIDRE.FindStringSubmatch(cg.Path); id != nil && v.ID == "" {
				v.ID = id[1]
			}
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
		if !inspectInitSystems[comm] {
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

// inspectDescribeCaps summarises a set against the kernel's known capabilities.
func inspectDescribeCaps(cs inspectCapSet, known int) string {
	n := len(cs.Names)
	switch {
	case n == 0:
		return "none"
	case n >= known && known > 0:
		return fmt.Sprintf("all %d", n)
	case known-n > 0 && known-n <= 8 && n > known/2:
		var missing []string
		have := map[string]bool{}
		for _, name := range cs.Names {
			have[name] = true
		}
		for bit := 0; bit < known; bit++ {
			name := capability.Cap(bit).String()
			if !have[name] {
				missing = append(missing, name)
			}
		}
		return fmt.Sprintf("%d of %d: all but %s", n, known, strings.Join(missing, ", "))
	}
	return strings.Join(cs.Names, ", ")
}

func (c *inspectReport) writeText(w io.Writer) error {
	var b strings.Builder
	row := func(k, format string, args ...any) { fmt.Fprintf(&b, "%-15s %s\n", k, fmt.Sprintf(format, args...)) }
	row("process", "%d (%s)", c.PID, escape.Text(c.Command))
	row("uid", "real %d, effective %d, saved %d, fs %d", c.UID.Real, c.UID.Effective, c.UID.Saved, c.UID.FS)
	row("gid", "real %d, effective %d, saved %d, fs %d", c.GID.Real, c.GID.Effective, c.GID.Saved, c.GID.FS)
	groups := make([]string, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = strconv.Itoa(g)
	}
	if len(groups) == 0 {
		groups = []string{"none"}
	}
	row("groups", "%s", strings.Join(groups, " "))
	caps := c.Capabilities
	row("cap effective", "%s", inspectDescribeCaps(caps.Effective, caps.Known))
	row("cap permitted", "%s", inspectDescribeCaps(caps.Permitted, caps.Known))
	row("cap inheritable", "%s", inspectDescribeCaps(caps.Inheritable, caps.Known))
	row("cap bounding", "%s", inspectDescribeCaps(caps.Bounding, caps.Known))
	row("cap ambient", "%s", inspectDescribeCaps(caps.Ambient, caps.Known))
	if !c.UserNS.Initial && len(caps.Effective.Names) > 0 {
		row("", "(capabilities of a non-initial user namespace: they act only on what it owns)")
	}
	row("no_new_privs", "%s", map[bool]string{true: "on", false: "off"}[c.NoNewPrivs])
	if c.Seccomp.Mode == "filter" {
		plural := "s"
		if c.Seccomp.Filters == 1 {
			plural = ""
		}
		row("seccomp", "filter (%d filter%s)", c.Seccomp.Filters, plural)
	} else {
		row("seccomp", "%s", c.Seccomp.Mode)
	}
	switch {
	case !c.AppArmor.InKernel:
		row("apparmor", "not in kernel (%s)", c.AppArmor.Source)
	case c.AppArmor.Error != "":
		row("apparmor", "in kernel; label unreadable: %s", escape.Text(c.AppArmor.Error))
	case c.AppArmor.Mode != "":
		row("apparmor", "profile %s (%s)", escape.Text(c.AppArmor.Profile), escape.Text(c.AppArmor.Mode))
	default:
		row("apparmor", "%s", escape.Text(c.AppArmor.Profile))
	}
	if c.SELinux.Enabled() {
		row("selinux", "%s, label %s", c.SELinux.Mode, escape.Text(c.SELinux.Label))
	} else {
		row("selinux", "disabled (%s)", c.SELinux.Source)
	}
	if c.UserNS.Initial {
		row("user ns", "initial (identity map of all ids) %s", c.UserNS.Namespace)
	} else {
		var maps []string
		for _, m := range c.UserNS.UIDMap {
			maps = append(maps, fmt.Sprintf("uid %d-%d -> %d-%d", m.Inside, m.Inside+m.Count-1, m.Outside, m.Outside+m.Count-1))
		}
		for _, m := range c.UserNS.GIDMap {
			maps = append(maps, fmt.Sprintf("gid %d-%d -> %d-%d", m.Inside, m.Inside+m.Count-1, m.Outside, m.Outside+m.Count-1))
		}
		if len(maps) == 0 {
			maps = []string{"no ids mapped"}
		}
		row("user ns", "%s", strings.TrimSpace(c.UserNS.Namespace+" "+strings.Join(maps, "; ")))
	}
	// Hierarchies usually share one path; show each path once.
	var paths []string
	controllers := map[string][]string{}
	for _, cg := range c.Cgroups {
		if _, ok := controllers[cg.Path]; !ok {
			paths = append(paths, cg.Path)
		}
		ctl := cg.Controllers
		if ctl == "" {
			ctl = "v2"
		}
		controllers[cg.Path] = append(controllers[cg.Path], ctl)
	}
	for i, p := range paths {
		k := ""
		if i == 0 {
			k = "cgroup"
		}
		row(k, "%s (%s)", escape.Text(p), escape.Text(strings.Join(controllers[p], ",")))
	}
	verdict := c.Container.Verdict
	if c.Container.ID != "" {
		verdict += ", id " + c.Container.ID[:12]
	}
	row("container", "%s", verdict)
	for _, e := range c.Container.Evidence {
		row("", "- %s", e) // the attacker-controlled parts are already %q-quoted
	}
	for i, sc := range c.Sockets {
		k := ""
		if i == 0 {
			k = "runtime socket"
		}
		if sc.Connected {
			row(k, "%s: accepts connections", escape.Text(sc.Path))
		} else {
			row(k, "%s: %s", escape.Text(sc.Path), escape.Text(sc.Error))
		}
	}
	for i, wc := range c.Writable {
		k := ""
		if i == 0 {
			k = "write access"
		}
		if wc.Writable {
			row(k, "%s: opens for writing", escape.Text(wc.Path))
		} else {
			row(k, "%s: %s", escape.Text(wc.Path), escape.Text(wc.Error))
		}
	}
	if len(c.Probes) > 0 {
		row("syscall probes", "%s", map[bool]string{
			true:  "(seccomp filter in force: blocked/enosys/killed are its answers)",
			false: "(no seccomp filter: every errno is the kernel's own)",
		}[c.Seccomp.Mode != "disabled"])
		for _, p := range c.Probes {
			line := fmt.Sprintf("%-18s %-8s %s", p.Syscall, p.Result, p.ErrnoName)
			if p.Note != "" {
				line += " (" + escape.Text(p.Note) + ")"
			}
			row("", "%s", strings.TrimRight(line, " "))
		}
	}
	if len(c.Findings) == 0 {
		row("findings", "none")
	} else {
		row("findings", "%d", len(c.Findings))
	}
	for _, f := range c.Findings {
		fmt.Fprintf(&b, "  %-8s %s: %s\n", strings.ToUpper(f.Severity.String()), f.Check, f.Title)
		fmt.Fprintf(&b, "           %s\n", escape.Text(f.Detail))
		if f.Fix != "" {
			fmt.Fprintf(&b, "           fix: %s\n", escape.Text(f.Fix))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
