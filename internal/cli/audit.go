package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/engine"
	"github.com/palisade-sec/palisade/internal/audit/harden"
	"github.com/palisade-sec/palisade/internal/audit/scan"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// progressThreshold is the number of inputs from which a terminal gets a
// progress bar; shorter runs finish before one would be useful.
const progressThreshold = 50

func newAuditCmd(s streams) *cobra.Command {
	var (
		format, out, failOn string
		runtime             string
		criSockets          []string
		ignore              []string
		docker, listChecks  bool
		fix                 bool
	)
	cmd := &cobra.Command{
		Use:   "audit [PATH...|-] [--docker] [--runtime auto|docker|podman|containerd|cri]",
		Short: "Audit breakout vectors and hardening",
		Long: "Audit container descriptions for breakout vectors: docker inspect JSON,\n" +
			"compose files, Kubernetes manifests and OCI config.json files (directories\n" +
			"are walked; - reads standard input), and with --docker every container of\n" +
			"the live daemon plus the daemon's own settings; with --runtime the live\n" +
			"containers of every engine of that runtime (auto: every engine found:\n" +
			"Docker, rootless Docker, podman, containerd, and Kubernetes pods through the\n" +
			"CRI, judged as pods with securityContext fixes). Each finding names the\n" +
			"check, the container and the fix in the source's own terms. See\n" +
			"docs/audit.md for the checks.\n\n" +
			"Exit status: 0 when the audit ran (findings or not), 1 when --fail-on found\n" +
			"a finding at or above its severity, 2 when an input could not be audited\n" +
			"(the other inputs are still audited and reported).\n\n" +
			"Silence a finding in a YAML file with a comment on its line, the line\n" +
			"above, or the service/container line: # palisade:ignore SLUG[,SLUG]",
		Example: "  palisade audit deploy/\n" +
			"  palisade audit compose.yaml -o json\n" +
			"  docker inspect $(docker ps -q) | palisade audit -\n" +
			"  kubectl get deploy,ds,sts -A -o yaml | palisade audit - --fail-on critical\n" +
			"  palisade audit k8s/ -o sarif --out audit.sarif --fail-on high\n" +
			"  palisade audit --docker --ignore no-memory-limit,no-pids-limit\n" +
			"  sudo palisade audit --runtime auto -o json",
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "text" {
				format = "table"
			}
			if err := checkFormat(format, "table", "json", "sarif"); err != nil {
				return err
			}
			if listChecks {
				return writeResult(s, out, func(w io.Writer) error { return writeChecks(w, format) })
			}
			var min audit.Severity
			if failOn != "" {
				sev, err := audit.ParseSeverity(failOn)
				if err != nil {
					return exitf(2, "--fail-on: %v", err)
				}
				min = sev
			}
			ign := map[string]bool{}
			for _, v := range ignore {
				for _, slug := range strings.Split(v, ",") {
					slug = strings.TrimSpace(slug)
					if slug == "" {
						continue
					}
					if _, ok := audit.LookupCheck(slug); !ok {
						return exitf(2, "--ignore: unknown check %q (palisade audit --list-checks shows them)", slug)
					}
					ign[slug] = true
				}
			}
			if fix {
				return runFix(cmd, s, args, out, docker)
			}
			if runtime != "" && !slices.Contains(engine.Runtimes, runtime) {
				return exitf(2, "--runtime %s: want one of %s", escape.Text(runtime), strings.Join(engine.Runtimes, ", "))
			}
			if len(args) == 0 && !docker && runtime == "" {
				return exitf(2, "nothing to audit: give files or directories, --docker or --runtime")
			}

			var findings []audit.Finding
			var errs []error
			var notes []audit.Note
			audited := true
			if len(args) > 0 {
				opt := scan.Options{Stdin: s.in}
				if f, ok := s.err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					opt.Progress = progressReporter(f)
				}
				res := scan.Scan(cmd.Context(), args, opt)
				findings = append(findings, res.Findings...)
				errs = append(errs, res.Errors...)
				notes = res.Notes
				if res.Files == 0 && len(errs) == 0 && cmd.Context().Err() == nil {
					// "no findings" over nothing read would be a false all-clear.
					return exitf(2, "nothing to audit in %s: no docker inspect dump, compose file, Kubernetes manifest or OCI config.json (.json, .yaml, .yml) found", escape.Text(strings.Join(args, ", ")))
				}
				// Every input failed: print the errors, not "no findings".
				audited = res.Containers > 0 || len(errs) == 0 || docker || runtime != ""
			}
			if runtime != "" {
				eng := engine.CollectRuntime(cmd.Context(), runtime, criSockets)
				for _, d := range eng.Daemons {
					findings = append(findings, audit.AuditDaemon(d)...)
				}
				for _, c := range eng.Containers {
					findings = append(findings, audit.Audit(c)...)
				}
				errs = append(errs, eng.Errors...)
				audited = audited || len(eng.Asked) > 0
			}
			if docker {
				snap, err := engine.Collect(cmd.Context())
				if err != nil {
					errs = append(errs, err)
				} else {
					findings = append(findings, audit.AuditDaemon(snap.Daemon)...)
					for _, c := range snap.Containers {
						findings = append(findings, audit.Audit(c)...)
					}
				}
			}
			if err := cmd.Context().Err(); err != nil {
				return err // interrupted: no partial report
			}
			rep := &audit.Report{Findings: audit.Normalize(audit.Filter(findings, ign, 0))}
			colour := false
			if out == "" || out == "-" {
				if f, ok := s.out.(*os.File); ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "" {
					colour = true
				}
			}
			if audited {
				if err := writeResult(s, out, func(w io.Writer) error {
					switch format {
					case "json":
						return rep.WriteJSON(w)
					case "sarif":
						return rep.WriteSARIF(w, Version)
					}
					return rep.WriteTable(w, colour)
				}); err != nil {
					return exitf(1, "%v", err)
				}
			}
			// Skipped documents are said out loud but are not errors.
			var lines []string
			for _, n := range notes {
				lines = append(lines, escape.Text(n.String()))
			}
			printCapped(s.err, "palisade: note: ", "notes", lines)
			if len(errs) > 0 {
				var lines []string
				for _, e := range errs[:len(errs)-1] {
					lines = append(lines, escape.Text(e.Error()))
				}
				printCapped(s.err, "palisade: ", "errors", lines)
				last := escape.Text(errs[len(errs)-1].Error())
				if n := failedInputs(errs); n > 1 {
					last += fmt.Sprintf(" (%d inputs could not be audited)", n)
				} else if len(errs) > 1 {
					last += fmt.Sprintf(" (%d errors)", len(errs))
				}
				return exitf(2, "%s", last)
			}
			if min > 0 {
				n := 0
				for _, f := range rep.Findings {
					if f.Severity >= min {
						n++
					}
				}
				if n > 0 {
					noun := "findings"
					if n == 1 {
						noun = "finding"
					}
					return exitf(1, "%d %s at or above %s (--fail-on %s)", n, noun, min, failOn)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&format, "output", "o", "table", "output format: table, json or sarif")
	f.StringVar(&out, "out", "", "write results to this file instead of stdout")
	f.StringVar(&failOn, "fail-on", "", "exit 1 when a finding at or above this severity exists (low, medium, high, critical)")
	f.StringSliceVar(&ignore, "ignore", nil, "skip these checks (slugs, repeatable or comma-separated)")
	f.BoolVar(&docker, "docker", false, "audit the live Docker daemon (DOCKER_HOST or the default socket) and all its containers")
	f.StringVar(&runtime, "runtime", "", "audit the live containers of every engine of this runtime: auto (every engine found), docker, podman, containerd or cri")
	f.StringSliceVar(&criSockets, "cri-socket", nil, "a Kubernetes CRI endpoint to audit besides those found (with --runtime auto or cri)")
	f.BoolVar(&listChecks, "list-checks", false, "list the checks with their severity and the breakout each one enables")
	f.BoolVar(&fix, "fix", false, "print the given compose file or manifest with the fixes applied (comments kept)")
	return cmd
}

// failedInputs counts the distinct inputs among errs: a multi-document file
// reports each broken document on its own line but is one input.
func failedInputs(errs []error) int {
	files := map[string]bool{}
	n := 0
	for _, e := range errs {
		var ie *srcpos.Error
		if errors.As(e, &ie) {
			if files[ie.Pos.File] {
				continue
			}
			files[ie.Pos.File] = true
		}
		n++
	}
	return n
}

// runFix prints one compose file or manifest with the mechanical fixes applied.
func runFix(cmd *cobra.Command, s streams, args []string, out string, docker bool) error {
	if docker || len(args) != 1 {
		return exitf(2, "--fix takes exactly one compose file or manifest")
	}
	data, err := readInput(cmd, args[0], input.Manifest)
	if err != nil {
		return err
	}
	var fixed []byte
	switch scan.Detect(args[0], data) {
	case scan.KindCompose:
		fixed, err = harden.Compose(args[0], data)
	case scan.KindKube:
		fixed, err = harden.Manifest(args[0], data)
	default:
		return exitf(2, "%s: %v", args[0], harden.ErrNotYAML)
	}
	if err != nil {
		return exitf(2, "%s", escape.Text(err.Error()))
	}
	return writeResult(s, out, func(w io.Writer) error {
		_, err := w.Write(fixed)
		return err
	})
}

// progressReporter draws a progress bar on the terminal f for long runs.
func progressReporter(f *os.File) func(done, total int) {
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		if total < progressThreshold {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(f),
				progressbar.OptionSetDescription("auditing"),
				progressbar.OptionShowCount(),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionThrottle(100*time.Millisecond),
			)
		}
		_ = bar.Set(done)
		if done == total {
			_ = bar.Finish()
		}
	}
}

func writeChecks(w io.Writer, format string) error {
	type row struct {
		Check    string         `json:"check"`
		Severity audit.Severity `json:"severity"`
		Title    string         `json:"title"`
		Breakout string         `json:"breakout"`
		Sources  []string       `json:"sources"`
	}
	var rows []row
	for _, k := range audit.Checks() {
		var srcs []string
		for s := range k.Fixes {
			srcs = append(srcs, string(s))
		}
		sort.Strings(srcs)
		rows = append(rows, row{k.Slug, k.Severity, k.Title, k.Breakout, srcs})
	}
	switch format {
	case "json":
		return writeJSON(w, rows)
	case "sarif":
		return errors.New("--list-checks has no sarif form; use -o table or -o json")
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(w, "%-32s %-8s %s\n%-41s%s\n", r.Check, r.Severity, r.Title, "", r.Breakout); err != nil {
			return err
		}
	}
	return nil
}
