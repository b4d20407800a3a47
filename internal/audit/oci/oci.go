package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"path"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/palisade-sec/palisade/internal/audit"
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

// Capabilities in the default set that few workloads need.
var rarelyNeeded = []string{"NET_RAW", "MKNOD", "AUDIT_WRITE", "SETFCAP", "SYS_CHROOT"}

// Parse reads a config.json.
func Parse(file string, data []byte) (*audit.Container, error) {
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, audit.JSONError(file, data, err)
	}
	if s.Version == "" {
		return nil, &audit.InputError{File: file, Err: errors.New("no ociVersion: not an OCI runtime config")}
	}
	return FromSpec(&s, file), nil
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
		if l := p.SelinuxLabel; strings.Contains(l, ":spc_t") || strings.Contains(l, ":unconfined_t") {
			c.SELinuxDisabled = "SELinux label " + l + " is unconfined"
		}
		if p.User.UID == 0 && !userNS {
			c.RunsAsRoot = "process.user.uid is 0 and there is no user namespace"
		}
	} else {
		c.DropsAll = true
	}
	c.SeccompUnset = lx.Seccomp == nil
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
