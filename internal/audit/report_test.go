package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestInlineIgnores(t *testing.T) {
	src := "services:\n  web: # palisade:ignore runs-as-root\n    image: x\n    # palisade:ignore privileged, host-pid\n    privileged: true\n    pid: host # palisade:ignore=host-pid\n    ipc: host\n"
	ign := ParseInlineIgnores([]byte(src))
	fs := []Finding{
		{Check: "runs-as-root", Line: 2, ContainerLine: 2},
		{Check: "writable-root-fs", Line: 2, ContainerLine: 2},
		{Check: "privileged", Line: 5, ContainerLine: 2},
		{Check: "host-pid", Line: 6, ContainerLine: 2},
		{Check: "host-ipc", Line: 7, ContainerLine: 2},
	}
	var got []string
	for _, f := range ign.Apply(fs) {
		got = append(got, f.Check)
	}
	if strings.Join(got, ",") != "writable-root-fs,host-ipc" {
		t.Fatalf("after ignores: %v", got)
	}
	if len(ParseInlineIgnores([]byte("image: palisade:ignore-me\n"))) != 0 {
		t.Error("marker outside a comment must not count")
	}
}

func sampleReport() *Report {
	c := hardened(SourceCompose)
	c.Target, c.File = "service evil\x1b]0;pwned\x07\u202eexe.sh", "compose.yaml"
	c.Privileged = true
	c.Lines = map[Field]int{FieldPrivileged: 5}
	d := &Daemon{Target: "daemon unix:///var/run/docker.sock", Seccomp: "builtin"}
	fs := append(Audit(c), AuditDaemon(d)...)
	return &Report{Findings: Normalize(fs)}
}

func TestTableEscapesAndGroups(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteTable(&b, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07\u202e") {
		t.Fatalf("raw control characters in table output:\n%q", out)
	}
	for _, want := range []string{`service evil\x1b]0;pwned\x07\u202eexe.sh  (compose.yaml)`, "critical privileged  line 5", "daemon-not-rootless", "2 findings (1 critical, 1 medium) in 2 groups"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	sampleReport().WriteTable(&b, true)
	if !strings.Contains(b.String(), "\x1b[1;31mcritical") {
		t.Error("no colour with colour on")
	}
}

func TestJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) != 2 {
		t.Fatalf("findings: %v", doc.Findings)
	}
	for _, f := range doc.Findings {
		for _, k := range []string{"check", "severity", "title", "target", "file", "line", "fix"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding lacks %q: %v", k, f)
			}
		}
	}
	if bytes.Contains(b.Bytes(), []byte("\x1b")) {
		t.Error("raw ESC in JSON")
	}
	b.Reset()
	(&Report{}).WriteJSON(&b)
	if strings.TrimSpace(b.String()) != "{\n  \"findings\": []\n}" {
		t.Errorf("empty report: %q", b.String())
	}
}

// TestSARIFStructure checks the parts of SARIF 2.1.0 code-scanning UIs rely on.
func TestSARIFStructure(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteSARIF(&b, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID                   string `json:"id"`
						ShortDescription     struct{ Text string }
						DefaultConfiguration struct{ Level string }
						Properties           map[string]string `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation struct{ URI string }
						Region           *struct{ StartLine int }
					} `json:"physicalLocation"`
					LogicalLocations []struct{ Name string } `json:"logicalLocations"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-2.1.0") || len(log.Runs) != 1 {
		t.Fatalf("header: %q %q runs=%d", log.Version, log.Schema, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "palisade" || len(run.Tool.Driver.Rules) != len(Checks()) {
		t.Fatalf("driver %q with %d rules", run.Tool.Driver.Name, len(run.Tool.Driver.Rules))
	}
	levels := map[string]bool{"error": true, "warning": true, "note": true}
	for _, r := range run.Tool.Driver.Rules {
		if r.ID == "" || r.ShortDescription.Text == "" || !levels[r.DefaultConfiguration.Level] || r.Properties["security-severity"] == "" {
			t.Errorf("rule %+v", r)
		}
	}
	if len(run.Results) != 2 {
		t.Fatalf("results: %d", len(run.Results))
	}
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID || !levels[res.Level] || res.Message.Text == "" || len(res.Locations) != 1 {
			t.Errorf("result %+v", res)
		}
		loc := res.Locations[0]
		if res.RuleID == "privileged" {
			if loc.PhysicalLocation == nil || loc.PhysicalLocation.ArtifactLocation.URI != "compose.yaml" || loc.PhysicalLocation.Region == nil || loc.PhysicalLocation.Region.StartLine != 5 {
				t.Errorf("privileged location %+v", loc.PhysicalLocation)
			}
		} else if loc.PhysicalLocation != nil || len(loc.LogicalLocations) != 1 {
			t.Errorf("daemon finding location %+v", loc)
		}
	}
}

func TestErrorsCarryPositions(t *testing.T) {
	data := []byte("{\n  \"a\": 1,\n  \"b\": x\n}")
	var v any
	err := JSONError("f.json", data, json.Unmarshal(data, &v))
	if got := err.Error(); !strings.HasPrefix(got, "f.json:3:8: invalid JSON") {
		t.Errorf("JSON error %q", got)
	}
}
