package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/atomicfile"
	"github.com/palisade-sec/palisade/internal/detect"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/replay"
)

func newReplayCmd(s streams) *cobra.Command {
	var rf ruleFlags
	var format, out, export string
	var df outputs.Flags
	var bf baselineFlags
	cmd := &cobra.Command{
		Use:   "replay [-r FILE]... [--builtin] [-o text|json] [--webhook URL] [--store URL] RECORDING|-",
		Short: "Run rules over recorded events (what watch --record writes, or JSON lines)",
		Long: `The same detection as watch, over a recording: the same rules, the same alert
lines and Falco JSON, and the same outputs (--webhook, --store, --file, --nats,
--syslog, --program, --config). Unlike watch, replay writes to no store and
serves no metrics unless asked (--store, --metrics), and it never drops an
alert: it waits for slow outputs. On exit one summary line goes to stderr;
with -o json it is {"events":N,"alerts":N}. RECORDING is watch --record's binary
format or the JSON lines of docs/events.md (told apart by the first bytes);
--export-jsonl PATH writes it as self-contained JSON lines instead of running
the rules.`,
		Example: `  palisade replay events.jsonl
  palisade replay -r /etc/falco/falco_rules.yaml -o json events.jsonl
  palisade replay --webhook http://127.0.0.1:2801/ --store sqlite:alerts.db -o json session.jsonl
  palisade watch --record session.rec --duration 1m && palisade replay session.rec
  palisade replay --export-jsonl session.jsonl session.rec`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			cfg, err := df.ConfigContext(cmd.Context(), cmd.Flags())
			if err != nil {
				return inputError(err)
			}
			rf.appendFrom(cfg)
			rf.drift = bf.enabled()
			rs, _, err := rf.load()
			if err != nil {
				return err
			}
			// A replay is not the agent: its alerts go to the default
			// store, and it serves metrics, only when asked.
			if cfg.Store.URL == "" {
				cfg.Store.URL = "none"
			}
			if cfg.Metrics.Address == "" {
				cfg.Metrics.Address = "none"
			}
			if cmd.Flags().Changed("output") || cfg.Outputs.Terminal.Format == "" {
				cfg.Outputs.Terminal.Format = format
			}
			// Recordings stream (they can be far larger than any file a
			// command reads whole); each record is bounded by the reader.
			in := &countingReader{r: s.in}
			name := "stdin"
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return inputError(fmt.Errorf("read recording: %w", err))
				}
				defer f.Close()
				in.r, name = f, args[0]
			}
			// A recording with no events still has its header: an empty
			// input is no recording at all.
			empty := func() error {
				if in.n == 0 {
					return inputError(fmt.Errorf("read recording: %s is empty (watch --record writes a header even with no events)", name))
				}
				return nil
			}
			if export != "" {
				var n int
				err := withOutFile(s, export, func(w io.Writer) error {
					var err error
					if n, err = replay.ExportJSONL(w, replay.NewReader(in, name)); err != nil {
						return replayError(cmd, err)
					}
					return empty()
				})
				if err == nil {
					fmt.Fprintf(s.err, "palisade: replay: %d events exported\n", n)
				}
				return err
			}
			ctx := cmd.Context()
			set, err := bf.open(ctx, s.err)
			if err != nil {
				return err
			}
			var st detect.Stats
			err = withOutFile(s, out, func(w io.Writer) error {
				pipe, err := outputs.FromConfig(ctx, cfg, outputs.Env{Stdout: w, Stderr: s.err, Block: true})
				if err != nil {
					return exitf(3, "alert delivery: %v", err)
				}
				st, err = detect.Run(ctx, detect.NewRecorded(in, name), detect.Options{Rules: rs, Pipeline: pipe, Log: s.err, Baselines: detectBaselines(set)})
				// Every alert is delivered before replay says it is done.
				cerr := pipe.Close(time.Minute)
				if err != nil || ctx.Err() != nil {
					return replayError(cmd, err)
				}
				if cerr != nil {
					return exitf(3, "alert delivery: %v", cerr)
				}
				return empty()
			})
			if err != nil {
				return err
			}
			writeSummary(s.err, format, "replay", st, false)
			driftSummary(s.err, set)
			return nil
		},
	}
	rf.register(cmd)
	bf.register(cmd, false)
	addResultFlags(cmd, &format, &out, "text", "json")
	df.Register(cmd.Flags())
	cmd.Flags().StringVar(&export, "export-jsonl", "", "write the recording as self-contained JSON lines to `PATH` (- for stdout) instead of running the rules")
	return cmd
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// replayError is a bad recording (exit 2), or the signal that stopped the
// replay, which Run reports (130/143) — never a partial success.
func replayError(cmd *cobra.Command, err error) error {
	if ctx := cmd.Context(); ctx.Err() != nil {
		return ctx.Err()
	}
	return inputError(err)
}

// withOutFile streams fn's output to stdout, or to path through
// atomicfile: a failed or interrupted run never leaves a partial file.
func withOutFile(s streams, path string, fn func(w io.Writer) error) error {
	if path == "" || path == "-" {
		return fn(s.out)
	}
	err := atomicfile.WriteGated(s.gate, path, 0o644, fn)
	var ee *ExitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, atomicfile.ErrGateClosed) {
		return exitf(3, "%v", err) // the file system, not the input
	}
	return err
}
