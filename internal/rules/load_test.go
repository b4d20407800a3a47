package rules

import (
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/alert"
)

func load(t *testing.T, docs ...string) (*Ruleset, *Result) {
	t.Helper()
	var files []File
	for i, d := range docs {
		files = append(files, File{Name: "f" + string(rune('0'+i)) + ".yaml", Data: []byte(d)})
	}
	return Load(files, Options{})
}

const baseRule = `
- list: procs
  items: [cat]
- macro: m
  condition: proc.name in (procs)
- rule: R
  desc: base
  output: base %proc.name
  priority: info
  tags: [a]
  condition: evt.type = openat and m
`

func TestOverrideAppendReplace(t *testing.T) {
	evs := parseEvents(t, evOpenShadow, evConnect)
	shadow, conn := evs[0], evs[1]

	// list append (override) widens the rule to curl.
	rs, res := load(t, baseRule, `
- list: procs
  items: [curl]
  override:
    items: append
- rule: R
  condition: or evt.type = connect
  override:
    condition: append
- rule: R
  priority: CRITICAL
  output: replaced
  tags: [b]
  override:
    priority: replace
    output: replace
    tags: append
`)
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	r, _ := rs.Rule("R")
	if r.Priority != alert.Critical || r.Output != "replaced" || strings.Join(r.Tags, ",") != "a,b" {
		t.Errorf("override: %+v", r)
	}
	if !matches(rs, shadow) || !matches(rs, conn) {
		t.Error("appended condition/list not applied")
	}

	// legacy append: true on list and macro; enabled toggle.
	rs, res = load(t, baseRule, `
- list: procs
  items: [curl]
  append: true
- macro: m
  condition: or proc.name = nothing
  append: true
- rule: R
  enabled: false
`)
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	if c := rs.Counts(); c.EnabledRules != 0 || c.Rules != 1 {
		t.Errorf("enabled toggle: %+v", c)
	}
	if matches(rs, shadow) {
		t.Error("disabled rule matched")
	}

	// a later definition replaces the earlier one entirely.
	rs, _ = load(t, baseRule, `
- rule: R
  desc: new
  output: new
  priority: debug
  condition: evt.type = connect
`)
	if matches(rs, shadow) || !matches(rs, conn) {
		t.Error("redefinition did not replace")
	}
	// list replace.
	rs, _ = load(t, baseRule, "- list: procs\n  items: [curl]\n  override:\n    items: replace\n")
	if matches(rs, shadow) {
		t.Error("list replace kept old items")
	}
}

func TestExceptions(t *testing.T) {
	evs := parseEvents(t, evOpenShadow, evConnect)
	shadow := evs[0]
	for _, tc := range []struct {
		name, exc string
		match     bool
	}{
		{"tuple", `
  exceptions:
    - name: cat_etc
      fields: [proc.name, fd.directory]
      comps: [=, =]
      values:
        - [cat, /etc]`, false},
		{"tuple no match", `
  exceptions:
    - name: cat_tmp
      fields: [proc.name, fd.directory]
      values:
        - [cat, /tmp]`, true},
		{"single field in", `
  exceptions:
    - name: names
      fields: proc.name
      values: [ls, cat]`, false},
		{"single field startswith", `
  exceptions:
    - name: pfx
      fields: fd.name
      comps: startswith
      values: [/etc/sh]`, false},
		{"tuple with list value", `
  exceptions:
    - name: inlist
      fields: [proc.name, fd.name]
      comps: [in, pmatch]
      values:
        - [[ls, cat], [/etc]]`, false},
		{"list name as value", `
  exceptions:
    - name: viaList
      fields: [proc.name]
      comps: [in]
      values:
        - [procs]`, false},
		{"empty values", `
  exceptions:
    - name: none
      fields: [proc.name]`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, res := load(t, baseRule+tc.exc)
			if len(res.Errors) > 0 {
				t.Fatal(res.Errors)
			}
			if got := matches(rs, shadow); got != tc.match {
				t.Errorf("match = %v, want %v", got, tc.match)
			}
		})
	}
	// Appending values to an existing exception.
	rs, res := load(t, baseRule+`
  exceptions:
    - name: names
      fields: [proc.name]
      values:
        - [ls]`, `
- rule: R
  exceptions:
    - name: names
      values:
        - [cat]
  override:
    exceptions: append
`)
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	if matches(rs, shadow) {
		t.Error("appended exception value not applied")
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown field with suggestion", "- rule: r\n  desc: d\n  output: o\n  priority: info\n  condition: proc.nmae = x\n",
			`f0.yaml:5:14: rule "r": unknown field "proc.nmae" (did you mean proc.name?)`},
		{"undefined macro", "- rule: r\n  desc: d\n  output: o\n  priority: info\n  condition: evt.type = open and not_a_macro\n",
			`f0.yaml:5:34: rule "r": undefined macro "not_a_macro"`},
		{"bad operator for type", "- rule: r\n  desc: d\n  output: o\n  priority: info\n  condition: fd.num contains 3\n",
			`f0.yaml:5:14: rule "r": operator contains is not supported for int64 field fd.num`},
		{"bad number", "- rule: r\n  desc: d\n  output: o\n  priority: info\n  condition: fd.num = abc\n",
			`f0.yaml:5:23: rule "r": field fd.num is int64: "abc" is not a number`},
		{"unbalanced", "- rule: r\n  desc: d\n  output: o\n  priority: info\n  condition: (evt.type = open\n",
			`f0.yaml:5:14: rule "r": unbalanced parentheses: '(' is never closed`},
		{"trailing", "- rule: r\n  desc: d\n  output: o\n  priority: info\n  condition: evt.type = open )\n",
			`f0.yaml:5:30: rule "r": unexpected ")" after the end of the condition`},
		{"bad priority", "- rule: r\n  desc: d\n  output: o\n  priority: loud\n  condition: evt.type = open\n",
			`f0.yaml:4:13: rule "r": invalid priority "loud"`},
		{"missing key", "- rule: r\n  desc: d\n  priority: info\n  condition: evt.type = open\n",
			`f0.yaml:1:3: rule "r": missing required key "output"`},
		{"override missing item", "- rule: r\n  condition: x\n  override:\n    condition: append\n",
			`f0.yaml:1:3: rule "r": cannot override a rule that is not defined`},
		{"append missing list", "- list: l\n  items: [a]\n  append: true\n",
			`f0.yaml:1:3: list l: cannot append to a list that is not defined`},
		{"exception arity", "- rule: r\n  desc: d\n  output: o\n  priority: info\n  condition: evt.type = open\n  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      values:\n        - [a]\n",
			`f0.yaml:10:11: rule "r": exception e: exception arity mismatch: 1 values for 2 fields [proc.name fd.name]`},
		{"bad yaml", "- rule: r\n  desc: [\n", `f0.yaml:2: invalid YAML`},
		{"engine version", "- required_engine_version: 99.0.0\n", `f0.yaml:1:28: rules require engine version 99.0.0`},
		{"unknown plugin", "- required_plugin_versions:\n  - name: k8saudit\n    version: 0.1.0\n", `f0.yaml:2:5: rules require plugin k8saudit 0.1.0`},
		{"macro in macro file position", "- macro: m\n  condition: >\n    evt.type = open and\n    proc.nmae = x\n- rule: r\n  desc: d\n  output: o\n  priority: info\n  condition: m\n",
			`f0.yaml:4:5: rule "r": unknown field "proc.nmae"`},
		{"output unknown field", "- rule: r\n  desc: d\n  output: x %proc.nmae\n  priority: info\n  condition: evt.type = open\n",
			`f0.yaml:3:11: rule "r": output: unknown field "proc.nmae"`},
		{"not a list", "rule: r\n", `f0.yaml:1:1: a rules file must be a list`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, res := load(t, tc.doc)
			if len(res.Errors) == 0 {
				t.Fatalf("no error, want %s", tc.want)
			}
			if got := res.Errors[0].Error(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	_, res := load(t, `
- list: unused
  items: [x]
- rule: r
  desc: d
  output: o
  priority: info
  condition: proc.name = x
- rule: k
  desc: d
  output: o
  priority: info
  source: k8s_audit
  condition: ka.verb = create
- rule: t
  desc: d
  output: o
  priority: info
  condition: evt.type = not_a_syscall
  weird_key: 1
`)
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	var all []string
	for _, w := range res.Warnings {
		all = append(all, w.Error())
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"no evt.type restriction", `list "unused" is not used`, `source "k8s_audit"`, `unknown event type "not_a_syscall"`, `unknown key "weird_key"`} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings lack %q:\n%s", want, text)
		}
	}
}

func TestSkipIfUnknownFilter(t *testing.T) {
	rs, res := load(t, `
- rule: future
  desc: d
  output: o
  priority: info
  skip-if-unknown-filter: true
  condition: evt.type = openat and proc.future_field = x
- rule: now
  desc: d
  output: o
  priority: info
  condition: evt.type = openat
`)
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w.Msg, "rule skipped: skip-if-unknown-filter")
	}
	if !found {
		t.Errorf("no skip warning: %v", res.Warnings)
	}
	evs := parseEvents(t, evOpenShadow)
	if m := rs.Eval(evs[0], nil); len(m) != 1 || m[0].Rule.Name != "now" {
		t.Errorf("matches %v", m)
	}
	// Without the flag the same rule is an error.
	_, res = load(t, "- rule: future\n  desc: d\n  output: o\n  priority: info\n  condition: evt.type = openat and proc.future_field = x\n")
	if len(res.Errors) != 1 {
		t.Errorf("errors = %v", res.Errors)
	}
}

func TestPluginAlternativesAndEngineVersion(t *testing.T) {
	_, res := load(t, `
- required_engine_version: 0.50.0
- required_plugin_versions:
  - name: container
    version: 0.4.0
  - name: k8smeta
    version: 0.1.0
    alternatives:
      - name: container
        version: 0.1.0
`)
	if len(res.Errors) > 0 {
		t.Errorf("errors: %v", res.Errors)
	}
}
