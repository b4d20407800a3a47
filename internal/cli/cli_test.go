package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/replay"
	"github.com/palisade-sec/palisade/internal/testutil"
)

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpListsEveryCommand(t *testing.T) {
	code, out, _ := run(t, "", "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, c := range []string{"watch", "replay", "rules", "record", "profile", "seccomp", "run", "audit", "apparmor", "inspect", "doctor", "alerts", "serve"} {
		if !strings.Contains(out, "\n  "+c+" ") {
			t.Errorf("--help does not list %s", c)
		}
	}
}

func TestRulesValidateFalcoJSON(t *testing.T) {
	dir := testutil.FalcoRulesDir(t)
	code, out, errs := run(t, "", "rules", "validate", "-o", "json",
		"-r", filepath.Join(dir, "falco_rules.yaml"), "-r", filepath.Join(dir, "falco-incubating_rules.yaml"), "-r", filepath.Join(dir, "falco-sandbox_rules.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		Rules, EnabledRules, Macros, Lists int
		Warnings, Errors                   []any
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw["rules"], &got.Rules)
	json.Unmarshal(raw["enabled_rules"], &got.EnabledRules)
	json.Unmarshal(raw["macros"], &got.Macros)
	json.Unmarshal(raw["lists"], &got.Lists)
	json.Unmarshal(raw["errors"], &got.Errors)
	if got.Rules != 93 || got.EnabledRules != 81 || got.Macros != 315 || got.Lists != 118 || len(got.Errors) != 0 {
		t.Errorf("validate = %s", out)
	}
	if _, ok := raw["warnings"]; !ok {
		t.Error("no warnings key")
	}
}

func TestRulesValidateErrorExit(t *testing.T) {
	f := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(f, []byte("- rule: r\n  desc: d\n  output: o\n  priority: info\n  condition: evt.type = open and proc.nmae = x\n"), 0o644)
	code, out, errs := run(t, "", "rules", "validate", "-r", f, "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(out, `"line": 5`) || !strings.Contains(errs, "bad.yaml:5:34: rule \"r\": unknown field \"proc.nmae\" (did you mean proc.name?)") {
		t.Errorf("stdout %s\nstderr %s", out, errs)
	}
	if strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("stderr must be one line: %q", errs)
	}
}

// Hostile names in a rule file come out escaped once, each message on its
// own line: a name holding a newline, an escape sequence or a bidi override
// cannot forge a line or act on the terminal.
func TestRulesValidateHostileNames(t *testing.T) {
	f := filepath.Join(t.TempDir(), "bad\x1b.yaml")
	os.WriteFile(f, []byte("- rule: \"r\\nforged\\u202e\"\n  desc: d\n  output: o\n  priority: info\n  condition: evt.type = open and proc.nmae = x\n"), 0o644)
	code, out, errs := run(t, "", "rules", "validate", "-r", f)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	want := `bad\x1b.yaml:5:34: rule "r\nforged\u202e": unknown field "proc.nmae"`
	if !strings.Contains(out, "error: "+filepath.Dir(f)+"/"+want) || !strings.Contains(errs, want) {
		t.Errorf("want %q\nstdout %q\nstderr %q", want, out, errs)
	}
	if strings.Count(strings.TrimSpace(out), "\n") != 0 || strings.ContainsAny(out+errs, "\x1b\u202e") {
		t.Errorf("output is not one clean line per message:\nstdout %q\nstderr %q", out, errs)
	}
}

func TestReplayBuiltinRules(t *testing.T) {
	code, out, errs := run(t, "", "replay", "-o", "json", filepath.Join("testdata", "attack.jsonl"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rulesFired []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a struct {
			Rule         string         `json:"rule"`
			Priority     string         `json:"priority"`
			OutputFields map[string]any `json:"output_fields"`
			Time         string         `json:"time"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if a.Time == "" || a.Priority == "" || len(a.OutputFields) == 0 {
			t.Errorf("alert not in Falco's shape: %s", line)
		}
		rulesFired = append(rulesFired, a.Rule)
	}
	want := []string{"Terminal shell in container", "Read sensitive file untrusted", "Write below binary dir", "Unexpected outbound connection destination"}
	if strings.Join(rulesFired, "|") != strings.Join(want, "|") {
		t.Errorf("rules fired %q\nwant        %q", rulesFired, want)
	}
	if !strings.Contains(errs, `{"events":7,"alerts":4}`) {
		t.Errorf("summary: %q", errs)
	}
}

func TestReplayLoopbackOnlyThroughList(t *testing.T) {
	// Replacing the allowed list makes loopback connections alert too.
	f := filepath.Join(t.TempDir(), "tune.yaml")
	os.WriteFile(f, []byte("- list: allowed_outbound_destination_networks\n  items: [10.0.0.0/8]\n  override:\n    items: replace\n"), 0o644)
	code, out, errs := run(t, "", "replay", "--builtin", "-r", f, filepath.Join("testdata", "attack.jsonl"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(out, "Outbound connection to an unexpected destination"); n != 2 {
		t.Errorf("%d outbound alerts, want 2:\n%s", n, out)
	}
}

func TestReplayBadInput(t *testing.T) {
	code, _, errs := run(t, "{\"type\":\"openat\"}\n{\"type\": oops}\n", "replay", "-")
	if code != 2 || !strings.Contains(errs, "stdin:2:10: invalid event") {
		t.Errorf("exit %d stderr %q", code, errs)
	}
	code, _, errs = run(t, "", "replay", "/nonexistent/events.jsonl")
	if code != 2 || !strings.Contains(errs, "/nonexistent/events.jsonl") {
		t.Errorf("exit %d stderr %q", code, errs)
	}
	// An empty input is no recording; a recording of no events is fine.
	empty := filepath.Join(t.TempDir(), "empty.rec")
	os.WriteFile(empty, nil, 0o644)
	code, _, errs = run(t, "", "replay", empty)
	if code != 2 || !strings.Contains(errs, "empty.rec is empty") {
		t.Errorf("empty: exit %d stderr %q", code, errs)
	}
	code, _, errs = run(t, "", "replay", "--export-jsonl", "-", empty)
	if code != 2 || !strings.Contains(errs, "is empty") {
		t.Errorf("empty export: exit %d stderr %q", code, errs)
	}
	var hdr bytes.Buffer
	replay.NewWriter(&hdr).Flush()
	code, _, errs = run(t, hdr.String(), "replay", "-o", "json", "-")
	if code != 0 || !strings.Contains(errs, `{"events":0,"alerts":0}`) {
		t.Errorf("exit %d stderr %q", code, errs)
	}
	code, _, errs = run(t, "", "replay", "-o", "yaml", "-")
	if code != 2 || !strings.Contains(errs, "unknown output format") {
		t.Errorf("exit %d stderr %q", code, errs)
	}
}

func TestReplayEscapesAttackerText(t *testing.T) {
	ev := `{"type":"execve","res":0,"proc":{"pid":5,"vpid":5,"name":"sh\u001b[31m","tty":1,"uid":0,"gid":0},"container":{"id":"0123456789ab","name":"evil\nname"}}` + "\n"
	f := filepath.Join(t.TempDir(), "r.yaml")
	os.WriteFile(f, []byte("- rule: any\n  desc: d\n  output: \"%proc.name %container.name\"\n  priority: info\n  condition: evt.type = execve\n"), 0o644)
	code, out, errs := run(t, ev, "replay", "-r", f, "-")
	if code != 0 {
		t.Fatal(errs)
	}
	if strings.ContainsAny(out[:len(out)-1], "\x1b\n") || !strings.Contains(out, `sh\x1b[31m evil\nname`) {
		t.Errorf("not escaped: %q", out)
	}
}

func TestRulesExplainAndList(t *testing.T) {
	code, out, errs := run(t, "", "rules", "explain", "Terminal shell in container", "-o", "json")
	if code != 0 {
		t.Fatal(errs)
	}
	var ex struct {
		EventTypes []string `json:"event_types"`
		Expanded   string   `json:"expanded_condition"`
		Fields     []string `json:"fields"`
	}
	json.Unmarshal([]byte(out), &ex)
	if strings.Join(ex.EventTypes, ",") != "execve,execveat" || !strings.Contains(ex.Expanded, "proc.tty != 0") || len(ex.Fields) == 0 {
		t.Errorf("explain: %s", out)
	}
	code, _, errs = run(t, "", "rules", "explain", "No such rule")
	if code != 1 || !strings.Contains(errs, `no rule named "No such rule"`) {
		t.Errorf("explain missing: %d %q", code, errs)
	}
	code, out, _ = run(t, "", "rules", "list")
	if code != 0 || !strings.Contains(out, "Write below binary dir") {
		t.Errorf("list: %s", out)
	}
}

// replay --out replaces the file only when the whole replay succeeded.
func TestReplayOutNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "alerts.json")
	code, _, errs := run(t, "", "replay", "-o", "json", "--out", out, filepath.Join("testdata", "attack.jsonl"))
	if b, err := os.ReadFile(out); code != 0 || err != nil || strings.Count(string(b), "\n") != 4 {
		t.Fatalf("exit %d (%s): %q %v", code, errs, b, err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	good, _ := os.ReadFile(filepath.Join("testdata", "attack.jsonl"))
	os.WriteFile(bad, append(good, "{oops\n"...), 0o644)
	code, _, _ = run(t, "", "replay", "-o", "json", "--out", filepath.Join(dir, "partial.json"), bad)
	if _, err := os.Stat(filepath.Join(dir, "partial.json")); code != 2 || !os.IsNotExist(err) {
		t.Errorf("exit %d, partial file: %v", code, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
}
