package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/sarif"
)

// Report is what an audit run produced.
type Report struct {
	Findings []Finding `json:"findings"`
}

// Counts returns the number of findings at each severity.
func (r *Report) Counts() map[Severity]int {
	m := map[Severity]int{}
	for _, f := range r.Findings {
		m[f.Severity]++
	}
	return m
}

// Max returns the highest severity present (0 when there are no findings).
func (r *Report) Max() Severity {
	var m Severity
	for _, f := range r.Findings {
		if f.Severity > m {
			m = f.Severity
		}
	}
	return m
}

// WriteJSON writes {"findings":[...]}; encoding/json escapes control and HTML
// characters, so attacker-controlled names stay inert.
func (r *Report) WriteJSON(w io.Writer) error {
	rr := *r
	if rr.Findings == nil {
		rr.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rr)
}

var sevColour = map[Severity]string{
	SeverityCritical: "\x1b[1;31m", SeverityHigh: "\x1b[31m", SeverityMedium: "\x1b[33m", SeverityLow: "\x1b[36m",
}

// WriteTable writes findings grouped by container, service or workload. With
// colour, severities are coloured with ANSI escapes (for a terminal only).
func (r *Report) WriteTable(w io.Writer, colour bool) error {
	ew := &errWriter{w: w}
	if len(r.Findings) == 0 {
		ew.printf("no findings\n")
		return ew.err
	}
	var lastGroup, lastFile string
	groups := 0
	for i, f := range r.Findings {
		if i == 0 || f.Group != lastGroup || f.File != lastFile {
			if i > 0 {
				ew.printf("\n")
			}
			groups++
			head := escape.Text(f.Group)
			if f.File != "" {
				head += "  (" + escape.Text(f.File) + ")"
			}
			ew.printf("%s\n", head)
			lastGroup, lastFile = f.Group, f.File
		}
		sev := fmt.Sprintf("%-8s", f.Severity)
		if colour {
			sev = sevColour[f.Severity] + sev + "\x1b[0m"
		}
		loc := ""
		if f.Line > 0 {
			loc = fmt.Sprintf("  line %d", f.Line)
		}
		who := ""
		if f.Target != f.Group {
			who = "  [" + escape.Text(f.Target) + "]"
		}
		ew.printf("  %s %s%s%s\n", sev, f.Check, loc, who)
		ew.printf("           %s\n", escape.Text(f.Detail))
		ew.printf("           fix: %s\n", escape.Text(f.Fix))
	}
	c := r.Counts()
	var parts []string
	for s := SeverityCritical; s >= SeverityLow; s-- {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	ew.printf("\n%s (%s) in %s\n", plural(len(r.Findings), "finding"), strings.Join(parts, ", "), plural(groups, "group"))
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func sarifLevel(s Severity) string {
	switch s {
	case SeverityCritical, SeverityHigh:
		return "error"
	case SeverityMedium:
		return "warning"
	}
	return "note"
}

var securitySeverity = map[Severity]string{
	SeverityCritical: "9.5", SeverityHigh: "8.0", SeverityMedium: "5.5", SeverityLow: "3.0",
}

// WriteSARIF writes a SARIF 2.1.0 log with one rule per check.
func (r *Report) WriteSARIF(w io.Writer, version string) error {
	drv := sarif.Driver{Name: "palisade", Version: version, InformationURI: "https://github.com/palisade-sec/palisade"}
	index := map[string]int{}
	for i, k := range checks {
		index[k.Slug] = i
		drv.Rules = append(drv.Rules, sarif.Rule{
			ID: k.Slug, Name: k.Slug,
			ShortDescription:     sarif.Message{Text: k.Title},
			FullDescription:      sarif.Message{Text: k.Breakout},
			Help:                 sarif.Message{Text: k.Breakout},
			DefaultConfiguration: sarif.RuleConfig{Level: sarifLevel(k.Severity)},
			Properties:           map[string]string{"security-severity": securitySeverity[k.Severity], "severity": k.Severity.String()},
		})
	}
	run := sarif.Run{Tool: sarif.Tool{Driver: drv}, Results: []sarif.Result{}}
	for _, f := range r.Findings {
		loc := sarif.Location{LogicalLocations: []sarif.LogicalLocation{{Name: f.Target, Kind: "object"}}}
		if f.File != "" {
			loc.PhysicalLocation = &sarif.PhysicalLocation{ArtifactLocation: sarif.ArtifactLocation{URI: sarif.URI(f.File)}}
			if f.Line > 0 {
				loc.PhysicalLocation.Region = &sarif.Region{StartLine: f.Line}
			}
		}
		run.Results = append(run.Results, sarif.Result{
			RuleID: f.Check, RuleIndex: index[f.Check], Level: sarifLevel(f.Severity),
			Message:   sarif.Message{Text: fmt.Sprintf("%s: %s. Fix: %s", f.Target, f.Detail, f.Fix)},
			Locations: []sarif.Location{loc},
		})
	}
	return sarif.New(run).Write(w)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
