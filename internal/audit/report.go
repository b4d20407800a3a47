package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/palisade-sec/palisade/internal/escape"
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

// SARIF 2.1.0, the subset code-scanning UIs read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	Help                 sarifText         `json:"help"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           map[string]string `json:"properties"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
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

// sarifURI turns a file path into a SARIF artifact URI: relative paths stay
// relative (resolved against the repository by code-scanning UIs), absolute
// ones become file:// URIs.
func sarifURI(p string) string {
	s := filepath.ToSlash(p)
	if filepath.IsAbs(p) {
		return (&url.URL{Scheme: "file", Path: s}).String()
	}
	return (&url.URL{Path: s}).String()
}

// WriteSARIF writes a SARIF 2.1.0 log with one rule per check.
func (r *Report) WriteSARIF(w io.Writer, version string) error {
	drv := sarifDriver{Name: "palisade", Version: version, InformationURI: "https://github.com/palisade-sec/palisade"}
	index := map[string]int{}
	for i, k := range checks {
		index[k.Slug] = i
		drv.Rules = append(drv.Rules, sarifRule{
			ID: k.Slug, Name: k.Slug,
			ShortDescription:     sarifText{k.Title},
			FullDescription:      sarifText{k.Breakout},
			Help:                 sarifText{k.Breakout},
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(k.Severity)},
			Properties:           map[string]string{"security-severity": securitySeverity[k.Severity], "severity": k.Severity.String()},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: drv}, Results: []sarifResult{}}
	for _, f := range r.Findings {
		loc := sarifLocation{LogicalLocations: []sarifLogical{{Name: f.Target, Kind: "object"}}}
		if f.File != "" {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(f.File)}}
			if f.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line}
			}
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.Check, RuleIndex: index[f.Check], Level: sarifLevel(f.Severity),
			Message:   sarifText{fmt.Sprintf("%s: %s. Fix: %s", f.Target, f.Detail, f.Fix)},
			Locations: []sarifLocation{loc},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
