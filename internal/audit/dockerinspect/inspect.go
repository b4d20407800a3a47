package dockerinspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/jsonpos"
	"github.com/palisade-sec/palisade/internal/srcpos"
)

// Looks reports whether data looks like docker inspect output: a JSON object,
// or an array of them, with a HostConfig key.
func Looks(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && bytes.Contains(t, []byte(`"HostConfig"`))
}

// Parse reads docker inspect JSON (one object or an array) from file's data.
func Parse(file string, data []byte) ([]*audit.Container, error) {
	t := bytes.TrimSpace(data)
	var items []container.InspectResponse
	if len(t) > 0 && t[0] == '{' {
		var one container.InspectResponse
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, audit.JSONError(file, data, err)
		}
		items = append(items, one)
	} else if err := json.Unmarshal(data, &items); err != nil {
		return nil, audit.JSONError(file, data, err)
	}
	if len(items) == 0 {
		return nil, &srcpos.Error{Pos: srcpos.Position{File: file}, Err: errors.New("no containers in docker inspect output")}
	}
	ix := jsonpos.Build(data)
	out := make([]*audit.Container, 0, len(items))
	for i := range items {
		if items[i].HostConfig == nil {
			return nil, &srcpos.Error{Pos: srcpos.Position{File: file}, Err: fmt.Errorf("element %d has no HostConfig: not docker inspect output for a container", i)}
		}
		c := FromInspect(&items[i], file)
		locate(c, &items[i], ix, jsonpos.Prefix(data, i))
		out = append(out, c)
	}
	return out, nil
}

// locate fills in the lines of the keys the checks read.
func locate(c *audit.Container, r *container.InspectResponse, ix jsonpos.Index, p string) {
	c.Line = ix.Line("", p)
	if c.Line == 0 {
		c.Line = 1
	}
	hc := func(keys ...string) int {
		for i := range keys {
			keys[i] = "HostConfig." + keys[i]
		}
		return ix.Line(p, append(keys, "HostConfig")...)
	}
	c.Lines = map[audit.Field]int{
		audit.FieldPrivileged:      hc("Privileged"),
		audit.FieldCapAdd:          hc("CapAdd"),
		audit.FieldCapDrop:         hc("CapDrop"),
		audit.FieldSeccomp:         hc("SecurityOpt"),
		audit.FieldAppArmor:        ix.Line(p, "AppArmorProfile", "HostConfig.SecurityOpt"),
		audit.FieldSELinux:         hc("SecurityOpt"),
		audit.FieldNoNewPrivileges: hc("SecurityOpt"),
		audit.FieldUser:            ix.Line(p, "Config.User", "Config"),
		audit.FieldHostPID:         hc("PidMode"),
		audit.FieldHostNetwork:     hc("NetworkMode"),
		audit.FieldHostIPC:         hc("IpcMode"),
		audit.FieldHostUTS:         hc("UTSMode"),
		audit.FieldHostUserns:      hc("UsernsMode"),
		audit.FieldReadOnlyRoot:    hc("ReadonlyRootfs"),
		audit.FieldMemory:          hc("Memory"),
		audit.FieldPids:            hc("PidsLimit"),
		audit.FieldProcMount:       hc("SecurityOpt"),
		audit.FieldSecurity:        hc("SecurityOpt"),
		audit.FieldSELinuxOptions:  hc("SecurityOpt"),
	}
	if c.UnmaskedProc != "" && strings.HasPrefix(c.UnmaskedProc, "MaskedPaths") {
		c.Lines[audit.FieldProcMount] = hc("MaskedPaths")
	}
	n := 0
	for i := range r.HostConfig.Devices {
		c.Devices[n].Line = hc(fmt.Sprintf("Devices.%d", i), "Devices")
		n++
	}
	for i := range r.HostConfig.DeviceCgroupRules {
		c.Devices[n].Line = hc(fmt.Sprintf("DeviceCgroupRules.%d", i), "DeviceCgroupRules")
		n++
	}
	if len(r.Mounts) > 0 {
		for i := range c.Mounts {
			c.Mounts[i].Line = ix.Line(p, fmt.Sprintf("Mounts.%d", i), "Mounts")
		}
		return
	}
	for i := range c.Mounts {
		if i < len(r.HostConfig.Binds) {
			c.Mounts[i].Line = hc(fmt.Sprintf("Binds.%d", i), "Binds")
		} else {
			c.Mounts[i].Line = hc(fmt.Sprintf("Mounts.%d", i-len(r.HostConfig.Binds)), "Mounts")
		}
	}
}

// FromInspect normalizes one inspect response. file is "" for the live daemon.
func FromInspect(r *container.InspectResponse, file string) *audit.Container {
	hc := r.HostConfig
	if hc == nil {
		hc = &container.HostConfig{}
	}
	name := strings.TrimPrefix(r.Name, "/")
	if name == "" {
		name = shortID(r.ID)
	}
	c := &audit.Container{
		Source: audit.SourceDocker,
		File:   file,
		Target: "container " + name,
	}
	c.Privileged = hc.Privileged
	c.CapAdd = append(c.CapAdd, hc.CapAdd...)
	c.DropsAll = audit.CapsDropAll(hc.CapDrop)
	audit.ApplySecurityOpts(c, hc.SecurityOpt, nil)
	if strings.EqualFold(r.AppArmorProfile, "unconfined") {
		c.AppArmor = "unconfined"
	}
	if hc.MaskedPaths != nil && len(hc.MaskedPaths) == 0 && c.UnmaskedProc == "" && !hc.Privileged {
		c.UnmaskedProc = "MaskedPaths is empty: /proc and /sys are not masked"
	}
	user := ""
	if r.Config != nil {
		user = r.Config.User
	}
	c.HostUserns = hc.UsernsMode.IsHost()
	c.RunsAsRoot = audit.RootUserReason(user, "no user set: runs as root (uid 0)")
	c.HostPID = hc.PidMode.IsHost()
	c.HostNetwork = hc.NetworkMode.IsHost()
	c.HostIPC = hc.IpcMode.IsHost()
	// dockerd itself adds label=disable to privileged containers and those
	// sharing the host's PID or IPC namespace; that is reported as those
	// settings, with their fixes, not as an option to remove.
	if (hc.Privileged || c.HostPID || c.HostIPC) && strings.HasSuffix(c.SELinuxDisabled, "(label=disable)") {
		c.SELinuxDisabled = ""
	}
	c.HostUTS = hc.UTSMode.IsHost()
	c.ReadOnlyRoot = hc.ReadonlyRootfs
	c.MemoryLimit = hc.Memory
	if hc.PidsLimit != nil {
		c.PidsLimit = *hc.PidsLimit
	}
	for _, d := range hc.Devices {
		c.Devices = append(c.Devices, audit.Device{Host: d.PathOnHost})
	}
	for _, rule := range hc.DeviceCgroupRules {
		c.Devices = append(c.Devices, audit.Device{Host: "cgroup rule " + rule})
	}
	c.Mounts = mounts(r, hc)
	return c
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// mounts prefers the resolved Mounts of a created container and falls back
// to HostConfig's Binds and Mounts for hand-written or partial dumps.
func mounts(r *container.InspectResponse, hc *container.HostConfig) []audit.Mount {
	var out []audit.Mount
	if len(r.Mounts) > 0 {
		for _, m := range r.Mounts {
			am := audit.Mount{Destination: m.Destination, ReadOnly: !m.RW, Propagation: string(m.Propagation), Name: m.Name}
			if m.Type == mount.TypeBind || m.Type == "" && strings.HasPrefix(m.Source, "/") && m.Name == "" {
				am.HostPath = m.Source
			}
			out = append(out, am)
		}
		return out
	}
	for _, b := range hc.Binds {
		out = append(out, ParseBind(b))
	}
	for _, m := range hc.Mounts {
		am := audit.Mount{Destination: m.Target, ReadOnly: m.ReadOnly}
		if m.Type == mount.TypeBind {
			am.HostPath = m.Source
			if m.BindOptions != nil {
				am.Propagation = string(m.BindOptions.Propagation)
			}
		}
		out = append(out, am)
	}
	return out
}

// ParseBind reads a -v style bind "SRC:DST[:OPTS]". A SRC that is not an
// absolute path is a named volume and has no host path.
func ParseBind(b string) audit.Mount {
	parts := strings.SplitN(b, ":", 3)
	m := audit.Mount{}
	switch len(parts) {
	case 1:
		m.Destination = parts[0]
		return m
	default:
		m.Destination = parts[1]
	}
	if strings.HasPrefix(parts[0], "/") {
		m.HostPath = parts[0]
	} else {
		m.Name = parts[0]
	}
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				m.ReadOnly = true
			case "shared", "rshared", "slave", "rslave", "private", "rprivate":
				m.Propagation = o
			}
		}
	}
	return m
}
