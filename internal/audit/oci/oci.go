package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/jsonpos"
	"github.com/palisade-sec/palisade/internal/selinux"
	"github.com/palisade-sec/palisade/internal/srcpos"
)

// Looks reports whether data looks like an OCI runtime config.
func Looks(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && t[0] == '{' && bytes.Contains(t, []byte(`"ociVersion"`))
}

// Devices runc creates in every container; listing them is not extra access.
var standardDevices = map[string]bool{
	"/dev/null": true, "/dev/zero": true, "/dev/full": true, "/dev/random": true,
	"/dev/urandom": true, "/dev/tty": true, "/dev/console": true, "/dev/ptmx": true,
}

// The actions runc accepts for a seccomp defaultAction.
var seccompActions = map[specs.LinuxSeccompAction]bool{
	specs.ActKill: true, specs.ActKillProcess: true, specs.ActKillThread: true, specs.ActTrap: true,
	specs.ActErrno: true, specs.ActTrace: true, specs.ActAllow: true, specs.ActLog: true, specs.ActNotify: true,
}

// Capabilities in the default set that few workloads need.
var rarelyNeeded = []string{"NET_RAW", "MKNOD", "AUDIT_WRITE", "SETFCAP", "SYS_CHROOT"}

// Parse reads a config.json.
func Parse(file string, data []byte) (*audit.Container, error) {
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, audit.JSONError(file, data, err)
	}
	if s.Version == "" {
		return nil, &srcpos.Error{Pos: srcpos.Position{File: file}, Err: errors.New("no ociVersion: not an OCI runtime config")}
	}
	c := FromSpec(&s, file)
	locate(c, &s, jsonpos.Build(data))
	return c, nil
}

// locate fills in the lines of the keys the checks read.
func locate(c *audit.Container, s *specs.Spec, ix jsonpos.Index) {
	c.Line = 1
	caps := ix.Line("", "process.capabilities", "process")
	ns := ix.Line("", "linux.namespaces", "linux")
	c.Lines = map[audit.Field]int{
		audit.FieldCapAdd:          caps,
		audit.FieldCapDrop:         caps,
		audit.FieldSeccomp:         ix.Line("", "linux.seccomp", "linux"),
		audit.FieldSecurity:        ix.Line("", "linux.seccomp", "linux"),
		audit.FieldAppArmor:        ix.Line("", "process.apparmorProfile", "process"),
		audit.FieldSELinux:         ix.Line("", "process.selinuxLabel", "process"),
		audit.FieldNoNewPrivileges: ix.Line("", "process.noNewPrivileges", "process"),
		audit.FieldUser:            ix.Line("", "process.user.uid", "process.user", "process"),
		audit.FieldHostPID:         ns,
		audit.FieldHostNetwork:     ns,
		audit.FieldHostIPC:         ns,
		audit.FieldHostUTS:         ns,
		audit.FieldHostUserns:      ns,
		audit.FieldReadOnlyRoot:    ix.Line("", "root.readonly", "root"),
		audit.FieldMemory:          ix.Line("", "linux.resources.memory.limit", "linux.resources.memory", "linux.resources", "linux"),
		audit.FieldPids:            ix.Line("", "linux.resources.pids.limit", "linux.resources.pids", "linux.resources", "linux"),
		audit.FieldProcMount:       ix.Line("", "linux.maskedPaths", "linux"),
	}
	for i := range c.Mounts {
		c.Mounts[i].Line = ix.Line("", fmt.Sprintf("mounts.%d", i), "mounts")
	}
	if c.RootPropagation != "" {
		c.Line = ix.Line("", "linux.rootfsPropagation", "linux")
	}
	// Devices were collected from linux.devices (the non-standard ones) then
	// linux.resources.devices; match them back by what they name.
	n := 0
	if s.Linux != nil {
		if r := s.Linux.Resources; r != nil {
			for i, d := range r.Devices {
				if d.Allow && (d.Type == "" || d.Type == "a") && d.Major == nil && d.Minor == nil {
					for j := range c.Devices {
						if strings.HasPrefix(c.Devices[j].Host, "every device") {
							c.Devices[j].Line = ix.Line("", fmt.Sprintf("linux.resources.devices.%d", i))
						}
					}
				}
			}
		}
		for i, d := range s.Linux.Devices {
			for j := n; j < len(c.Devices); j++ {
				if c.Devices[j].Host == d.Path {
					c.Devices[j].Line = ix.Line("", fmt.Sprintf("linux.devices.%d", i))
					n = j + 1
					break
				}
			}
		}
	}
}

// FromSpec normalizes a runtime spec.
func FromSpec(s *specs.Spec, file string) *audit.Container {
	c := &audit.Container{
		Source: audit.SourceOCI,
		File:   file,
		Target: "bundle " + bundleName(file),
		Skip:   map[string]bool{"privileged": true},
	}
	lx := s.Linux
	if lx == nil {
		lx = &specs.Linux{}
	}
	userNS := false
	present := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range lx.Namespaces {
		if ns.Path != "" && strings.HasPrefix(ns.Path, "/proc/1/ns/") {
			continue // joining pid 1's namespace is joining the host's
		}
		present[ns.Type] = true
		if ns.Type == specs.UserNamespace {
			userNS = true
		}
	}
	c.HostPID = !present[specs.PIDNamespace]
	c.HostNetwork = !present[specs.NetworkNamespace]
	c.HostIPC = !present[specs.IPCNamespace]
	c.HostUTS = !present[specs.UTSNamespace]
	for _, ns := range lx.Namespaces {
		if ns.Type == specs.UserNamespace && strings.HasPrefix(ns.Path, "/proc/1/ns/") {
			c.HostUserns = true
		}
	}

	if p := s.Process; p != nil {
		caps := map[string]bool{}
		if pc := p.Capabilities; pc != nil {
			for _, set := range [][]string{pc.Bounding, pc.Effective, pc.Permitted, pc.Inheritable, pc.Ambient} {
				for _, k := range set {
					caps[audit.NormalizeCap(k)] = true
				}
			}
		}
		for k := range caps {
			c.CapAdd = append(c.CapAdd, k)
		}
		sort.Strings(c.CapAdd)
		for _, k := range rarelyNeeded {
			if caps[k] {
				c.KeptCaps = append(c.KeptCaps, k)
			}
		}
		c.DropsAll = len(caps) == 0
		c.NoNewPrivileges = p.NoNewPrivileges
		c.AppArmor = p.ApparmorProfile
		// user:role:type:level; the type decides confinement.
		if parts := strings.SplitN(p.SelinuxLabel, ":", 4); len(parts) >= 3 && selinux.HostDomain(parts[2]) != "" {
			c.SELinuxDisabled = "SELinux label " + p.SelinuxLabel + " is a host domain: " + selinux.HostDomain(parts[2])
		}
		if p.User.UID == 0 && !userNS {
			c.RunsAsRoot = "process.user.uid is 0 and there is no user namespace"
		}
	} else {
		c.DropsAll = true
	}
	c.SeccompUnset = lx.Seccomp == nil
	if sc := lx.Seccomp; sc != nil && !seccompActions[sc.DefaultAction] {
		c.Unreadable = append(c.Unreadable, audit.Unreadable{Field: audit.FieldSeccomp,
			Detail: fmt.Sprintf("linux.seccomp.defaultAction %q is not a seccomp action: runc refuses the container", sc.DefaultAction),
			Fix:    "set linux.seccomp.defaultAction to SCMP_ACT_ERRNO (or another SCMP_ACT_ action)"})
	}
	if len(lx.MaskedPaths) == 0 {
		c.UnmaskedProc = "linux.maskedPaths is empty: /proc and /sys are not masked"
	}
	if s.Root != nil {
		c.ReadOnlyRoot = s.Root.Readonly
	}
	if r := lx.Resources; r != nil {
		if r.Memory != nil && r.Memory.Limit != nil {
			c.MemoryLimit = *r.Memory.Limit
		}
		if r.Pids != nil && r.Pids.Limit != nil {
			c.PidsLimit = *r.Pids.Limit
		}
		for _, d := range r.Devices {
			if d.Allow && (d.Type == "" || d.Type == "a") && d.Major == nil && d.Minor == nil {
				c.Devices = append(c.Devices, audit.Device{Host: "every device (linux.resources.devices allows a *:*)"})
			}
		}
	}
	for _, d := range lx.Devices {
		if !standardDevices[path.Clean(d.Path)] {
			c.Devices = append(c.Devices, audit.Device{Host: d.Path})
		}
	}
	if p := lx.RootfsPropagation; p == "shared" || p == "rshared" {
		c.RootPropagation = p
	}
	for _, m := range s.Mounts {
		am := audit.Mount{Destination: m.Destination}
		bind := m.Type == "bind"
		for _, o := range m.Options {
			switch o {
			case "bind", "rbind":
				bind = true
			case "ro":
				am.ReadOnly = true
			case "shared", "rshared":
				am.Propagation = o
			}
		}
		if bind {
			am.HostPath = m.Source
		}
		c.Mounts = append(c.Mounts, am)
	}
	return c
}

// bundleName names a bundle after its directory, resolving "." to the
// working directory's name.
func bundleName(file string) string {
	dir := filepath.Dir(filepath.Clean(file))
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if b := filepath.Base(dir); b != "/" && b != "." {
		return b
	}
	return file
}
