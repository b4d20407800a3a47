package rules

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const appendRules = `
- rule: Plain
  desc: d
  condition: evt.type = openat
  output: "opened %fd.name by %proc.name"
  priority: warning
  tags: [filesystem, mitre_discovery]
- rule: Names container
  desc: d
  condition: evt.type = openat
  output: "opened %fd.name in %container.name (%container.id)"
  priority: notice
  tags: [filesystem]
`

func loadAppend(t *testing.T, entries []AppendOutput) *Ruleset {
	t.Helper()
	rs, res := Load([]File{{Name: "a.yaml", Data: []byte(appendRules)}}, Options{Hostname: "h", Matching: MatchAll, AppendOutput: entries})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	return rs
}

// alertsByRule evaluates the shadow-read event and renders every match.
func alertsByRule(t *testing.T, rs *Ruleset) map[string]struct {
	out    string
	fields map[string]any
} {
	t.Helper()
	e := parseEvents(t, evOpenShadow)[0]
	got := map[string]struct {
		out    string
		fields map[string]any
	}{}
	for _, m := range rs.Eval(e, nil) {
		a := rs.Alert(m, e)
		_, text, _ := strings.Cut(a.Output, " Warning ")
		if text == "" {
			_, text, _ = strings.Cut(a.Output, " Notice ")
		}
		got[a.Rule] = struct {
			out    string
			fields map[string]any
		}{text, a.OutputFields}
	}
	return got
}

// The default appends the container and pod to every syscall rule, and
// never prints a field the rule's output already prints.
func TestAppendOutputDefault(t *testing.T) {
	got := alertsByRule(t, loadAppend(t, DefaultAppendOutput))
	plain := got["Plain"]
	if want := "opened /etc/shadow by cat container_id=0123456789ab container_name=web container_image=nginx container_image_tag=1.25 k8s_ns=<NA> k8s_pod_name=<NA>"; plain.out != want {
		t.Errorf("Plain:\n got %q\nwant %q", plain.out, want)
	}
	if plain.fields["container.id"] != "0123456789ab" || plain.fields["container.image.repository"] != "nginx" {
		t.Errorf("Plain fields: %v", plain.fields)
	}
	named := got["Names container"]
	if want := "opened /etc/shadow in web (0123456789ab) container_image=nginx container_image_tag=1.25 k8s_ns=<NA> k8s_pod_name=<NA>"; named.out != want {
		t.Errorf("Names container:\n got %q\nwant %q", named.out, want)
	}
	// Without the option nothing is appended (rule tooling, benchmarks).
	if out := alertsByRule(t, loadAppend(t, nil))["Plain"].out; out != "opened /etc/shadow by cat" {
		t.Errorf("no append_output: %q", out)
	}
}

// Entries match by source, rule name and tags (all of them), in order;
// extra fields reach output_fields only.
func TestAppendOutputMatching(t *testing.T) {
	t.Setenv("PALISADE_TEST_CLUSTER", "prod-eu")
	var entries []AppendOutput
	cfg := `
- match: {tags: [filesystem, mitre_discovery]}
  extra_output: "cpu=%evt.cpu"
- match: {rule: Names container}
  extra_output: "user=%user.name"
  extra_fields: [proc.pid, {cluster: "${PALISADE_TEST_CLUSTER}"}]
- match: {source: k8s_audit}
  extra_output: "never=%proc.name"
- extra_fields: [evt.type]
`
	if err := yaml.Unmarshal([]byte(cfg), &entries); err != nil {
		t.Fatal(err)
	}
	got := alertsByRule(t, loadAppend(t, entries))
	if p := got["Plain"]; p.out != "opened /etc/shadow by cat cpu=0" || p.fields["evt.type"] != "openat" || p.fields["proc.pid"] != nil {
		t.Errorf("Plain: %q %v", p.out, p.fields)
	}
	n := got["Names container"]
	if n.out != "opened /etc/shadow in web (0123456789ab) user=root" || n.fields["cluster"] != "prod-eu" || n.fields["proc.pid"] != int64(100) || n.fields["evt.type"] != "openat" {
		t.Errorf("Names container: %q %v", n.out, n.fields)
	}
}

// A bad entry is one error naming the entry, not one per rule.
func TestAppendOutputErrors(t *testing.T) {
	for _, tc := range []struct {
		entry AppendOutput
		want  string
	}{
		{AppendOutput{ExtraOutput: "x=%proc.nmae"}, "append_output[0]: output: unknown field"},
		{AppendOutput{ExtraFields: []ExtraField{{Name: "fd.nope"}}}, "append_output[0]: append_output extra_fields: output: unknown field"},
	} {
		_, res := Load([]File{{Name: "a.yaml", Data: []byte(appendRules)}}, Options{AppendOutput: []AppendOutput{tc.entry}})
		if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), tc.want) {
			t.Errorf("%+v: errors %v, want one containing %q", tc.entry, res.Errors, tc.want)
		}
	}
	var f ExtraField
	if err := yaml.Unmarshal([]byte("{a: 1, b: 2}"), &f); err == nil || !strings.Contains(err.Error(), "one NAME: VALUE pair") {
		t.Errorf("two pairs: %v", err)
	}
}
