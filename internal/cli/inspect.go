package cli

import (
	"context"
	"io"
	"os"
	"os/exec"

	"github.com/palisade-sec/palisade/internal/confine"
	"github.com/spf13/cobra"
)

func newInspectCmd(s streams) *cobra.Command {
	var format, out, probeSyscall, probeKernel string
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
			"seccomp block, ENOSYS and a seccomp kill apart. Then the kernel exposure:\n" +
			"real, harmless calls (a child in a new user namespace, netlink and packet\n" +
			"sockets, io_uring_setup, fsopen, splice, each closed at once) and the table\n" +
			"of known breakout bugs evaluated for this process (docs/kernel-exposure.md).\n" +
			"See docs/inspect.md.",
		Example: "  palisade inspect\n  palisade inspect -o json --pid 1\n  docker run --rm -v $(command -v palisade):/palisade:ro IMAGE /palisade inspect",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if probeKernel != "" {
				if err := confine.KernelProbeChild(probeKernel, s.out); err != nil {
					return exitf(3, "probe: %v", err)
				}
				return nil
			}
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
			c, err := confine.ReadProcess("/", pid)
			if err != nil {
				return exitf(1, "inspect: %v", err)
			}
			if pid == 0 {
				c.CheckLive(cmd.Context(), !noProbe, inspectProbeCommand)
				if !noProbe {
					c.CheckKernel(cmd.Context(), inspectKernelCommand)
				}
			}
			confine.SortFindings(c.Findings)
			return writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, c)
				}
				return c.WriteText(w)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&out, "out", "", "write the report to this file (default stdout)")
	cmd.Flags().IntVar(&pid, "pid", 0, "inspect this process instead of palisade itself (no probes, socket or write checks)")
	cmd.Flags().BoolVar(&noProbe, "no-probe", false, "skip the syscall probes")
	cmd.Flags().StringVar(&probeSyscall, "probe-syscall", "", "run one syscall probe (the probe child)")
	cmd.Flags().MarkHidden("probe-syscall")
	cmd.Flags().StringVar(&probeKernel, "probe-kernel", "", "run one kernel-exposure probe (the probe child)")
	cmd.Flags().MarkHidden("probe-kernel")
	return cmd
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

// inspectKernelEnv makes a test binary act as a kernel probe child.
const inspectKernelEnv = "PALISADE_INSPECT_PROBE_KERNEL"

// inspectKernelCommand re-executes palisade as a kernel probe child, in a
// new user namespace when userns is set.
func inspectKernelCommand(ctx context.Context, name string, userns bool) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	cmd := exec.CommandContext(ctx, exe, "inspect", "--probe-kernel", name)
	cmd.Env = append(os.Environ(), inspectKernelEnv+"="+name)
	if userns {
		confine.InUserns(cmd)
	}
	return cmd
}
