package yamlpos

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

func TestSplit(t *testing.T) {
	src := "# head\na: 1\n---\nb: 2\n--- # c\n\n---\nc: 3\n...\n"
	docs := Split([]byte(src))
	if len(docs) != 3 {
		t.Fatalf("docs: %d", len(docs))
	}
	want := []struct {
		offset int
		first  string
	}{{0, "# head"}, {2, "   "}, {6, "   "}}
	for i, d := range docs {
		if d.Offset != want[i].offset || !strings.HasPrefix(string(d.Data), want[i].first) {
			t.Errorf("doc %d: offset %d data %q", i, d.Offset, d.Data)
		}
	}
	var n yaml.Node
	if err := yaml.Unmarshal(docs[1].Data, &n); err != nil {
		t.Fatal(err)
	}
	if l := Line(&n, "b"); l+docs[1].Offset != 4 {
		t.Errorf("b is at line %d of the file, want 4", l+docs[1].Offset)
	}
}

func TestGetAndFindDotted(t *testing.T) {
	src := "spec:\n  containers:\n    - name: a\n    - name: b\n      securityContext:\n        privileged: x\n"
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	if l := Line(&n, "spec", "containers", 1, "securityContext"); l != 5 {
		t.Errorf("Line = %d", l)
	}
	if l := Line(&n, "spec", "nope"); l != 0 {
		t.Errorf("missing key line %d", l)
	}
	if l := FindDotted(&n, "spec.containers.securityContext.privileged"); l != 6 {
		t.Errorf("FindDotted = %d", l)
	}
}

// TestToJSONMatchesKubectl: the converter reads YAML as sigs.k8s.io/yaml
// (kubectl's reader) does.
func TestToJSONMatchesKubectl(t *testing.T) {
	docs := []string{
		"a: yes\nb: 'yes'\nc: on\nd: Off\ne: 0x1f\nf: 1_000\ng: 1.5e3\nh: ~\ni: [1, two, 3.0]\nj: \"x\\ty\"\n",
		"base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n",
		"list:\n  - &a {k: v}\n  - *a\n",
		"k: |\n  multi\n  line\nn: -12\nt: 2024-01-02\n",
		"1: int key\ntrue: bool key\n",
	}
	files, _ := filepath.Glob("../kube/testdata/*.yaml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range Split(b) {
			docs = append(docs, string(d.Data))
		}
	}
	for _, d := range docs {
		checkSameAsSigs(t, []byte(d))
	}
}

func checkSameAsSigs(t *testing.T, data []byte) {
	t.Helper()
	want, err := sigsyaml.YAMLToJSON(data)
	if err != nil {
		return
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return
	}
	got, err := ToJSON(&n)
	if err != nil {
		t.Fatalf("ToJSON(%q): %v", data, err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("ToJSON(%q) made invalid JSON %s: %v", data, got, err)
	}
	json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("ToJSON(%q)\n got %s\nwant %s", data, got, want)
	}
}

func TestToJSONDepthLimit(t *testing.T) {
	// Built by hand: the YAML parser's own depth limit may refuse the text.
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1"}
	for range MaxDepth + 10 {
		n = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{n}}
	}
	n = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{n}}
	if _, err := ToJSON(n); err == nil {
		t.Error("no error for excessive nesting")
	}
}

func FuzzToJSON(f *testing.F) {
	f.Add([]byte("a: yes\nb: [1, 2]\nc: &x {d: 1}\ne: *x\n"))
	f.Add([]byte("<<: {a: 1}\nb: 0o17\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			return
		}
		js, err := ToJSON(&n)
		if err != nil {
			return
		}
		if !json.Valid(js) {
			t.Fatalf("invalid JSON %q from %q", js, data)
		}
	})
}
