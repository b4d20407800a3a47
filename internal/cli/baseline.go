package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/baseline"
	"github.com/palisade-sec/palisade/internal/detect"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/palisade-sec/palisade/internal/record"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// baselineFlags are watch's and replay's --baselines (and watch's
// --learn, --learn-for).
type baselineFlags struct {
	dir, learn string
	learnFor   time.Duration
}

func (f *baselineFlags) register(cmd *cobra.Command, live bool) {
	cmd.Flags().StringVar(&f.dir, "baselines", "", "bind the workload baselines in this directory (palisade baseline) to containers and load the drift rules (docs/drift.md)")
	if live {
		cmd.Flags().StringVar(&f.learn, "learn", "", "learn a baseline into this directory for every workload (image) that has none, then detect drift against it; loads the baselines already there")
		cmd.Flags().DurationVar(&f.learnFor, "learn-for", 10*time.Minute, "how long --learn watches a workload (from its first event) before its baseline is written")
	}
}

// enabled says whether drift detection is asked for (the drift rules load).
func (f *baselineFlags) enabled() bool { return f.dir != "" || f.learn != "" }

// open loads the baselines and sets up learning; nil when not asked.
func (f *baselineFlags) open(ctx context.Context, log io.Writer) (*baseline.Set, error) {
	if !f.enabled() {
		return nil, nil
	}
	var idx []*baseline.Index
	for i, dir := range []string{f.dir, f.learn} {
		if dir == "" || (i == 1 && f.dir != "" && filepath.Clean(dir) == filepath.Clean(f.dir)) {
			continue
		}
		s, err := baseline.LoadDir(ctx, dir)
		if err != nil {
			return nil, inputError(err)
		}
		idx = append(idx, s.Indexes()...)
	}
	set := baseline.NewSet(idx...)
	if f.learn != "" {
		if err := set.Learn(f.learn, f.learnFor, log); err != nil {
			return nil, exitf(2, "%v", err)
		}
	}
	msg := fmt.Sprintf("palisade: baselines: %d bound", set.Len())
	if f.learn != "" {
		msg += fmt.Sprintf("; learning workloads without one for %s into %s", f.learnFor, escape.Text(f.learn))
	}
	fmt.Fprintln(log, msg)
	return set, nil
}

// detectBaselines is set as detect.Options.Baselines (a nil *Set must not
// become a non-nil interface).
func detectBaselines(s *baseline.Set) detect.Baselines {
	if s == nil {
		return nil
	}
	return s
}

// driftSummary is the exit line about drift alerts counted, not sent.
func driftSummary(w io.Writer, s *baseline.Set) {
	if s != nil && s.Repeats() > 0 {
		fmt.Fprintf(w, "palisade: drift: %d repeated drift alerts counted, not sent (one alert per item and container)\n", s.Repeats())
	}
}

func newBaselineCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "Workload baselines: make them from recordings, show, merge, turn into profiles",
		Long: `A baseline is what one workload (an image, optionally one container name or
Kubernetes workload) was seen doing: executables, programs, syscalls per
arch, written paths as globs, outbound destinations, listening ports,
capabilities, each with counts and first/last seen. One JSON file per
workload, reviewable in a pull request ("reviewed": true marks one a person
accepted). watch --baselines DIR alerts on drift from them; docs/drift.md.`,
	}
	cmd.AddCommand(newBaselineFromRecordingCmd(s), newBaselineShowCmd(s), newBaselineMergeCmd(s), newBaselineProfileCmd(s))
	return cmd
}

func newBaselineFromRecordingCmd(s streams) *cobra.Command {
	var image, container, k8s, out, format string
	cmd := &cobra.Command{
		Use:   "from-recording RECORDING... --image REPO[:TAG][@DIGEST] [--container NAME] [--k8s NS/WORKLOAD]",
		Short: "Make a workload's baseline from recordings (palisade record), replicas merged",
		Example: `  palisade baseline from-recording web.json --image registry.example/web:1.4 --out baselines/web.json
  palisade baseline from-recording web-a.json web-b.json --image registry.example/web:1.4 --out baselines/web-replicas.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := workloadFlags(image, container, k8s)
			if err != nil {
				return err
			}
			var bs []*baseline.Baseline
			for _, file := range args {
				data, err := readInput(cmd, file, input.Recording)
				if err != nil {
					return err
				}
				rec, err := record.Parse(file, data)
				if err != nil {
					return exitf(2, "%s", escape.Line(err.Error()))
				}
				if rec.Lost > 0 {
					fmt.Fprintf(s.err, "palisade: warning: %s lost %d kernel records; the baseline may miss items\n", escape.Text(file), rec.Lost)
				}
				b, err := baseline.FromRecording(rec, w)
				if err != nil {
					return exitf(2, "%s", escape.Line(err.Error()))
				}
				bs = append(bs, b)
			}
			b, err := baseline.Merge(bs...)
			if err != nil {
				return exitf(2, "%s", escape.Line(err.Error()))
			}
			return writeBaseline(s, out, b)
		},
	}
	cmd.Flags().StringVar(&image, "image", "", "the workload's image: REPOSITORY[:TAG][@sha256:DIGEST] (required)")
	cmd.Flags().StringVar(&container, "container", "", "bind the baseline to this container name only")
	cmd.Flags().StringVar(&k8s, "k8s", "", "bind the baseline to this Kubernetes workload only: NAMESPACE/NAME (pods named NAME-...)")
	addResultFlags(cmd, &format, &out, "json")
	return cmd
}

func workloadFlags(image, container, k8s string) (baseline.Workload, error) {
	if image == "" {
		return baseline.Workload{}, exitf(2, "--image is required: the image the recording ran")
	}
	w, err := baseline.ParseImage(image)
	if err != nil {
		return w, exitf(2, "--image: %s", escape.Line(err.Error()))
	}
	w.Container = container
	if k8s != "" {
		ns, name, ok := strings.Cut(k8s, "/")
		if !ok || ns == "" || name == "" {
			return w, exitf(2, "--k8s %s: want NAMESPACE/NAME", escape.Text(k8s))
		}
		w.K8sNamespace, w.K8sWorkload = ns, name
	}
	return w, nil
}

func writeBaseline(s streams, out string, b *baseline.Baseline) error {
	data, err := b.Marshal()
	if err != nil {
		return exitf(1, "%v", err)
	}
	return writeResult(s, out, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// loadBaselineArg reads one baseline file argument strictly.
func loadBaselineArg(cmd *cobra.Command, file string) (*baseline.Baseline, error) {
	data, err := readInput(cmd, file, input.Baseline)
	if err != nil {
		return nil, err
	}
	b, err := baseline.Parse(file, data, syscalls.CaptureArch().Name)
	if err != nil {
		return nil, exitf(2, "%s", escape.Line(err.Error()))
	}
	return b, nil
}

func newBaselineShowCmd(s streams) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Check a baseline file and summarise it (-o json: the baseline itself)",
		Example: `  palisade baseline show baselines/web.json
  palisade baseline show baselines/web.json -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			b, err := loadBaselineArg(cmd, args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return writeBaseline(s, out, b)
			}
			return writeResult(s, out, func(w io.Writer) error { return writeBaselineText(w, b) })
		},
	}
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}

// writeBaselineText is baseline show's summary.
func writeBaselineText(w io.Writer, b *baseline.Baseline) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "workload\t%s\n", escape.Text(b.Workload.String()))
	fmt.Fprintf(tw, "arch\t%s\n", b.Arch)
	fmt.Fprintf(tw, "reviewed\t%v\n", b.Reviewed)
	fmt.Fprintf(tw, "seen\t%s to %s (%d sources)\n", b.FirstSeen, b.LastSeen, len(b.Sources))
	complete := "complete (seccomp profile possible)"
	if !b.SyscallsComplete {
		complete = "only the calls watch captured (learned): drift detection only"
	}
	list := func(l []baseline.Item) string {
		var names []string
		for _, it := range l {
			names = append(names, escape.Text(it.Name))
		}
		return fmt.Sprintf("%d: %s", len(l), strings.Join(names, " "))
	}
	fmt.Fprintf(tw, "executables\t%s\n", list(b.Executables))
	fmt.Fprintf(tw, "programs\t%s\n", list(b.Programs))
	for _, a := range sortedArches(b) {
		fmt.Fprintf(tw, "syscalls %s\t%d, %s\n", a, len(b.Syscalls[a]), complete)
	}
	fmt.Fprintf(tw, "writes\t%s\n", list(b.Writes))
	fmt.Fprintf(tw, "destinations\t%s\n", list(b.Destinations))
	fmt.Fprintf(tw, "listen\t%s\n", list(b.Listen))
	fmt.Fprintf(tw, "capabilities\t%s\n", list(b.Capabilities))
	return tw.Flush()
}

func sortedArches(b *baseline.Baseline) []string {
	var out []string
	for a := range b.Syscalls {
		out = append(out, a)
	}
	if len(out) == 2 && out[0] != b.Arch {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

func newBaselineMergeCmd(s streams) *cobra.Command {
	var out, format string
	cmd := &cobra.Command{
		Use:     "merge FILE... [--out FILE]",
		Short:   "Union baselines of one workload (replicas, several recordings); the result is not reviewed",
		Example: `  palisade baseline merge baselines/web.json baselines/web-replicas.json --out baselines/web.json`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var bs []*baseline.Baseline
			for _, f := range args {
				b, err := loadBaselineArg(cmd, f)
				if err != nil {
					return err
				}
				bs = append(bs, b)
			}
			b, err := baseline.Merge(bs...)
			if err != nil {
				return exitf(2, "%s", escape.Line(err.Error()))
			}
			return writeBaseline(s, out, b)
		},
	}
	addResultFlags(cmd, &format, &out, "json")
	return cmd
}

// baselineRecording turns a baseline into the recording the profile
// generators take, refusing a learned one for seccomp (its syscall set
// holds only what watch captured).
func baselineRecording(cmd *cobra.Command, file string, needSyscalls bool) (*record.Recording, *baseline.Baseline, error) {
	b, err := loadBaselineArg(cmd, file)
	if err != nil {
		return nil, nil, err
	}
	if needSyscalls && !b.SyscallsComplete {
		return nil, nil, exitf(2, "%s: a learned baseline holds only the syscalls watch captured, not every call the workload makes; make the baseline from a recording (palisade record, then baseline from-recording) to enforce it", escape.Line(file))
	}
	return b.Recording(), b, nil
}

func newBaselineProfileCmd(s streams) *cobra.Command {
	cmd := newProfileCmdFor(s, true)
	return cmd
}
