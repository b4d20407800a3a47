package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/spf13/cobra"
)

// followInterval is how often --follow polls the store for new alerts.
const followInterval = time.Second

func newAlertsCmd(s streams) *cobra.Command {
	var (
		storeURL, since, until, priority, container, image, format, out string
		rules                                                           []string
		follow                                                          bool
		limit                                                           int
	)
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Query alert history",
		Long: "Query the alerts palisade watch stored (SQLite by default, or PostgreSQL).\n" +
			"Filters combine with AND; --rule may repeat (any of them matches).\n" +
			"--priority P keeps alerts at least as severe as P, as Falco's priority\n" +
			"setting does. --since/--until take a duration back from now (90m, 2h,\n" +
			"7d) or an RFC 3339 time. With -o json the result is {\"alerts\":[...]} in\n" +
			"Falco's JSON shape; with --follow, new alerts are printed as they arrive\n" +
			"(one JSON object per line with -o json) until interrupted.",
		Example: "  palisade alerts --since 1h\n" +
			"  palisade alerts --priority warning --container web -o json\n" +
			"  palisade alerts --store postgres://palisade@db/palisade --rule 'Terminal shell in container' --follow",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "text" {
				format = "table"
			}
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			now := time.Now()
			f := store.Filter{Rules: rules, Container: container, Image: image, Limit: limit}
			var err error
			if f.Since, err = parseWhen(since, now); err != nil {
				return exitf(2, "--since: %v", err)
			}
			if f.Until, err = parseWhen(until, now); err != nil {
				return exitf(2, "--until: %v", err)
			}
			if priority != "" {
				p, ok := alert.ParsePriority(priority)
				if !ok {
					return exitf(2, "--priority: %v", &alert.UnknownPriorityError{Value: priority})
				}
				f.MinPriority = &p
			}
			if limit < 0 {
				return exitf(2, "--limit must not be negative")
			}
			if follow && out != "" && out != "-" {
				return exitf(2, "--follow writes to stdout; it cannot be combined with --out")
			}
			st, err := openStoreForQuery(cmd.Context(), storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			recs, err := st.Query(cmd.Context(), f)
			if err != nil {
				return exitf(1, "%v", err)
			}
			if !follow {
				return writeResult(s.out, out, func(w io.Writer) error { return renderAlerts(w, format, recs) })
			}
			return followAlerts(cmd.Context(), s.out, format, st, f, recs)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&storeURL, "store", store.DefaultURL, "alert store: sqlite:PATH or postgres://...")
	fl.StringVar(&since, "since", "", "only alerts at or after this time (duration ago like 2h, 7d, or RFC 3339)")
	fl.StringVar(&until, "until", "", "only alerts at or before this time (duration ago or RFC 3339)")
	fl.StringVar(&priority, "priority", "", "only alerts at least this severe (emergency ... debug)")
	fl.StringArrayVar(&rules, "rule", nil, "only alerts of this rule `NAME` (repeatable)")
	fl.StringVar(&container, "container", "", "only alerts from the container with this `NAME` (output_fields container.name)")
	fl.StringVar(&image, "image", "", "only alerts from this image `REPO` (output_fields container.image.repository)")
	fl.IntVar(&limit, "limit", 0, "show only the newest N matches (0 = all)")
	fl.BoolVarP(&follow, "follow", "f", false, "keep printing new alerts as they are stored")
	fl.StringVarP(&format, "output", "o", "table", "output format: table or json")
	fl.StringVar(&out, "out", "", "write the result to `PATH` instead of stdout")
	return cmd
}

// parseWhen reads a --since/--until value: "" (no bound), a duration back
// from now (Go syntax plus a "d" day unit), or an RFC 3339 time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n float64
		if _, err := fmt.Sscanf(days, "%g", &n); err == nil && n >= 0 && fmt.Sprint(n) == days {
			return now.Add(-time.Duration(n * 24 * float64(time.Hour))), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither a duration (90m, 2h, 7d) nor an RFC 3339 time", s)
	}
	return now.Add(-d), nil
}

// openStoreForQuery opens an existing store; a query never creates one.
func openStoreForQuery(ctx context.Context, url string) (store.Store, error) {
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		path = strings.TrimPrefix(path, "//")
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, exitf(1, "no alert store at %s (has palisade watch run with --store %s?)", path, url)
			}
			return nil, exitf(1, "open store %s: %v", path, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, url)
	if err != nil {
		return nil, exitf(1, "%v", err)
	}
	return st, nil
}

func renderAlerts(w io.Writer, format string, recs []store.Record) error {
	if format == "json" {
		doc := struct {
			Alerts []alert.Alert `json:"alerts"`
		}{Alerts: make([]alert.Alert, 0, len(recs))}
		for _, r := range recs {
			doc.Alerts = append(doc.Alerts, outputs.FalcoShape(r.Alert))
		}
		return writeJSON(w, doc)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tPRIORITY\tRULE\tCONTAINER\tOUTPUT")
	for _, r := range recs {
		writeAlertRow(tw, r.Alert)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(recs) == 0 {
		_, err := fmt.Fprintln(w, "no alerts match")
		return err
	}
	return nil
}

// tableCell escapes attacker-controlled text (tabs too, which would break
// the columns) and bounds its width.
func tableCell(s string, max int) string {
	s = escape.Text(s)
	if len(s) > max {
		cut := max - 3
		for cut > 0 && s[cut]&0xc0 == 0x80 {
			cut--
		}
		s = s[:cut] + "..."
	}
	if s == "" {
		return "-"
	}
	return s
}

func writeAlertRow(w io.Writer, a alert.Alert) {
	c, _ := a.OutputFields["container.name"].(string)
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", a.Time.UTC().Format(time.RFC3339), a.Priority,
		tableCell(a.Rule, 60), tableCell(c, 40), tableCell(a.Output, 200))
}

// followAlerts prints what matched so far, then polls for newer alerts
// until the context ends (Ctrl-C). Table rows are unaligned so they can be
// printed one at a time; JSON is one Falco object per line.
func followAlerts(ctx context.Context, w io.Writer, format string, st store.Store, f store.Filter, first []store.Record) error {
	if format == "table" {
		fmt.Fprintln(w, "TIME\tPRIORITY\tRULE\tCONTAINER\tOUTPUT")
	}
	var last int64
	emit := func(recs []store.Record) error {
		for _, r := range recs {
			last = max(last, r.ID)
			if format == "json" {
				b, err := json.Marshal(outputs.FalcoShape(r.Alert))
				if err != nil {
					return err
				}
				if _, err := w.Write(append(b, '\n')); err != nil {
					return err
				}
				continue
			}
			writeAlertRow(w, r.Alert)
		}
		return nil
	}
	if err := emit(first); err != nil {
		return err
	}
	if last == 0 {
		// Nothing matched yet: start after the newest alert of any kind.
		if newest, err := st.Query(ctx, store.Filter{Limit: 1}); err == nil && len(newest) == 1 {
			last = newest[0].ID
		}
	}
	f.Limit = 0
	t := time.NewTicker(followInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		f.AfterID = last
		recs, err := st.Query(ctx, f)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return exitf(1, "%v", err)
		}
		if err := emit(recs); err != nil {
			return err
		}
	}
}
