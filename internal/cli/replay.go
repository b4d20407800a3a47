package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/replay"
	"github.com/palisade-sec/palisade/internal/rules"
)

func newReplayCmd(s streams) *cobra.Command {
	var rf ruleFlags
	var format, out string
	cmd := &cobra.Command{
		Use:   "replay [-r FILE]... [--builtin] [-o text|json] EVENTS.jsonl|-",
		Short: "Run rules over recorded events (the JSONL format watch --record writes)",
		Example: `  palisade replay events.jsonl
  palisade replay -r ../shared/falco-rules/falco_rules.yaml -o json events.jsonl
  palisade watch --record session.jsonl --duration 1m && palisade replay session.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			rs, _, err := rf.load()
			if err != nil {
				return err
			}
			var in io.Reader = s.in
			name := "stdin"
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return exitf(1, "open events: %v", err)
				}
				defer f.Close()
				in, name = f, args[0]
			}
			var stats replayStats
			err = writeResult(s.out, out, func(w io.Writer) error {
				var err error
				stats, err = replayEvents(rs, replay.NewReader(in, name), w, format)
				return err
			})
			if err != nil {
				return err
			}
			if format == "json" {
				b, _ := json.Marshal(stats)
				fmt.Fprintln(s.err, string(b))
			} else {
				fmt.Fprintf(s.err, "replay: %d events, %d alerts\n", stats.Events, stats.Alerts)
			}
			return nil
		},
	}
	rf.register(cmd)
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}

type replayStats struct {
	Events int `json:"events"`
	Alerts int `json:"alerts"`
}

// replayEvents evaluates every event and writes alerts as they match.
func replayEvents(rs *rules.Ruleset, r *replay.Reader, w io.Writer, format string) (replayStats, error) {
	var st replayStats
	bw := bufio.NewWriter(w)
	matches := make([]rules.Match, 0, 8)
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			bw.Flush()
			return st, exitf(1, "%v", err)
		}
		st.Events++
		matches = rs.Eval(e, matches[:0])
		for _, m := range matches {
			st.Alerts++
			a := rs.Alert(m, e)
			if err := writeAlert(bw, a, format); err != nil {
				return st, err
			}
		}
	}
	return st, bw.Flush()
}

// writeAlert prints one alert: Falco's JSON, or its output line with
// control characters escaped.
func writeAlert(w io.Writer, a alert.Alert, format string) error {
	if format == "json" {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(w, "%s\n", sanitize(a.Output))
	return err
}
