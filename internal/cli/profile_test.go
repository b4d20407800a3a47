package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/seccomp"
)

const profileRec = "../profile/testdata/server.recording.json"

func TestProfileCommands(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.json")
	code, _, errs := run(t, "", "profile", "seccomp", profileRec, "--out", prof)
	if code != 0 {
		t.Fatalf("profile seccomp: exit %d: %s", code, errs)
	}
	data, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seccomp.Parse(prof, data); err != nil {
		t.Errorf("written profile does not parse: %v", err)
	}
	if !strings.Contains(errs, "syscalls with zero arguments (Docker's default profile: ") {
		t.Errorf("no comparison with Docker's default on stderr: %s", errs)
	}

	code, out, errs := run(t, "", "profile", "caps", profileRec, "-o", "json")
	if code != 0 {
		t.Fatalf("profile caps: exit %d: %s", code, errs)
	}
	var c struct {
		CapAdd    []string `json:"cap_add"`
		Collected bool     `json:"collected"`
		Partial   bool     `json:"partial"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("caps json: %v\n%s", err, out)
	}
	if strings.Join(c.CapAdd, ",") != "NET_BIND_SERVICE,SETGID,SETUID" || c.Collected || !c.Partial {
		t.Errorf("caps %+v", c)
	}
	if !strings.Contains(errs, "partial") {
		t.Errorf("caps: stderr does not say the set is partial: %s", errs)
	}

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"profile", "docker", profileRec, "--seccomp-file", "s.json"}, "--cap-drop=ALL --cap-add=NET_BIND_SERVICE --cap-add=SETGID --cap-add=SETUID --security-opt=seccomp=s.json\n"},
		{[]string{"profile", "compose", profileRec, "--service", "web"}, "services:\n  web:\n    cap_add:\n"},
		{[]string{"profile", "k8s", profileRec}, "securityContext:\n"},
		{[]string{"profile", "apparmor", profileRec}, "profile palisade-server flags="},
	}
	for _, tt := range tests {
		code, out, errs := run(t, "", tt.args...)
		if code != 0 || !strings.Contains(out, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", tt.args, code, out, errs, tt.want)
		}
	}
}

func TestProfileBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{\n  \"version\": 1,\n  \"syscalls\": [\n"), 0o644)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"profile", "selinux", profileRec}, 2, `unknown profile kind "selinux"`},
		{[]string{"profile", "seccomp", bad}, 2, bad + ":4:1: unexpected end of file"},
		{[]string{"profile", "seccomp", filepath.Join(dir, "missing.json")}, 2, "missing.json: no such file"},
		{[]string{"profile", "seccomp", profileRec, "--runtime", "crun"}, 1, `unknown runtime "crun"`},
		{[]string{"profile", "caps", profileRec, "-o", "sarif"}, 2, "unknown output format"},
		{[]string{"record", "--merge"}, 2, "--merge needs at least one recording"},
		{[]string{"record", "--merge", bad}, 2, bad + ":4:1: unexpected end of file"},
		{[]string{"record"}, 2, "record a command or a container"},
	}
	for _, tt := range tests {
		code, out, errs := run(t, "", tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and one line with %q", tt.args, code, out, errs, tt.code, tt.want)
		}
	}
}

func TestRecordMerge(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.json")
	code, _, errs := run(t, "", "record", "--merge", profileRec, profileRec, "--out", out)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	data, _ := os.ReadFile(out)
	var m struct {
		Sources  []any                        `json:"sources"`
		Syscalls map[string]map[string]uint64 `json:"syscalls"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Sources) != 2 || m.Syscalls["x86_64"]["openat"] != 8 {
		t.Errorf("merge of a recording with itself: %d sources, openat %d; want 2 and 8", len(m.Sources), m.Syscalls["x86_64"]["openat"])
	}
}
