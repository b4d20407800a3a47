package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/dashboard"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/spf13/cobra"
)

// followInterval is how often --follow polls the store for new alerts.
const followInterval = time.Second

func newAlertsCmd(s streams) *cobra.Command {
	var (
		storeURL, since, until, priority, container, image, host, format, out, response string
		rules                                                                           []string
		follow                                                                          bool
		limit                                                                           int
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
			"  palisade alerts --store postgres://palisade@db/palisade --host node-17 --since 1h\n" +
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
			switch response {
			case "", "any", "kill", "stop", "pause", "isolate", "log":
			default:
				return exitf(2, "--response %q: want kill, stop, pause, isolate, log or any", response)
			}
			f := store.Filter{Rules: rules, Container: container, Image: image, Host: host, Response: response, Limit: limit}
			var err error
			if f.Since, err = store.ParseWhen(since, now); err != nil {
				return exitf(2, "--since: %v", err)
			}
			if f.Until, err = store.ParseWhen(until, now); err != nil {
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
			st, err := openStore(cmd.Context(), storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			recs, err := st.Query(cmd.Context(), f)
			if err != nil {
				return exitf(1, "%v", err)
			}
			if !follow {
				return writeResult(s, out, func(w io.Writer) error { return renderAlerts(w, format, recs) })
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
	fl.StringVar(&host, "host", "", "only alerts from the agent with this `HOSTNAME` (watch --hostname; for a fleet store palisade collect fills)")
	fl.StringVar(&response, "response", "", "only alerts a response acted on with this `ACTION` (kill, stop, pause, isolate, log) or any (docs/respond.md)")
	fl.IntVar(&limit, "limit", 0, "show only the newest N matches (0 = all)")
	fl.BoolVarP(&follow, "follow", "f", false, "keep printing new alerts as they are stored")
	fl.StringVarP(&format, "output", "o", "table", "output format: table or json")
	fl.StringVar(&out, "out", "", "write the result to `PATH` instead of stdout")
	return cmd
}

// openStore opens an existing store; a query never creates one.
func openStore(ctx context.Context, url string) (store.Store, error) {
	st, err := store.OpenExisting(ctx, url)
	if err != nil {
		// A wrong SQLite path is bad input; an unreachable server is the
		// environment.
		code := 3
		if errors.Is(err, store.ErrNotStore) || errors.Is(err, store.ErrBadURL) || strings.HasPrefix(url, "sqlite:") {
			code = 2
		}
		return nil, exitf(code, "%s", escape.Line(err.Error()))
	}
	return st, nil
}

func renderAlerts(w io.Writer, format string, recs []store.Record) error {
	if format == "json" {
		return dashboard.WriteJSON(w, recs)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tPRIORITY\tRULE\tCONTAINER\tRESPONSE\tOUTPUT")
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
	resp := ""
	if a.Response != nil {
		resp = a.Response.Short()
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Time.UTC().Format(time.RFC3339), a.Priority,
		tableCell(a.Rule, 60), tableCell(c, 40), tableCell(resp, 20), tableCell(outputMessage(a), 200))
}

// falcoLinePrefix is the "HH:MM:SS.ns: " Falco puts before an alert's
// priority and message.
var falcoLinePrefix = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d+: `)

// outputMessage is an alert's output without the time and priority the
// table's own columns show.
func outputMessage(a alert.Alert) string {
	loc := falcoLinePrefix.FindStringIndex(a.Output)
	if loc == nil {
		return a.Output
	}
	if rest, ok := strings.CutPrefix(a.Output[loc[1]:], fmt.Sprint(a.Priority)+" "); ok {
		return rest
	}
	return a.Output
}

// followAlerts prints what matched so far, then new alerts as they are
// stored, until the context ends (Ctrl-C). Table rows are unaligned so they
// can be printed one at a time; JSON is one Falco object per line.
func followAlerts(ctx context.Context, w io.Writer, format string, st store.Store, f store.Filter, first []store.Record) error {
	if format == "table" {
		fmt.Fprintln(w, "TIME\tPRIORITY\tRULE\tCONTAINER\tRESPONSE\tOUTPUT")
	}
	err := store.Follow(ctx, st, f, first, followInterval, func(recs []store.Record) error {
		for _, r := range recs {
			if format != "json" {
				writeAlertRow(w, r.Alert)
				continue
			}
			b, err := json.Marshal(outputs.FalcoShape(r.Alert))
			if err != nil {
				return err
			}
			if _, err := w.Write(append(b, '\n')); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return exitf(1, "%v", err)
	}
	return nil
}
