package cli

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/baseline"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/rules"
	builtinrules "github.com/palisade-sec/palisade/rules"
)

// ruleFlags are the rule-selection flags shared by watch, replay and rules.
type ruleFlags struct {
	files    []string
	builtin  bool
	matchAll bool
	// drift loads the drift rules after the built-in ones (--baselines).
	drift bool
	// appendOutput is added to the rules' outputs (detection commands).
	appendOutput []rules.AppendOutput
	// cmd gives the reads its context (signals, --max-input-size).
	cmd *cobra.Command
}

// appendFrom takes the delivery config's append_output, or Falco's
// default (the container and pod) when the config has none.
func (f *ruleFlags) appendFrom(cfg outputs.Config) {
	f.appendOutput = cfg.AppendOutput
	if f.appendOutput == nil {
		f.appendOutput = rules.DefaultAppendOutput
	}
}

func (f *ruleFlags) register(cmd *cobra.Command) {
	f.cmd = cmd
	cmd.Flags().StringArrayVarP(&f.files, "rules", "r", nil, "rule file in Falco's format, e.g. /etc/falco/falco_rules.yaml from github.com/falcosecurity/rules (repeatable; later files override earlier ones)")
	cmd.Flags().BoolVar(&f.builtin, "builtin", false, "load Palisade's built-in rules first (the default when no -r is given)")
	cmd.Flags().BoolVar(&f.matchAll, "all-matches", false, "report every rule an event matches, not just the first (Falco's rule_matching: all)")
}

// sources returns the rule files to load, in order: the built-in rules
// (when asked, or when no file is given), then each -r file.
func (f *ruleFlags) sources() ([]rules.File, error) {
	var out []rules.File
	if f.builtin || len(f.files) == 0 {
		out = append(out, rules.File{Name: builtinrules.Name, Data: builtinrules.YAML})
	}
	if f.drift {
		out = append(out, rules.File{Name: builtinrules.DriftName, Data: builtinrules.DriftYAML})
	}
	read, err := rules.ReadFiles(f.cmd.Context(), f.files...)
	if err != nil {
		return nil, inputError(err)
	}
	for _, r := range read {
		if len(bytes.TrimSpace(r.Data)) == 0 {
			// Loading nothing and saying "ok: 0 rules" hides a wrong path.
			return nil, exitf(2, "%s: empty rules file", escape.Line(r.Name))
		}
	}
	return append(out, read...), nil
}

// load compiles the selected rules; rule errors become one error whose
// first line names the first problem's file:line:col.
func (f *ruleFlags) load() (*rules.Ruleset, *rules.Result, error) {
	files, err := f.sources()
	if err != nil {
		return nil, nil, err
	}
	opts := rules.Options{AppendOutput: f.appendOutput}
	if f.drift {
		// Drift alerts are a second opinion: they are reported besides a
		// detection rule's alert for the same event.
		opts.IndependentTags = []string{baseline.DriftTag}
	}
	if f.matchAll {
		opts.Matching = rules.MatchAll
	}
	rs, res := rules.Load(files, opts)
	if len(res.Errors) > 0 {
		msg := res.Errors[0].Error()
		if n := len(res.Errors) - 1; n > 0 {
			msg += fmt.Sprintf(" (and %d more errors; run palisade rules validate)", n)
		}
		return nil, res, exitf(1, "%s", msg)
	}
	return rs, res, nil
}
