package cli

import (
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/palisade-sec/palisade/internal/record"
)

func newRecordCmd(s streams) *cobra.Command {
	var (
		out, containerArg string
		duration          time.Duration
		merge             bool
	)
	cmd := &cobra.Command{
		Use:   "record [--out REC.json] [--duration D] -- CMD [ARGS...] | --container NAME|ID | --merge A B...",
		Short: "Observe a workload (a command or a container) and write a recording",
		Long: "Record what a workload does: its syscalls per architecture (32-bit x86\n" +
			"compat calls apart), files read, written, created and executed, sockets,\n" +
			"bound and listened ports, connect destinations, uid/gid changes. The\n" +
			"recording feeds `palisade profile`.\n\n" +
			"With a command, capture starts before it is launched and follows its\n" +
			"whole process tree until the tree exits, --duration passes or Ctrl-C.\n" +
			"With --container, every process in the container's cgroup is recorded\n" +
			"until it stops, --duration passes or Ctrl-C. --merge unions recordings.\n\n" +
			"Capability checks come from the capability:cap_capable tracepoint (Linux\n" +
			"6.15+); on older kernels the recording lists only the capabilities its\n" +
			"syscalls prove and says so.\n" +
			"Needs root and eBPF. The recording goes to --out (default recording.json;\n" +
			"with --merge, stdout). It has one format, JSON, so there is no -o; the\n" +
			"summary goes to stderr. See docs/record.md.",
		Example: "  palisade record --out web.json -- python3 -m http.server 8080\n" +
			"  palisade record --container web --duration 60s --out web.json\n" +
			"  palisade record --merge run1.json run2.json --out all.json",
		RunE: func(cmd *cobra.Command, args []string) error {
			if merge {
				if containerArg != "" || duration != 0 {
					return exitf(2, "--merge takes recordings only (no --container or --duration)")
				}
				// Flags stop at the first argument (for CMD's sake), so
				// --out may follow the recordings here.
				var files []string
				for i := 0; i < len(args); i++ {
					switch a := args[i]; {
					case a == "--out" || a == "-out":
						if i+1 >= len(args) {
							return exitf(2, "--out needs a file name")
						}
						out = args[i+1]
						i++
					case strings.HasPrefix(a, "--out="):
						out = strings.TrimPrefix(a, "--out=")
					default:
						files = append(files, a)
					}
				}
				args = files
				if len(args) == 0 {
					return exitf(2, "--merge needs at least one recording: palisade record --merge A.json B.json [--out C.json]")
				}
				var recs []*record.Recording
				for _, a := range args {
					data, err := readInput(cmd, a, input.Recording)
					if err != nil {
						return err
					}
					r, err := record.Parse(a, data)
					if err != nil {
						return exitf(2, "%v", err)
					}
					recs = append(recs, r)
				}
				m := record.Merge(recs...)
				return writeResult(s, out, func(w io.Writer) error {
					b, err := m.Marshal()
					if err != nil {
						return err
					}
					_, err = w.Write(b)
					return err
				})
			}
			if (containerArg == "") == (len(args) == 0) {
				return exitf(2, "record a command or a container: palisade record [flags] -- CMD [ARGS...], or palisade record --container NAME|ID")
			}
			if duration < 0 {
				return exitf(2, "--duration %v: must not be negative", duration)
			}
			if out == "" {
				out = "recording.json"
			}
			opts := record.Options{Command: args, Stdin: s.in, Stdout: s.out, Stderr: s.err, Duration: duration}
			if containerArg != "" {
				id, name, err := container.Resolve(cmd.Context(), containerArg)
				if err != nil {
					return exitf(1, "%v", err)
				}
				opts.ContainerID, opts.ContainerName = id, name
			}
			if f, ok := s.err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				opts.Progress = s.err
			}
			res, err := record.Live(cmd.Context(), opts)
			if err != nil {
				return exitf(1, "record: %v", err)
			}
			rec := res.Recording
			data, err := rec.Marshal()
			if err != nil {
				return exitf(1, "%v", err)
			}
			if err := writeResult(s, out, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
				return exitf(1, "%v", err)
			}
			rec.WriteSummary(s.err, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags stop at CMD, so CMD's own flags pass through
	f.StringVar(&out, "out", "", "write the recording to this file (atomically); default recording.json, with --merge stdout")
	f.DurationVar(&duration, "duration", 0, "stop recording after this long (e.g. 30s, 5m)")
	f.StringVar(&containerArg, "container", "", "record a running container (name or id) by its cgroup")
	f.BoolVar(&merge, "merge", false, "union the recordings given as arguments")
	return cmd
}
