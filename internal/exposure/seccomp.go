package exposure

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	mobyseccomp "github.com/moby/profiles/seccomp"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/seccomp"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// SeccompFilter is a resolved seccomp profile asked through
// internal/seccomp's reference evaluator, on the profile's host arch.
type SeccompFilter struct {
	Profile *seccomp.Resolved
	// Label names the profile in messages ("docker-default").
	Label string
}

// Name implements Filter.
func (f *SeccompFilter) Name() string { return "seccomp profile " + f.Label }

// Decide implements Filter: the exact call, arguments included, through
// seccomp.Evaluate.
func (f *SeccompFilter) Decide(name string, args [6]uint64) (bool, string, bool) {
	arch := f.Profile.Env.Arch
	if arch == "" && len(f.Profile.Arches) > 0 {
		arch = f.Profile.Arches[0]
	}
	nr, ok := syscalls.Number(arch, name)
	if !ok {
		return false, fmt.Sprintf("%s has no %s", arch, name), true
	}
	tok, _ := syscalls.AuditArch(arch)
	act := seccomp.Evaluate(f.Profile, seccomp.SeccompData{Nr: uint32(nr), Arch: tok, Args: args}, seccomp.Options{})
	return act.Allows(), actionText(act), true
}

// actionText says what the filter does to the call: "EPERM", "kills the thread".
func actionText(a seccomp.Action) string {
	switch a.Kind() {
	case seccomp.ActErrno:
		if name := unix.ErrnoName(syscall.Errno(a.Data())); name != "" {
			return "returns " + name
		}
		return fmt.Sprintf("returns errno %d", a.Data())
	}
	return a.String()
}

// ResolveProfile resolves a profile the way the engine would for a
// container with these capabilities on this kernel and arch.
func ResolveProfile(p *seccomp.Profile, arch string, c caps.Set, k Kernel) (*seccomp.Resolved, error) {
	env := seccomp.Env{Arch: arch, Caps: c}
	if k.Known {
		env.Kernel = mobyseccomp.KernelVersion{Kernel: uint64(k.Version.Major), Major: uint64(k.Version.Minor)}
	}
	return seccomp.Resolve(p, env)
}

// DockerDefaultSubject is a container Docker starts with no options: its
// default capabilities and default seccomp profile.
func DockerDefaultSubject(h *Host) (*Subject, error) {
	p, err := seccomp.LoadBuiltin("docker-default")
	if err != nil {
		return nil, err
	}
	c := caps.DockerDefault()
	r, err := ResolveProfile(p, syscalls.Native(), c, h.Kernel)
	if err != nil {
		return nil, err
	}
	return &Subject{Name: "a default Docker container", Filter: &SeccompFilter{Profile: r, Label: "docker-default"}, Caps: c}, nil
}
