package seccomp

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestWriteLintSARIF(t *testing.T) {
	findings := []Finding{
		{ID: "dangerous-syscall", Severity: SevHigh, Message: "mount allowed", Pos: Position{Line: 4, Col: 9}},
		{ID: "default-allow", Severity: SevMedium, Message: "default allows"},
		{ID: "dangerous-syscall", Severity: SevLow, Message: "ptrace allowed", Pos: Position{Line: 7}},
	}
	var b bytes.Buffer
	if err := WriteLintSARIF(&b, "p.json", "1.2.3", findings); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name, Version string
					Rules         []struct{ ID string }
				}
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           *struct{ StartLine, StartColumn int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if log.Version != "2.1.0" || run.Tool.Driver.Name != "palisade-seccomp-lint" || run.Tool.Driver.Version != "1.2.3" || len(run.Tool.Driver.Rules) != 2 {
		t.Fatalf("log %s", b.String())
	}
	for i, want := range []struct {
		level string
		index int
		line  int
		col   int
	}{{"error", 0, 4, 9}, {"warning", 1, 0, 0}, {"note", 0, 7, 0}} {
		r := run.Results[i]
		if r.Level != want.level || r.RuleIndex != want.index || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.Locations[0].PhysicalLocation.ArtifactLocation.URI != "p.json" {
			t.Errorf("result %d: %+v", i, r)
		}
		reg := r.Locations[0].PhysicalLocation.Region
		if (want.line == 0) != (reg == nil) || reg != nil && (reg.StartLine != want.line || reg.StartColumn != want.col) {
			t.Errorf("result %d region %+v, want line %d col %d", i, reg, want.line, want.col)
		}
	}
	b.Reset()
	WriteLintSARIF(&b, "p.json", "1", nil)
	if !bytes.Contains(b.Bytes(), []byte(`"rules": []`)) || !bytes.Contains(b.Bytes(), []byte(`"results": []`)) {
		t.Errorf("no findings: %s", b.String())
	}
}
