package profile

import (
	"github.com/palisade-sec/palisade/internal/seccomp"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// AllowedCount counts the syscalls of arch a resolved profile allows with
// all-zero arguments, the figure the issue compares profiles by.
func AllowedCount(r *seccomp.Resolved, arch string) int {
	n := 0
	for _, name := range syscalls.Names(arch) {
		if d, ok := seccomp.Decide(r, arch, name); ok && d.Action.Allows() {
			n++
		}
	}
	return n
}

// DockerDefaultAllowed is AllowedCount for Docker's default profile in env
// (Docker's 14 capabilities unless env says otherwise).
func DockerDefaultAllowed(env seccomp.Env) (int, error) {
	p, err := seccomp.LoadBuiltin("docker-default")
	if err != nil {
		return 0, err
	}
	env = fillEnv(env)
	r, err := seccomp.Resolve(p, env)
	if err != nil {
		return 0, err
	}
	return AllowedCount(r, env.Arch), nil
}
