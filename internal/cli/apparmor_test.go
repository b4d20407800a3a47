package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/apparmor"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// runCLI runs the command line and returns exit code, stdout and stderr.
func runAppArmorCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func writeAppArmorTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAppArmorGenerateNginx(t *testing.T) {
	spec := filepath.Join(testutil.RepoRoot(t), "examples", "nginx-web.yaml")
	out := filepath.Join(t.TempDir(), "nginx-web.profile")
	code, stdout, stderr := runAppArmorCLI(t, "apparmor", "generate", spec, "--out", out)
	if code != 0 || stderr != "" || stdout != "" {
		t.Fatalf("generate: code %d stdout %q stderr %q", code, stdout, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"profile nginx-web ", "/var/www/html/** r,", "/var/log/nginx/** rw,", "deny /etc/shadow mrwklx,", "capability net_bind_service,"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("profile lacks %q", want)
		}
	}
	// The committed example profile is what generate prints today.
	committed, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "examples", "nginx-web.profile"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, got) {
		t.Error("examples/nginx-web.profile is stale: regenerate it with palisade apparmor generate examples/nginx-web.yaml --out examples/nginx-web.profile")
	}
	requireAppArmorParser(t)
	code, stdout, stderr = runAppArmorCLI(t, "apparmor", "generate", "--check", spec)
	if code != 0 || !strings.Contains(stdout, "profile nginx-web ") {
		t.Fatalf("generate --check: code %d stderr %q", code, stderr)
	}
	code, stdout, stderr = runAppArmorCLI(t, "apparmor", "validate", out)
	if code != 0 || !strings.Contains(stdout, ": ok, apparmor_parser accepts it (profiles: nginx-web)") {
		t.Fatalf("validate: code %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func requireAppArmorParser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/apparmor_parser"); err == nil {
		return
	}
	testutil.RequireTool(t, "apparmor_parser")
}

func TestAppArmorGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	unknown := writeAppArmorTemp(t, "unknown.yaml", "name: web\nfiles:\n  read: [/srv/**]\nnetwrok: [tcp]\n")
	broad := writeAppArmorTemp(t, "broad.yaml", "name: web\nfiles:\n  write: [\"/**\"]\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown key", []string{"apparmor", "generate", unknown}, 2, "palisade: " + unknown + `:4:1: unknown key "netwrok" in the spec (did you mean "network"?)`},
		{"broad write", []string{"apparmor", "generate", broad}, 2, "palisade: " + broad + `:3:11: files.write: "/**" is too broad`},
		{"missing file", []string{"apparmor", "generate", filepath.Join(dir, "nope.yaml")}, 2, "palisade: read spec: open "},
		{"bad format", []string{"apparmor", "generate", "-o", "xml", unknown}, 2, `palisade: unknown output format "xml"`},
		{"no args", []string{"apparmor", "generate"}, 2, "palisade: accepts 1 arg(s), received 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "p.profile")
			code, stdout, stderr := runAppArmorCLI(t, append(c.args, "--out", out)...)
			if code != c.code || !strings.HasPrefix(stderr, c.want) {
				t.Fatalf("code %d stderr %q; want code %d and %q", code, stderr, c.code, c.want)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout on error: %q", stdout)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed generate left an output file")
			}
		})
	}
}

func TestAppArmorGenerateJSON(t *testing.T) {
	spec := writeAppArmorTemp(t, "s.yaml", "name: j\nnetwork: [udp]\n")
	code, stdout, stderr := runAppArmorCLI(t, "apparmor", "generate", "-o", "json", spec)
	if code != 0 {
		t.Fatalf("code %d stderr %q", code, stderr)
	}
	var got struct {
		Name    string
		Spec    apparmor.Spec
		Profile string
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "j" || got.Spec.Network[0] != "udp" || !strings.Contains(got.Profile, "network inet dgram,") {
		t.Fatalf("json = %+v", got)
	}
}

func TestAppArmorValidate(t *testing.T) {
	requireAppArmorParser(t)
	spec := writeAppArmorTemp(t, "ok.yaml", "name: ok\nfiles:\n  read: [/srv/**]\n")
	code, stdout, stderr := runAppArmorCLI(t, "apparmor", "validate", "-o", "json", spec)
	if code != 0 || !strings.Contains(stdout, `"valid": true`) || !strings.Contains(stdout, `"ok"`) {
		t.Fatalf("validate spec: code %d stdout %q stderr %q", code, stdout, stderr)
	}
	bad := writeAppArmorTemp(t, "bad.profile", "profile bad {\n  capability frobnicate,\n}\n")
	code, stdout, stderr = runAppArmorCLI(t, "apparmor", "validate", bad)
	if code != 1 || !strings.Contains(stderr, bad+": apparmor_parser rejected the profile") || !strings.Contains(stderr, "frobnicate") {
		t.Fatalf("validate bad: code %d stdout %q stderr %q", code, stdout, stderr)
	}
	if strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not one line: %q", stderr)
	}
	report := filepath.Join(t.TempDir(), "report.json")
	code, stdout, stderr = runAppArmorCLI(t, "apparmor", "validate", "-o", "json", "--out", report, spec)
	data, _ := os.ReadFile(report)
	if code != 0 || stdout != "" || !strings.Contains(string(data), `"valid": true`) {
		t.Fatalf("validate --out: code %d stdout %q stderr %q file %q", code, stdout, stderr, data)
	}
}

// TestAppArmorInstallWithoutKernelSupport: this project's machines run a
// kernel without AppArmor, so install must say so in one line and fail.
func TestAppArmorInstallWithoutKernelSupport(t *testing.T) {
	// Not a missing capability: on an AppArmor kernel the refusal under test
	// does not exist.
	if ok, _ := apparmor.KernelStatus(); ok {
		t.Skip("this kernel has AppArmor; the refusal is not reachable here")
	}
	spec := writeAppArmorTemp(t, "s.yaml", "name: inst\n")
	prof := filepath.Join(t.TempDir(), "inst.profile")
	if code, _, stderr := runAppArmorCLI(t, "apparmor", "generate", spec, "--out", prof); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	code, stdout, stderr := runAppArmorCLI(t, "apparmor", "install", prof)
	want := "palisade: install " + prof + ": AppArmor is not enabled in the running kernel ("
	if code != 1 || !strings.HasPrefix(stderr, want) || stdout != "" {
		t.Fatalf("install: code %d stdout %q stderr %q; want code 1 and %q", code, stdout, stderr, want)
	}
	if strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not one line: %q", stderr)
	}
	notProfile := writeAppArmorTemp(t, "x.txt", "hello\n")
	if code, _, stderr := runAppArmorCLI(t, "apparmor", "install", notProfile); code != 1 || !strings.Contains(stderr, "no `profile NAME {` line") {
		t.Fatalf("install non-profile: code %d stderr %q", code, stderr)
	}
}
