package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/net/bpf"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/passwd"
	"github.com/palisade-sec/palisade/internal/profile"
	"github.com/palisade-sec/palisade/internal/seccomp"
	"github.com/palisade-sec/palisade/internal/seccomp/launch"
)

// userNSBase is where root of a --userns namespace lands on the host, as
// rootless container engines map it (an unprivileged, unused range).
const userNSBase = 100000

func newRunCmd(s streams) *cobra.Command {
	var (
		capDrop, capAdd         []string
		privileged, nnp, userns bool
		seccompOpt, user, aa    string
		baselineFile            string
		shimFD                  int
	)
	cmd := &cobra.Command{
		Use:   "run [hardening flags] -- CMD [ARGS...]",
		Short: "Launch a process least-privileged, as docker run would confine it",
		Long: "Start CMD with the confinement `docker run` applies with the same flags:\n" +
			"Docker's 14 default capabilities unless --cap-drop/--cap-add/--privileged say\n" +
			"otherwise (set in the bounding, permitted and effective sets, plus\n" +
			"inheritable and ambient for a non-root --user), no_new_privs, Docker's\n" +
			"default seccomp profile (or --seccomp FILE, or unconfined), a user switch,\n" +
			"a user namespace mapping root inside to unprivileged IDs outside, and an\n" +
			"AppArmor exec transition. No new mount, PID or network namespace is made.\n\n" +
			"Exit status: the command's own, or 128+N when signal N killed it;\n" +
			"125 when palisade could not set up, 126 when the confinement could not be\n" +
			"applied, 127 when CMD was not found. Needs root (or the capabilities it\n" +
			"hands out). See docs/run.md.",
		Example: "  palisade run --cap-drop ALL --no-new-privileges --seccomp default -- id\n" +
			"  palisade run --cap-drop ALL --cap-add NET_BIND_SERVICE -- python3 -m http.server 80\n" +
			"  palisade run --user 1000:1000 --seccomp ./profile.json -- ./server\n" +
			"  palisade run --userns -- sh -c 'cat /proc/self/uid_map'",
		RunE: func(cmd *cobra.Command, args []string) error {
			if shimFD > 0 {
				if err := launch.ShimMain(shimFD); err != nil {
					return exitf(126, "run: %v", err)
				}
				return nil
			}
			if len(args) == 0 {
				return exitf(125, "no command: palisade run [flags] -- CMD [ARGS...]")
			}
			cfg := launch.Config{Argv: args, Env: os.Environ(), NoNewPrivs: nnp, AppArmor: aa}
			if dir, err := os.Getwd(); err == nil {
				cfg.Dir = dir
			}
			set, err := runCaps(capAdd, capDrop, privileged)
			if err != nil {
				return exitf(125, "%v", err)
			}
			cfg.Caps = uint64(set)
			if user != "" {
				uid, gid, err := parseRunUser(user)
				if err != nil {
					return exitf(125, "--user: %v", err)
				}
				cfg.SetUser, cfg.UID, cfg.GID = true, uid, gid
			}
			if userns {
				cfg.UserNS, cfg.HostIDBase, cfg.IDCount = true, userNSBase, 65536
			}
			if !cmd.Flags().Changed("seccomp") && privileged {
				seccompOpt = "unconfined" // as docker run --privileged
			}
			if baselineFile != "" {
				if cmd.Flags().Changed("seccomp") || cmd.Flags().Changed("cap-add") || privileged {
					return exitf(125, "--baseline sets the seccomp profile and capabilities; leave out --seccomp, --cap-add and --privileged")
				}
				if cfg.Filter, cfg.FilterFlags, cfg.Caps, err = baselineFilter(cmd, baselineFile); err != nil {
					return err
				}
			} else if cfg.Filter, cfg.FilterFlags, err = runFilter(cmd.Context(), seccompOpt, set); err != nil {
				return err
			}
			path, err := exec.LookPath(args[0])
			if err != nil {
				return exitf(127, "%s: command not found", escape.Text(args[0]))
			}
			cfg.Path = path
			self, err := os.Executable()
			if err != nil {
				return exitf(125, "find the palisade binary: %v", err)
			}
			child, err := launch.Start(self, cfg)
			if err != nil {
				if errors.Is(err, launch.ErrNoAppArmor) {
					return exitf(125, "%v; run without --apparmor, or on a host with AppArmor", err)
				}
				return exitf(125, "%v", err)
			}
			code, err := launch.Wait(child)
			if err != nil {
				return exitf(125, "%v", err)
			}
			// Pass the command's status through untouched: no message.
			os.Exit(code)
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags stop at CMD, so CMD's own flags pass through
	f.StringSliceVar(&capDrop, "cap-drop", nil, "capabilities to drop (names, or ALL)")
	f.StringSliceVar(&capAdd, "cap-add", nil, "capabilities to add (names, or ALL)")
	f.BoolVar(&privileged, "privileged", false, "every capability and no seccomp filter, as docker run --privileged")
	f.BoolVar(&nnp, "no-new-privileges", false, "set no_new_privs: setuid binaries and file capabilities grant nothing")
	f.StringVar(&seccompOpt, "seccomp", "default", "seccomp profile: default (Docker's), unconfined, or a profile file")
	f.StringVar(&user, "user", "", "run as USER[:GROUP] (names or numbers; the group defaults to the user's, else 0)")
	f.BoolVar(&userns, "userns", false, "new user namespace: root inside is uid/gid 100000 outside (65536 ids)")
	f.StringVar(&baselineFile, "baseline", "", "confine to a workload baseline (palisade baseline): its seccomp profile, made as baseline profile seccomp --runtime palisade-run makes it, and only its capabilities")
	f.StringVar(&aa, "apparmor", "", "AppArmor profile to switch to at exec (needs AppArmor in the kernel)")
	f.IntVar(&shimFD, launch.ShimFlag, 0, "internal: run as the launch shim reading its config from this fd")
	_ = f.MarkHidden(launch.ShimFlag)
	return cmd
}

// runCaps applies Docker's capability arithmetic to the flags.
func runCaps(add, drop []string, privileged bool) (caps.Set, error) {
	addSet, err := caps.ParseList(strings.Join(add, ","))
	if err != nil {
		return 0, fmt.Errorf("--cap-add: %w", err)
	}
	dropSet, err := caps.ParseList(strings.Join(drop, ","))
	if err != nil {
		return 0, fmt.Errorf("--cap-drop: %w", err)
	}
	return caps.Apply(caps.DockerDefault(), addSet, dropSet, privileged), nil
}

// runFilter compiles the --seccomp choice for this host and the container's
// capabilities (which decide Docker's includes/excludes).
func runFilter(ctx context.Context, opt string, set caps.Set) ([]bpf.RawInstruction, uint, error) {
	var p *seccomp.Profile
	var err error
	switch opt {
	case "unconfined":
		return nil, 0, nil
	case "default", "docker-default", "builtin:docker-default":
		p, err = seccomp.LoadBuiltin("docker-default")
		if err != nil {
			return nil, 0, exitf(125, "%v", err)
		}
	default:
		if p, err = readSeccompProfile(ctx, opt); err != nil {
			var ee *ExitError
			if errors.As(err, &ee) {
				ee.Code = 125
			}
			return nil, 0, err
		}
	}
	filter, flags, err := launch.CompileFilter(p, set)
	if errors.Is(err, launch.ErrNoNativeArch) {
		return nil, 0, exitf(125, "--seccomp: %v; use --seccomp unconfined", err)
	} else if err != nil {
		return nil, 0, exitf(125, "%v", err)
	}
	return filter, flags, nil
}

// parseRunUser resolves USER[:GROUP] against this host's /etc/passwd and
// /etc/group, as docker run --user does inside the image.
func parseRunUser(spec string) (int, int, error) {
	users, _ := passwd.ReadUsers("/etc/passwd")
	groups, _ := passwd.ReadGroups("/etc/group")
	uid, gid, err := passwd.UserSpec(spec, users, groups)
	return int(uid), int(gid), err
}

// baselineFilter compiles a baseline's seccomp profile (as `baseline
// profile seccomp --runtime palisade-run` writes it) with the baseline's
// capabilities, which replace Docker's defaults.
func baselineFilter(cmd *cobra.Command, file string) ([]bpf.RawInstruction, uint, uint64, error) {
	rec, _, err := baselineRecording(cmd, file, true)
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			ee.Code = 125
		}
		return nil, 0, 0, err
	}
	res, err := profile.Seccomp(rec, "palisade-run")
	if err != nil {
		return nil, 0, 0, exitf(125, "%s: %v", escape.Line(file), err)
	}
	chk, err := profile.SeccompJSON(res, seccomp.Env{})
	if err != nil {
		return nil, 0, 0, exitf(125, "%s: %v", escape.Line(file), err)
	}
	p, err := seccomp.Parse(escape.Text(file), chk.JSON)
	if err != nil {
		return nil, 0, 0, exitf(125, "%v", err)
	}
	set, err := caps.ParseList(strings.Join(profile.Caps(rec).CapAdd, ","))
	if err != nil {
		return nil, 0, 0, exitf(125, "%s: %v", escape.Line(file), err)
	}
	filter, flags, err := launch.CompileFilter(p, set)
	if err != nil {
		return nil, 0, 0, exitf(125, "%s: %v", escape.Line(file), err)
	}
	return filter, flags, uint64(set), nil
}
