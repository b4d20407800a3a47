package engine

import (
	"fmt"
	"os"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/exposure"
	"github.com/palisade-sec/palisade/internal/seccomp"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// ExposureHost is the host the daemon's containers share: read from this
// machine when the daemon is local, else only the kernel version the daemon
// reports (every other fact unknown, which never counts as protection).
func ExposureHost(info *system.Info, h Host) *exposure.Host {
	var host *exposure.Host
	if isLocal(h.DockerHost) {
		host = exposure.ReadHost(exposure.DefaultHostPaths)
	} else {
		host = &exposure.Host{Kernel: exposure.ParseKernel(info.KernelVersion, "", "")}
	}
	if info.RuncCommit.ID != "" {
		rv := exposure.ParseRuntimeVersion(info.RuncCommit.ID)
		host.Runc = &rv
	}
	return host
}

// RuntimeExposure is the runtime (runc) bugs' outcomes for the daemon.
func RuntimeExposure(host *exposure.Host, t *exposure.Table) []audit.KernelExposure {
	var out []audit.KernelExposure
	for _, b := range t.Bugs {
		if b.Component == exposure.ComponentRunc {
			out = append(out, toAudit(exposure.EvaluateBug(b, host, &exposure.Subject{Name: "the runtime"})))
		}
	}
	return out
}

// ContainerExposure is the kernel bugs' outcomes for one container: its
// seccomp profile (its own, the daemon's default, or none) evaluated by
// internal/seccomp, its capabilities and devices.
func ContainerExposure(r *container.InspectResponse, d *audit.Daemon, host *exposure.Host, t *exposure.Table) []audit.KernelExposure {
	s, err := ContainerSubject(r, d, host)
	if err != nil {
		return []audit.KernelExposure{{Bug: "-", Outcome: "unknown", Detail: err.Error()}}
	}
	var out []audit.KernelExposure
	for _, b := range t.Bugs {
		if b.Component == exposure.ComponentKernel {
			out = append(out, toAudit(exposure.EvaluateBug(b, host, s)))
		}
	}
	return out
}

func toAudit(r exposure.Result) audit.KernelExposure {
	return audit.KernelExposure{
		Bug: r.Bug.ID, Name: r.Bug.Name, Outcome: r.Outcome, CodeReachable: r.Reachable,
		Detail: r.Why(), Fix: strings.Join(r.Fixes, "; "),
	}
}

// ContainerSubject describes a container the way the exposure evaluation
// needs it.
func ContainerSubject(r *container.InspectResponse, d *audit.Daemon, host *exposure.Host) (*exposure.Subject, error) {
	hc := r.HostConfig
	if hc == nil {
		hc = &container.HostConfig{}
	}
	name := "container " + strings.TrimPrefix(r.Name, "/")
	s := &exposure.Subject{Name: name, Privileged: hc.Privileged}
	add, err := caps.ParseList(strings.Join(hc.CapAdd, ","))
	if err != nil {
		return nil, fmt.Errorf("%s: cap-add: %w", name, err)
	}
	drop, err := caps.ParseList(strings.Join(hc.CapDrop, ","))
	if err != nil {
		return nil, fmt.Errorf("%s: cap-drop: %w", name, err)
	}
	s.Caps = caps.Apply(caps.DockerDefault(), add, drop, hc.Privileged)
	s.InUserns = (d.Rootless || d.UsernsRemap) && !hc.UsernsMode.IsHost()
	for _, dev := range hc.Devices {
		s.Devices = append(s.Devices, dev.PathInContainer)
	}
	if hc.Privileged {
		return s, nil // privileged containers run without a filter
	}
	profile, label := "", ""
	for _, o := range hc.SecurityOpt {
		k, v, _ := strings.Cut(o, "=")
		if k == "seccomp" || strings.HasPrefix(o, "seccomp:") {
			if k != "seccomp" {
				_, v, _ = strings.Cut(o, ":")
			}
			profile, label = v, "of "+name
		}
	}
	if profile == "" {
		switch d.Seccomp {
		case "", "unconfined":
			return s, nil
		case "builtin", "default":
			profile, label = "builtin", "docker-default"
		default:
			data, err := os.ReadFile(d.Seccomp)
			if err != nil {
				s.Filter = unreadFilter{what: "the daemon's profile " + d.Seccomp}
				return s, nil
			}
			profile, label = string(data), d.Seccomp
		}
	}
	var p *seccomp.Profile
	switch {
	case strings.EqualFold(profile, "unconfined"):
		return s, nil
	case profile == "builtin":
		p, err = seccomp.LoadBuiltin("docker-default")
	case strings.HasPrefix(strings.TrimSpace(profile), "{"):
		p, err = seccomp.Parse(label, []byte(profile))
	default:
		s.Filter = unreadFilter{what: "profile " + profile}
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: seccomp profile: %w", name, err)
	}
	res, err := exposure.ResolveProfile(p, syscalls.Native(), s.Caps, host.Kernel)
	if err != nil {
		return nil, fmt.Errorf("%s: seccomp profile: %w", name, err)
	}
	s.Filter = &exposure.SeccompFilter{Profile: res, Label: label}
	return s, nil
}

// unreadFilter stands for a profile that could not be read: every call
// counts as allowed, said as assumed.
type unreadFilter struct{ what string }

func (u unreadFilter) Name() string { return "seccomp " + u.what + " (unreadable)" }

func (u unreadFilter) Decide(string, [6]uint64) (bool, string, bool) {
	return true, "not read", false
}
