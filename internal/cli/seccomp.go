package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/palisade-sec/palisade/internal/seccomp"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

func newSeccompCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seccomp",
		Short: "Seccomp profile tooling: compile, eval, stats, lint, diff, explain",
		Long: "Work with Docker/OCI seccomp profiles (JSON). PROFILE is a file, or\n" +
			"builtin:docker-default (also --builtin docker-default) for Docker's default\n" +
			"profile. Includes/excludes are resolved as Docker resolves them for the host\n" +
			"arch (--arch), the container's capabilities (--caps, default Docker's 14)\n" +
			"and the kernel (--kernel, default this host's). See docs/seccomp.md.",
	}
	cmd.AddCommand(newSeccompCompileCmd(s), newSeccompEvalCmd(s), newSeccompStatsCmd(s),
		newSeccompLintCmd(s), newSeccompDiffCmd(s), newSeccompExplainCmd(s))
	return cmd
}

// profileFlags are the inputs every seccomp subcommand shares.
type profileFlags struct {
	builtin, arch, capList, kernel string
	capsSet                        bool
}

func (f *profileFlags) register(cmd *cobra.Command, withArch bool) {
	cmd.Flags().StringVar(&f.builtin, "builtin", "", "use a built-in profile (docker-default)")
	if withArch {
		cmd.Flags().StringVar(&f.arch, "arch", "", "architecture ("+strings.Join(syscalls.Arches(), ", ")+" or SCMP_ARCH_*; default this host's)")
	}
	cmd.Flags().StringVar(&f.capList, "caps", "", "container capabilities for includes/excludes, comma-separated, ALL, or \"\" for none (default Docker's 14)")
	cmd.Flags().StringVar(&f.kernel, "kernel", "", "kernel version for minKernel, e.g. 6.1 (default this host's)")
}

// load reads the profile named by args[0] or --builtin.
func (f *profileFlags) load(cmd *cobra.Command, args []string) (*seccomp.Profile, error) {
	f.capsSet = cmd.Flags().Changed("caps")
	return loadSeccompProfile(cmd.Context(), args, f.builtin)
}

func loadSeccompProfile(ctx context.Context, args []string, builtin string) (*seccomp.Profile, error) {
	switch {
	case builtin != "" && len(args) > 0:
		return nil, exitf(2, "give a profile file or --builtin, not both")
	case builtin != "":
		p, err := seccomp.LoadBuiltin(builtin)
		if err != nil {
			return nil, exitf(2, "--builtin: %v", err)
		}
		return p, nil
	case len(args) == 0:
		return nil, exitf(2, "no profile: give a file or --builtin docker-default")
	}
	return readSeccompProfile(ctx, args[0])
}

func readSeccompProfile(ctx context.Context, path string) (*seccomp.Profile, error) {
	if name, ok := strings.CutPrefix(path, "builtin:"); ok {
		p, err := seccomp.LoadBuiltin(name)
		if err != nil {
			return nil, exitf(2, "%v", err)
		}
		return p, nil
	}
	data, err := input.ReadFile(ctx, path, input.SeccompProfile)
	if err != nil {
		return nil, inputError(fmt.Errorf("read profile: %w", err))
	}
	// The name shows up in every message and location: keep it inert.
	p, err := seccomp.Parse(escape.Text(path), data)
	if err != nil {
		return nil, exitf(2, "%v", err)
	}
	return p, nil
}

// env builds the Docker evaluation environment. arch is the syscall arch the
// user named; the host is the 64-bit arch that runs it.
func (f *profileFlags) env() (seccomp.Env, string, error) {
	arch := f.arch
	if arch == "" {
		arch = syscalls.Native()
		if arch == "" {
			return seccomp.Env{}, "", exitf(2, "this host's arch is not supported; give --arch")
		}
	}
	c, ok := syscalls.Canonical(arch)
	if !ok {
		return seccomp.Env{}, "", exitf(2, "--arch: unknown architecture %q (want %s or SCMP_ARCH_*)", arch, strings.Join(syscalls.Arches(), ", "))
	}
	env := seccomp.Env{Arch: seccomp.HostFor(c), Caps: caps.DockerDefault()}
	if f.capsSet {
		set, err := caps.ParseList(f.capList)
		if err != nil {
			return env, "", exitf(2, "--caps: %v", err)
		}
		env.Caps = set
	}
	if f.kernel != "" {
		kv, err := seccomp.ParseKernelVersion(f.kernel)
		if err != nil {
			return env, "", exitf(2, "--kernel: %v", err)
		}
		env.Kernel = kv
	} else {
		kv, err := seccomp.HostKernel()
		if err != nil {
			return env, "", exitf(2, "read kernel version (give --kernel): %v", err)
		}
		env.Kernel = kv
	}
	return env, c, nil
}

// resolve loads the profile (args[0] or --builtin) and resolves it for the
// flags' environment; arch is the canonical syscall arch.
func (f *profileFlags) resolve(cmd *cobra.Command, args []string) (*seccomp.Resolved, string, error) {
	p, err := f.load(cmd, args)
	if err != nil {
		return nil, "", err
	}
	env, arch, err := f.env()
	if err != nil {
		return nil, "", err
	}
	r, err := seccomp.Resolve(p, env)
	if err != nil {
		return nil, "", exitf(2, "%v", err)
	}
	return r, arch, nil
}

// compile is resolve, then the program palisade run installs.
func (f *profileFlags) compile(cmd *cobra.Command, args []string) (*seccomp.Resolved, *seccomp.Program, string, error) {
	r, arch, err := f.resolve(cmd, args)
	if err != nil {
		return nil, nil, "", err
	}
	prog, err := seccomp.Compile(r, seccomp.Options{})
	if err != nil {
		return nil, nil, "", exitf(1, "compile %s: %v", r.Source, err)
	}
	return r, prog, arch, nil
}

func newSeccompCompileCmd(s streams) *cobra.Command {
	var pf profileFlags
	var format, out string
	cmd := &cobra.Command{
		Use:   "compile PROFILE|--builtin NAME",
		Short: "Compile a profile to classic BPF",
		Long: "Compile a profile to the classic BPF program palisade run installs.\n" +
			"-o asm prints the program as assembly, -o raw writes the struct sock_filter\n" +
			"array (8 bytes per instruction, host byte order) as seccomp(2) takes it,\n" +
			"-o json gives instructions as {code,jt,jf,k}.",
		Example: "  palisade seccomp compile --builtin docker-default\n" +
			"  palisade seccomp compile profile.json --arch aarch64 -o raw --out filter.bpf",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "asm", "raw", "json"); err != nil {
				return err
			}
			r, prog, _, err := pf.compile(cmd, args)
			if err != nil {
				return err
			}
			return writeResult(s, out, func(w io.Writer) error {
				switch format {
				case "raw":
					b, _ := prog.MarshalBinary()
					_, err := w.Write(b)
					return err
				case "json":
					return writeJSON(w, prog)
				}
				fmt.Fprintf(w, "; %s for %s (%d instructions)\n", r.Source, strings.Join(prog.Arches, ", "), prog.Len())
				return prog.WriteListing(w)
			})
		},
	}
	pf.register(cmd, true)
	addResultFlags(cmd, &format, &out, "asm", "raw", "json")
	return cmd
}

func parseArgValue(flag, v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	u, err := strconv.ParseUint(v, 0, 64)
	if err == nil {
		return u, nil
	}
	i, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		return 0, exitf(2, "--%s: %q is not a number", flag, v)
	}
	return uint64(i), nil
}

func newSeccompEvalCmd(s streams) *cobra.Command {
	var pf profileFlags
	var format, out, name string
	var all bool
	var argv [6]string
	cmd := &cobra.Command{
		Use:   "eval PROFILE|--builtin NAME --arch A --syscall NAME [--arg0 V ... --arg5 V]",
		Short: "Print the action the compiled filter takes for a syscall",
		Long: "Run the compiled filter over one syscall (name or number) with the given\n" +
			"arguments and print the action, e.g. SCMP_ACT_ERRNO(1). --all lists every\n" +
			"syscall the arch knows with its action for zero arguments.",
		Example: "  palisade seccomp eval --builtin docker-default --arch x86_64 --syscall mount\n" +
			"  palisade seccomp eval --builtin docker-default --arch x86_64 --syscall clone --arg0 0x10000000\n" +
			"  palisade seccomp eval profile.json --arch x86 --all -o json",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if !all && name == "" {
				return exitf(2, "give --syscall NAME or --all")
			}
			if all && name != "" {
				return exitf(2, "give --syscall or --all, not both")
			}
			r, prog, arch, err := pf.compile(cmd, args)
			if err != nil {
				return err
			}
			tok, _ := syscalls.AuditArch(arch)
			runOne := func(nr int, a [6]uint64) (seccomp.Action, error) {
				act, err := seccomp.RunChecked(r, prog, seccomp.SeccompData{Nr: uint32(nr), Arch: tok, Args: a})
				if err != nil {
					return 0, exitf(3, "internal error: %v", err)
				}
				return act, nil
			}
			if all {
				result := map[string]string{}
				type row struct{ name, act string }
				var rows []row
				for _, sc := range syscalls.List(arch) {
					act, err := runOne(sc.Nr, [6]uint64{})
					if err != nil {
						return err
					}
					result[sc.Name] = act.String()
					rows = append(rows, row{sc.Name, act.String()})
				}
				return writeResult(s, out, func(w io.Writer) error {
					if format == "json" {
						return writeJSON(w, map[string]any{"syscalls": result})
					}
					tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
					for _, r := range rows {
						fmt.Fprintf(tw, "%s\t%s\n", r.name, r.act)
					}
					return tw.Flush()
				})
			}
			nr, name, err := seccomp.LookupSyscall(arch, name)
			if err != nil {
				return exitf(2, "--syscall: %v", err)
			}
			var a [6]uint64
			for i, v := range argv {
				if a[i], err = parseArgValue(fmt.Sprintf("arg%d", i), v); err != nil {
					return err
				}
			}
			act, err := runOne(nr, a)
			if err != nil {
				return err
			}
			return writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, map[string]any{"arch": arch, "syscall": name, "nr": nr, "args": a, "action": act.String()})
				}
				_, err := fmt.Fprintln(w, act)
				return err
			})
		},
	}
	pf.register(cmd, true)
	cmd.Flags().StringVar(&name, "syscall", "", "syscall name (or number)")
	cmd.Flags().BoolVar(&all, "all", false, "every syscall of the arch, zero arguments")
	for i := range argv {
		cmd.Flags().StringVar(&argv[i], fmt.Sprintf("arg%d", i), "", fmt.Sprintf("argument %d (decimal, 0x hex or negative)", i))
	}
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}

func newSeccompStatsCmd(s streams) *cobra.Command {
	var pf profileFlags
	var format, out string
	cmd := &cobra.Command{
		Use:   "stats PROFILE|--builtin NAME",
		Short: "Program size and instructions executed per allowed syscall",
		Long: "Compile the profile for the host's arch set and report the program length\n" +
			"and how many instructions the filter runs for each allowed native syscall\n" +
			"(zero arguments): the average and the maximum.",
		Example: "  palisade seccomp stats --builtin docker-default -o json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			_, prog, _, err := pf.compile(cmd, args)
			if err != nil {
				return err
			}
			st, err := seccomp.Measure(prog)
			if err != nil {
				return exitf(3, "internal error: %v", err)
			}
			return writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, struct {
						Instructions int     `json:"instructions"`
						Avg          float64 `json:"avg_executed_allowed"`
						Max          int     `json:"max_executed_allowed"`
					}{st.Instructions, roundTo(st.AvgExecutedAllowed, 3), st.MaxExecutedAllowed})
				}
				fmt.Fprintf(w, "arches:                 %s\n", strings.Join(prog.Arches, ", "))
				fmt.Fprintf(w, "instructions:           %d (kernel limit %d)\n", st.Instructions, seccomp.MaxInstructions)
				fmt.Fprintf(w, "allowed native calls:   %d\n", st.Allowed)
				fmt.Fprintf(w, "executed per allowed:   avg %.2f, max %d (%s)\n", st.AvgExecutedAllowed, st.MaxExecutedAllowed, st.MaxExecutedName)
				return nil
			})
		},
	}
	pf.register(cmd, true)
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}

func roundTo(x float64, digits int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	return v
}

func newSeccompLintCmd(s streams) *cobra.Command {
	var pf profileFlags
	var format, out, failOn string
	cmd := &cobra.Command{
		Use:   "lint PROFILE|--builtin NAME",
		Short: "Find dangerous allowances in a profile",
		Long: "Report syscalls a container should not get (mount, ptrace, bpf, keyctl,\n" +
			"io_uring, userfaultfd, open_by_handle_at, ...), namespace creation through\n" +
			"unshare/clone without flag filters, socket(AF_ALG/AF_VSOCK), an allowing\n" +
			"default, and syscalls denied natively but open on i386/x32.\n\n" +
			"Exit status: 0, or 1 when a finding reaches --fail-on (default high).",
		Example: "  palisade seccomp lint profile.json\n  palisade seccomp lint --builtin docker-default -o sarif --out lint.sarif",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json", "sarif"); err != nil {
				return err
			}
			threshold := -1
			switch failOn {
			case "never", "none":
			case "high", "medium", "low", "info":
				threshold = seccomp.Severity(failOn).Rank()
			default:
				return exitf(2, "--fail-on: want high, medium, low, info or never, got %q", failOn)
			}
			r, _, err := pf.resolve(cmd, args)
			if err != nil {
				return err
			}
			findings := seccomp.Lint(r)
			if err := writeResult(s, out, func(w io.Writer) error {
				switch format {
				case "json":
					if findings == nil {
						findings = []seccomp.Finding{}
					}
					return writeJSON(w, map[string]any{"profile": r.Source, "findings": findings})
				case "sarif":
					return seccomp.WriteLintSARIF(w, r.Source, Version, findings)
				}
				return seccomp.WriteLintText(w, r.Source, findings)
			}); err != nil {
				return err
			}
			for _, f := range findings {
				if threshold >= 0 && f.Severity.Rank() >= threshold {
					return exitf(1, "%d findings, worst %s", len(findings), findings[0].Severity)
				}
			}
			return nil
		},
	}
	pf.register(cmd, true)
	addResultFlags(cmd, &format, &out, "text", "json", "sarif")
	cmd.Flags().StringVar(&failOn, "fail-on", "high", "exit 1 when a finding reaches this severity (high, medium, low, info, never)")
	return cmd
}

func newSeccompDiffCmd(s streams) *cobra.Command {
	var pf profileFlags
	var format, out string
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare two profiles syscall by syscall",
		Long: "Compare what two profiles decide on every arch either filters: syscalls B\n" +
			"allows that A does not (added), the reverse (removed), and syscalls whose\n" +
			"action or argument conditions differ (changed). Either side may be\n" +
			"builtin:docker-default, and --builtin NAME stands for A as in the other\n" +
			"seccomp commands. Exit status 0 when equal, 1 when they differ.",
		Example: "  palisade seccomp diff builtin:docker-default my-profile.json\n" +
			"  palisade seccomp diff --builtin docker-default my-profile.json -o json",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			switch {
			case pf.builtin != "" && len(args) == 1:
				args = []string{"builtin:" + pf.builtin, args[0]}
			case pf.builtin != "":
				return exitf(2, "--builtin %s takes the place of A: give only B", escape.Text(pf.builtin))
			case len(args) == 1:
				return exitf(2, "diff needs two profiles, A and B (or --builtin NAME and B)")
			}
			pf.capsSet = cmd.Flags().Changed("caps")
			env, _, err := pf.env()
			if err != nil {
				return err
			}
			var rs [2]*seccomp.Resolved
			for i, a := range args {
				p, err := readSeccompProfile(cmd.Context(), a)
				if err != nil {
					return err
				}
				if rs[i], err = seccomp.Resolve(p, env); err != nil {
					return exitf(2, "%v", err)
				}
			}
			d := seccomp.Diff(rs[0], rs[1])
			if err := writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					for _, l := range []*[]seccomp.DiffEntry{&d.Added, &d.Removed, &d.Changed} {
						if *l == nil {
							*l = []seccomp.DiffEntry{}
						}
					}
					return writeJSON(w, d)
				}
				return d.WriteText(w)
			}); err != nil {
				return err
			}
			if !d.Empty() {
				return &ExitError{Code: 1, Err: fmt.Errorf("profiles differ: %d added, %d removed, %d changed", len(d.Added), len(d.Removed), len(d.Changed))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pf.builtin, "builtin", "", "compare the built-in profile NAME (docker-default) as A")
	cmd.Flags().StringVar(&pf.arch, "arch", "", "host architecture (default this host's)")
	cmd.Flags().StringVar(&pf.capList, "caps", "", "container capabilities (default Docker's 14)")
	cmd.Flags().StringVar(&pf.kernel, "kernel", "", "kernel version for minKernel (default this host's)")
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}

func newSeccompExplainCmd(s streams) *cobra.Command {
	var pf profileFlags
	var format, out string
	var argv [6]string
	cmd := &cobra.Command{
		Use:   "explain PROFILE SYSCALL",
		Short: "Say which rule decides a syscall and why",
		Long: "List every profile entry naming the syscall, whether includes/excludes\n" +
			"keep it for --caps/--kernel/--arch, which one decides for the given\n" +
			"arguments (default all zero), and the resulting action.",
		Example: "  palisade seccomp explain builtin:docker-default clone --arg0 0x10000000\n" +
			"  palisade seccomp explain profile.json mount --caps CAP_SYS_ADMIN",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			var name string
			var p *seccomp.Profile
			var err error
			if pf.builtin != "" {
				if len(args) != 1 {
					return exitf(2, "with --builtin give just the SYSCALL")
				}
				name = args[0]
				p, err = pf.load(cmd, nil)
			} else {
				if len(args) != 2 {
					return exitf(2, "give PROFILE and SYSCALL")
				}
				name = args[1]
				p, err = pf.load(cmd, args[:1])
			}
			if err != nil {
				return err
			}
			env, arch, err := pf.env()
			if err != nil {
				return err
			}
			var a [6]uint64
			for i, v := range argv {
				if a[i], err = parseArgValue(fmt.Sprintf("arg%d", i), v); err != nil {
					return err
				}
			}
			ex, err := seccomp.Explain(p, env, arch, name, a)
			if err != nil {
				return exitf(2, "%v", err)
			}
			return writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					if ex.Rules == nil {
						ex.Rules = []seccomp.RuleNote{}
					}
					return writeJSON(w, ex)
				}
				return ex.WriteText(w)
			})
		},
	}
	pf.register(cmd, true)
	for i := range argv {
		cmd.Flags().StringVar(&argv[i], fmt.Sprintf("arg%d", i), "", fmt.Sprintf("argument %d", i))
	}
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}
