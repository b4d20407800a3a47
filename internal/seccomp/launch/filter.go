package launch

import (
	"errors"
	"fmt"

	"golang.org/x/net/bpf"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/seccomp"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// ErrNoNativeArch means palisade has no syscall table for this host's
// architecture, so it cannot compile a filter for it.
var ErrNoNativeArch = errors.New("this host's architecture is not supported")

// CompileFilter compiles profile p for this host as Docker would apply it
// to a container holding capabilities set (which decide Docker's
// includes/excludes) on the running kernel, and returns the program with
// the SECCOMP_FILTER_FLAG_* bits its flags ask for. SCMP_ACT_NOTIFY is
// refused: nothing would answer the notifications.
func CompileFilter(p *seccomp.Profile, set caps.Set) ([]bpf.RawInstruction, uint, error) {
	host := syscalls.Native()
	if host == "" {
		return nil, 0, ErrNoNativeArch
	}
	kv, err := seccomp.HostKernel()
	if err != nil {
		return nil, 0, fmt.Errorf("read kernel version: %w", err)
	}
	r, err := seccomp.Resolve(p, seccomp.Env{Arch: host, Caps: set, Kernel: kv})
	if err != nil {
		return nil, 0, err
	}
	for _, rule := range r.Rules {
		if rule.Action.Kind() == seccomp.ActNotify {
			return nil, 0, fmt.Errorf("%s: SCMP_ACT_NOTIFY needs a notification listener, which palisade run does not provide", rule.Pos)
		}
	}
	prog, err := seccomp.Compile(r, seccomp.Options{})
	if err != nil {
		return nil, 0, fmt.Errorf("compile %s: %w", p.Source, err)
	}
	var flags uint
	for _, f := range r.Flags {
		switch f {
		case "SECCOMP_FILTER_FLAG_LOG":
			flags |= 2
		case "SECCOMP_FILTER_FLAG_SPEC_ALLOW":
			flags |= 4
		case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
			flags |= 32
		}
		// TSYNC is moot: the shim is the only thread that execs.
	}
	return prog.Raw, flags, nil
}
