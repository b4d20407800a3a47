package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseCondition: the parser never panics, and whatever parses has a
// canonical form that parses to itself.
func FuzzParseCondition(f *testing.F) {
	seeds, _ := os.ReadFile(filepath.Join("testdata", "conditions.txt"))
	for _, line := range splitLines(string(seeds)) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, cond string) {
		n, err := ParseConditionString(cond)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		c := n.String()
		n2, err := ParseConditionString(c)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", c, cond, err)
		}
		if n2.String() != c {
			t.Fatalf("canonical form unstable: %q -> %q", c, n2.String())
		}
	})
}

// FuzzLoad: loading arbitrary rule files never panics, and either yields a
// ruleset or at least one error with a position in the file.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{baseRule, "- list: l\n  items: [a, b]\n", "- macro: m\n  condition: evt.type = open\n",
		"- rule: r\n  desc: d\n  output: '%proc.name %fd.name'\n  priority: info\n  condition: evt.type in (open, openat) and fd.name pmatch (/etc)\n  exceptions:\n    - name: e\n      fields: [proc.name]\n      values: [[cat]]\n",
		"- required_engine_version: 0.57.0\n", "[", "- rule: r\n  override:\n    condition: append\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var rs *Ruleset
		var res *Result
		done := make(chan struct{})
		go func() {
			defer close(done)
			rs, res = Load([]File{{Name: "fuzz.yaml", Data: []byte(doc)}}, Options{Hostname: "fuzz"})
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Load did not finish in 5s on %q", doc)
		}
		if rs == nil && len(res.Errors) == 0 {
			t.Fatal("no ruleset and no error")
		}
		if rs != nil && len(res.Errors) > 0 {
			t.Fatal("ruleset returned despite errors")
		}
		for _, e := range res.Errors {
			if e.Pos.File != "fuzz.yaml" {
				t.Fatalf("error without the file name: %v", e)
			}
		}
		// Whatever the file holds, every message is one line with no
		// terminal or bidi controls.
		for _, e := range append(res.Errors[:len(res.Errors):len(res.Errors)], res.Warnings...) {
			if msg := e.Error(); strings.ContainsAny(msg, "\n\r\x1b\u2028\u2029\u202e") || !utf8.ValidString(msg) {
				t.Fatalf("message is not one clean line: %q", msg)
			}
		}
	})
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '\n' {
			if line := s[start:i]; line != "" && line[0] != '#' {
				out = append(out, line)
			}
			start = i + 1
		}
	}
	return out
}
