package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/apparmor"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/palisade-sec/palisade/internal/profile"
	"github.com/palisade-sec/palisade/internal/record"
	"github.com/palisade-sec/palisade/internal/seccomp"
)

var profileKinds = []string{"seccomp", "caps", "apparmor", "docker", "compose", "k8s"}

func newProfileCmd(s streams) *cobra.Command { return newProfileCmdFor(s, false) }

// newProfileCmdFor is `profile KIND RECORDING`, or with fromBaseline
// `baseline profile KIND BASELINE` (the same generators fed the
// baseline's recording form).
func newProfileCmdFor(s streams, fromBaseline bool) *cobra.Command {
	var (
		out, format, runtime, seccompFile, name, service string
		withAppArmor, complain                           bool
	)
	cmd := &cobra.Command{
		Use:   "profile KIND RECORDING",
		Short: "Derive seccomp, caps, apparmor, docker, compose or k8s settings from a recording",
		Long: "Turn a recording (palisade record) into least-privilege settings. KIND is:\n" +
			"  seccomp   Docker JSON profile: default EPERM, the arches seen, the recorded\n" +
			"            syscalls sorted, socket/clone/unshare/personality argument\n" +
			"            filters, plus what --runtime (runc, runc-nnp for containers\n" +
			"            run with no-new-privileges, palisade-run, none) calls\n" +
			"            after installing the filter; validated by palisade's compiler\n" +
			"  caps      capabilities to add after dropping all (-o json: {\"cap_add\":[...]})\n" +
			"  apparmor  an AppArmor profile; how paths were globbed goes to stderr\n" +
			"  docker    docker run flags; compose: service keys; k8s: securityContext\n\n" +
			"Capabilities are those the kernel checked and granted (recorded on Linux\n" +
			"6.15+ from the capability:cap_capable tracepoint) plus those the syscalls\n" +
			"prove; a recording without capability checks (older kernel or recording)\n" +
			"gives only the proven set, and then stderr and -o json say it is partial.\n" +
			"See docs/profile.md.",
		Example: "  palisade profile seccomp web.json --out web-seccomp.json\n" +
			"  palisade profile caps web.json -o json\n" +
			"  palisade profile docker web.json --seccomp-file web-seccomp.json\n" +
			"  palisade profile k8s web.json --seccomp-file profiles/web.json",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, file := args[0], args[1]
			if !slices.Contains(profileKinds, kind) {
				return exitf(2, "unknown profile kind %q (want one of %s)", escape.Text(kind), strings.Join(profileKinds, ", "))
			}
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			var rec *record.Recording
			if fromBaseline {
				r, _, err := baselineRecording(cmd, file, kind == "seccomp")
				if err != nil {
					return err
				}
				rec = r
			} else {
				data, err := readInput(cmd, file, input.Recording)
				if err != nil {
					return err
				}
				if rec, err = record.Parse(file, data); err != nil {
					return exitf(2, "%v", err)
				}
			}
			if name == "" {
				name = profile.DefaultName(rec)
			}
			if rec.Lost > 0 {
				fmt.Fprintf(s.err, "palisade: warning: the recording lost %d kernel records; the profile may miss syscalls\n", rec.Lost)
			}
			var render func(io.Writer) error
			switch kind {
			case "seccomp":
				res, err := profile.Seccomp(rec, runtime)
				if err != nil {
					return exitf(1, "%s: %v", file, err)
				}
				if complain {
					// Complain mode: what the profile would refuse is
					// allowed and logged by the kernel (audit), to
					// review before enforcing.
					res.Profile.DefaultAction = specs.ActLog
					res.Profile.DefaultErrnoRet = nil
					res.Notes = append(res.Notes, "complain mode: calls outside the profile are allowed and logged (SCMP_ACT_LOG); drop --complain to enforce")
				}
				env := seccomp.Env{}
				if kv, err := seccomp.HostKernel(); err == nil {
					env.Kernel = kv
				}
				chk, err := profile.SeccompJSON(res, env)
				if err != nil {
					return exitf(3, "%v", err)
				}
				for _, n := range res.Notes {
					fmt.Fprintf(s.err, "palisade: %s\n", n)
				}
				dd, err := profile.DockerDefaultAllowed(env)
				if err != nil {
					return exitf(3, "%v", err)
				}
				fmt.Fprintf(s.err, "palisade: allows %d x86_64 syscalls with zero arguments (Docker's default profile: %d with Docker's 14 capabilities); compiled to %d BPF instructions\n", chk.Allowed, dd, chk.Program.Len())
				render = func(w io.Writer) error { _, err := w.Write(chk.JSON); return err }
			case "caps":
				c := profile.Caps(rec)
				if c.Partial {
					fmt.Fprintf(s.err, "palisade: partial: %s\n", c.Reason)
				}
				render = func(w io.Writer) error {
					if format == "json" {
						return writeJSON(w, c)
					}
					for _, n := range c.CapAdd {
						fmt.Fprintln(w, n)
					}
					for _, e := range c.Evidence {
						fmt.Fprintf(s.err, "palisade: %s\n", escape.Text(e))
					}
					return nil
				}
			case "apparmor":
				prof, d, err := profile.AppArmor(rec, name)
				if err != nil {
					return exitf(1, "%s: %v", file, err)
				}
				if format == "json" {
					render = func(w io.Writer) error {
						return writeJSON(w, map[string]any{"name": name, "profile": string(prof), "derivation": d})
					}
				} else {
					if err := apparmor.WriteDerivation(s.err, d); err != nil {
						return err
					}
					render = func(w io.Writer) error { _, err := w.Write(prof); return err }
				}
			case "docker", "compose", "k8s":
				aa := ""
				if withAppArmor {
					aa = name
				}
				st := profile.Derive(rec, seccompFile, aa)
				for _, n := range st.Notes {
					fmt.Fprintf(s.err, "palisade: %s\n", escape.Text(n))
				}
				switch kind {
				case "docker":
					render = func(w io.Writer) error {
						flags := st.DockerFlags()
						if format == "json" {
							return writeJSON(w, map[string]any{"flags": flags, "notes": st.Notes})
						}
						_, err := fmt.Fprintln(w, strings.Join(flags, " "))
						return err
					}
				case "compose":
					y, err := st.Compose(service)
					if err != nil {
						return exitf(1, "%v", err)
					}
					render = func(w io.Writer) error {
						if format == "json" {
							return writeJSON(w, map[string]any{"services": map[string]any{service: st}})
						}
						_, err := w.Write(y)
						return err
					}
				case "k8s":
					y, err := st.K8s()
					if err != nil {
						return exitf(1, "%v", err)
					}
					render = func(w io.Writer) error {
						if format == "json" {
							return writeJSON(w, map[string]any{"securityContext": st.SecurityContext()})
						}
						_, err := w.Write(y)
						return err
					}
				}
			}
			if err := writeResult(s, out, render); err != nil {
				return exitf(1, "%v", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "write to this file (atomically) instead of stdout")
	f.StringVarP(&format, "output", "o", "text", "output format: text or json")
	f.StringVar(&runtime, "runtime", "runc", "seccomp: the launcher whose post-filter calls to allow: runc (docker), runc-nnp (docker with no-new-privileges), palisade-run, none")
	f.StringVar(&seccompFile, "seccomp-file", "seccomp.json", "docker/compose/k8s: the seccomp profile path the settings refer to")
	f.StringVar(&name, "name", "", "apparmor profile name (default palisade-<program>)")
	f.BoolVar(&withAppArmor, "apparmor", false, "docker/compose/k8s: also apply the AppArmor profile --name")
	f.StringVar(&service, "service", "app", "compose: the service name")
	f.BoolVar(&complain, "complain", false, "seccomp: log calls outside the profile instead of refusing them (SCMP_ACT_LOG), to try a profile before enforcing it")
	if fromBaseline {
		cmd.Use = "profile KIND BASELINE"
		cmd.Short = "Derive seccomp, caps, apparmor, docker, compose or k8s settings from a baseline"
		cmd.Long = strings.Replace(cmd.Long, "Turn a recording (palisade record)", "Turn a baseline (palisade baseline from-recording; a learned one has too few\nsyscalls for seccomp and is refused there)", 1)
		cmd.Example = "  palisade baseline profile seccomp baselines/web.json --complain --out web-seccomp.json\n" +
			"  palisade baseline profile docker baselines/web.json --seccomp-file web-seccomp.json\n" +
			"  palisade baseline profile k8s baselines/web.json --seccomp-file profiles/web.json"
	}
	return cmd
}
