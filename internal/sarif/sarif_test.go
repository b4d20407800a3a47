package sarif

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestURI(t *testing.T) {
	for in, want := range map[string]string{
		"deploy/web.yaml":      "deploy/web.yaml",
		"/etc/x y/compose.yml": "file:///etc/x%20y/compose.yml",
		"a#b?.yaml":            "a%23b%3F.yaml",
	} {
		if got := URI(in); got != want {
			t.Errorf("URI(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriteShape checks the parts code-scanning UIs need and that optional
// parts left empty are left out.
func TestWriteShape(t *testing.T) {
	var b bytes.Buffer
	log := New(Run{
		Tool: Tool{Driver: Driver{Name: "t", Rules: []Rule{{ID: "r1"}}}},
		Results: []Result{{RuleID: "r1", Level: "error", Message: Message{"m\x1b<"},
			Locations: []Location{{PhysicalLocation: &PhysicalLocation{ArtifactLocation{URI: "f.json"}, &Region{StartLine: 3}}}}}},
	})
	if err := log.Write(&b); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["$schema"] != Schema || doc["version"] != "2.1.0" {
		t.Errorf("header %v", doc)
	}
	run := doc["runs"].([]any)[0].(map[string]any)
	rule := run["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)[0].(map[string]any)
	if len(rule) != 1 || rule["id"] != "r1" {
		t.Errorf("rule with only an id: %v", rule)
	}
	res := run["results"].([]any)[0].(map[string]any)
	if res["ruleIndex"] != 0.0 || res["message"].(map[string]any)["text"] != "m\x1b<" {
		t.Errorf("result %v", res)
	}
	region := res["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)["region"].(map[string]any)
	if len(region) != 1 || region["startLine"] != 3.0 {
		t.Errorf("region %v", region)
	}
	if bytes.ContainsAny(b.Bytes(), "\x1b<") {
		t.Error("raw control or HTML character in the log")
	}
}
