package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/rules"
)

func newRulesCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Rule tooling: validate, list, explain (Falco's rule language)",
	}
	cmd.AddCommand(newRulesValidateCmd(s), newRulesListCmd(s), newRulesExplainCmd(s))
	return cmd
}

type diagJSON struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
	Text    string `json:"text"`
}

func diags(l rules.ErrorList) []diagJSON {
	out := make([]diagJSON, 0, len(l))
	for _, e := range l {
		out = append(out, diagJSON{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Col, Message: e.Msg, Text: e.Error()})
	}
	return out
}

func newRulesValidateCmd(s streams) *cobra.Command {
	var rf ruleFlags
	var format, out string
	cmd := &cobra.Command{
		Use:   "validate [-r FILE]... [--builtin] [-o text|json]",
		Short: "Load rule files and report errors and warnings",
		Example: `  palisade rules validate -r /etc/falco/falco_rules.yaml
  palisade rules validate --builtin -r my_rules.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			files, err := rf.sources()
			if err != nil {
				return err
			}
			rs, res := rules.Load(files, rules.Options{})
			var counts rules.Counts
			if rs != nil {
				counts = rs.Counts()
			}
			err = writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, map[string]any{
						"rules": counts.Rules, "enabled_rules": counts.EnabledRules, "macros": counts.Macros, "lists": counts.Lists,
						"warnings": diags(res.Warnings), "errors": diags(res.Errors),
					})
				}
				// A srcpos error is one escaped line already; escaping it
				// again would double the backslashes of its quoted parts.
				// A srcpos error is one escaped line already; escaping it
				// again would double the backslashes of its quoted parts.
				text := func(l rules.ErrorList) []string {
					out := make([]string, len(l))
					for i, e := range l {
						out[i] = e.Error()
					}
					return out
				}
				printCapped(w, "error: ", "errors", text(res.Errors))
				printCapped(w, "warning: ", "warnings", text(res.Warnings))
				if len(res.Errors) == 0 {
					fmt.Fprintf(w, "ok: %d rules (%d enabled), %d macros, %d lists, %d warnings\n", counts.Rules, counts.EnabledRules, counts.Macros, counts.Lists, len(res.Warnings))
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(res.Errors) > 0 {
				return exitf(1, "%d errors in rules (first: %s)", len(res.Errors), res.Errors[0].Error())
			}
			return nil
		},
	}
	rf.register(cmd)
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}

func newRulesListCmd(s streams) *cobra.Command {
	var rf ruleFlags
	var format, out string
	cmd := &cobra.Command{
		Use:     "list [-r FILE]... [--builtin] [-o text|json]",
		Short:   "List the rules that a set of files defines",
		Example: `  palisade rules list --builtin`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			rs, _, err := rf.load()
			if err != nil {
				return err
			}
			type ruleJSON struct {
				Rule     string   `json:"rule"`
				Priority string   `json:"priority"`
				Enabled  bool     `json:"enabled"`
				Source   string   `json:"source"`
				Tags     []string `json:"tags"`
				Desc     string   `json:"desc"`
			}
			list := make([]ruleJSON, 0, len(rs.Rules))
			for _, r := range rs.Rules {
				list = append(list, ruleJSON{Rule: r.Name, Priority: r.Priority.String(), Enabled: r.Enabled, Source: r.Source, Tags: nonNil(r.Tags), Desc: strings.TrimSpace(r.Desc)})
			}
			return writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, map[string]any{"rules": list})
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RULE\tPRIORITY\tENABLED\tTAGS")
				for _, r := range list {
					fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", escape.Text(r.Rule), r.Priority, r.Enabled, escape.Text(strings.Join(r.Tags, ",")))
				}
				return tw.Flush()
			})
		},
	}
	rf.register(cmd)
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}

func newRulesExplainCmd(s streams) *cobra.Command {
	var rf ruleFlags
	var format, out string
	cmd := &cobra.Command{
		Use:   "explain RULE [-r FILE]... [--builtin] [-o text|json]",
		Short: "Show a rule's expanded condition, event types and fields",
		Example: `  palisade rules explain "Terminal shell in container"
  palisade rules explain -r /etc/falco/falco_rules.yaml "Read sensitive file untrusted" -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			rs, _, err := rf.load()
			if err != nil {
				return err
			}
			ex, ok := rs.Explain(args[0])
			if !ok {
				return exitf(1, "no rule named %q", escape.Text(args[0]))
			}
			return writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, ex)
				}
				types := strings.Join(ex.EventTypes, ", ")
				if ex.AllTypes {
					types = "all"
					if len(ex.Excluded) > 0 {
						types += " except " + strings.Join(ex.Excluded, ", ")
					}
				}
				fmt.Fprintf(w, "rule:        %s\nenabled:     %v\npriority:    %s\nsource:      %s\nevent types: %s\nfields:      %s\ncondition:   %s\nexpanded:    %s\noutput:      %s\n",
					escape.Text(ex.Rule), ex.Enabled, ex.Priority, ex.Source, types, strings.Join(ex.Fields, ", "),
					escape.Text(oneLine(ex.Condition)), escape.Text(ex.Expanded), escape.Text(oneLine(ex.Output)))
				return nil
			})
		},
	}
	rf.register(cmd)
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
