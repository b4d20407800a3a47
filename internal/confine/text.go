package confine

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"

	"github.com/palisade-sec/palisade/internal/escape"
)

// describeCaps summarises a set against the kernel's known capabilities.
func describeCaps(cs CapSet, known int) string {
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

// WriteText writes the report for a terminal: one row per property, the
// container evidence, live checks and probes, then the findings. Every
// string read from the system is escaped.
func (c *Report) WriteText(w io.Writer) error {
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
	row("cap effective", "%s", describeCaps(caps.Effective, caps.Known))
	row("cap permitted", "%s", describeCaps(caps.Permitted, caps.Known))
	row("cap inheritable", "%s", describeCaps(caps.Inheritable, caps.Known))
	row("cap bounding", "%s", describeCaps(caps.Bounding, caps.Known))
	row("cap ambient", "%s", describeCaps(caps.Ambient, caps.Known))
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
	if c.UsernsProbe != nil {
		row("kernel probes", "new user namespace: %s", escape.Text(c.UsernsProbe.String()))
		for _, k := range c.KernelProbes {
			line := k.Call + ": " + k.Here.String()
			if k.InUserns != nil {
				line += "; in a new user namespace: " + k.InUserns.String()
			}
			row("", "%s", escape.Text(line))
		}
	}
	if c.Kernel != nil {
		row("kernel exposure", "%s (docs/kernel-exposure.md)", c.Kernel.Counts.Summary())
		surface := 0
		for _, r := range c.Kernel.Sorted() {
			switch r.Outcome {
			case "reachable", "vendor-check", "unknown", "blocked":
				row("", "%-12s %s %s: %s", r.Outcome, r.Bug.ID, escape.Text(r.Bug.Name), escape.Text(r.Why()))
				if r.Outcome != "blocked" && len(r.Fixes) > 0 {
					row("", "             fix: %s", escape.Text(strings.Join(r.Fixes, "; ")))
				}
			default:
				if r.Reachable {
					surface++
				}
			}
		}
		row("", "code of %d fixed or not-affected bugs reachable from here (-o json: code_reachable)", surface)
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
