package seccomp

import (
	"io"

	"github.com/palisade-sec/palisade/internal/sarif"
)

// WriteLintSARIF writes lint findings for the profile named source as a
// SARIF 2.1.0 log of the tool palisade-seccomp-lint at version: one rule
// per finding id, high severity as error, medium as warning, the rest as
// notes, located at the profile entry when the finding has a position.
func WriteLintSARIF(w io.Writer, source, version string, findings []Finding) error {
	level := map[Severity]string{SevHigh: "error", SevMedium: "warning", SevLow: "note", SevInfo: "note"}
	drv := sarif.Driver{Name: "palisade-seccomp-lint", Version: version, Rules: []sarif.Rule{}}
	index := map[string]int{}
	run := sarif.Run{Results: []sarif.Result{}}
	for _, f := range findings {
		if _, ok := index[f.ID]; !ok {
			index[f.ID] = len(drv.Rules)
			drv.Rules = append(drv.Rules, sarif.Rule{ID: f.ID})
		}
		loc := sarif.Location{PhysicalLocation: &sarif.PhysicalLocation{ArtifactLocation: sarif.ArtifactLocation{URI: source}}}
		if f.Pos.Line > 0 {
			loc.PhysicalLocation.Region = &sarif.Region{StartLine: f.Pos.Line, StartColumn: f.Pos.Col}
		}
		run.Results = append(run.Results, sarif.Result{RuleID: f.ID, RuleIndex: index[f.ID], Level: level[f.Severity],
			Message: sarif.Message{Text: f.Message}, Locations: []sarif.Location{loc}})
	}
	run.Tool = sarif.Tool{Driver: drv}
	return sarif.New(run).Write(w)
}
