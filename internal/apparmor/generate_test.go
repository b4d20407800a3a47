package apparmor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// requireParser needs the real apparmor_parser (Debian package apparmor).
func requireParser(t *testing.T) {
	t.Helper()
	if _, err := parserPath(); err != nil {
		testutil.RequireTool(t, "apparmor_parser")
	}
}

func checkWithParser(t *testing.T, name string, profile []byte) {
	t.Helper()
	requireParser(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := Check(ctx, name, profile); err != nil {
		t.Fatalf("apparmor_parser -Q -K refused the generated profile: %v\n%s", err, profile)
	}
}

// broadRules are rules a generated profile must never hold.
var broadRules = regexp.MustCompile(`(?m)^\s*(file|capability|network|unix|mount|ptrace|signal|dbus)\s*,|^\s*(owner\s+)?/\*\*\s+\w*[wa]`)

func TestGenerateGolden(t *testing.T) {
	specs, err := filepath.Glob("testdata/specs/*.yaml")
	if err != nil || len(specs) == 0 {
		t.Fatalf("no specs under testdata/specs: %v", err)
	}
	for _, path := range specs {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := ParseSpec(path, data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := Generate(spec)
			if err != nil {
				t.Fatalf("generate: %v", err)
			}
			again, _ := Generate(spec)
			if !bytes.Equal(got, again) {
				t.Fatal("two generations of the same spec differ")
			}
			golden := filepath.Join("testdata", "golden", name+".profile")
			testutil.Golden(t, golden, got)
			if m := broadRules.Find(got); m != nil {
				t.Errorf("profile holds a broad rule %q", m)
			}
			for _, must := range []string{
				"include <abstractions/base>",
				"deny @{PROC}/sysrq-trigger rwklx,",
				"deny @{PROC}/kcore rwklx,",
				"deny /sys/firmware/** rwklx,",
				"deny /sys/kernel/security/** rwklx,",
				"ptrace (read,readby,trace,tracedby) peer=" + spec.Name + ",",
			} {
				if !bytes.Contains(got, []byte(must)) {
					t.Errorf("profile lacks %q", must)
				}
			}
			if len(spec.Mount) == 0 && !bytes.Contains(got, []byte("\n  deny mount,\n")) {
				t.Error("a spec without mount: must deny mount")
			}
			checkWithParser(t, path, got)
		})
	}
}

// TestNginxExample is the "must show": the nginx spec gives read on
// the docroot, write on the logs, deny on /etc/shadow, the one capability,
// and nothing broader.
func TestNginxExample(t *testing.T) {
	data, err := os.ReadFile("testdata/specs/nginx-web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpec("nginx-web.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  /var/www/html/** r,\n",
		"  /var/log/nginx/** rw,\n",
		"  deny /etc/shadow mrwklx,\n",
		"  capability net_bind_service,\n",
		"  network inet stream,\n",
		"  network inet6 stream,\n",
	} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("profile lacks %q", want)
		}
	}
	// Exactly three capabilities and only stream sockets.
	if n := bytes.Count(got, []byte("  capability ")); n != 3 {
		t.Errorf("profile grants %d capabilities, want 3", n)
	}
	if n := bytes.Count(got, []byte("  network ")); n != 2 {
		t.Errorf("profile has %d network rules, want 2 (tcp over IPv4 and IPv6)", n)
	}
	// Every allow rule on a path is one the spec named.
	allowed := map[string]bool{
		"/var/www/html/** r": true, "/etc/nginx/** r": true,
		"/var/log/nginx/** rw": true, "/run/nginx.pid rw": true,
		"/usr/sbin/nginx mrix": true,
	}
	for _, line := range strings.Split(string(got), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "/") || strings.HasPrefix(line, "@{") {
			if !allowed[strings.TrimSuffix(line, ",")] {
				t.Errorf("unexpected path grant %q", line)
			}
		}
	}
	checkWithParser(t, "nginx-web", got)
}

// TestParserCatchesBadProfiles shows the parser check is not a rubber stamp.
func TestParserCatchesBadProfiles(t *testing.T) {
	requireParser(t)
	bad := []byte("abi <abi/3.0>,\ninclude <tunables/global>\nprofile broken {\n  include <abstractions/base>\n  capability frobnicate,\n}\n")
	err := Check(context.Background(), "broken.profile", bad)
	var pe *ParserError
	if !errors.As(err, &pe) {
		t.Fatalf("Check = %v, want a ParserError", err)
	}
	if !strings.Contains(pe.Error(), "frobnicate") || !strings.Contains(pe.Error(), "broken.profile") {
		t.Errorf("parser error %q should name the file and the bad capability", pe)
	}
	if strings.Contains(pe.Error(), "palisade-apparmor-") {
		t.Errorf("parser error %q leaks the temporary file name", pe)
	}
}

func TestGenerateRefusesInvalidGoSpec(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		want string
	}{
		{"bare root write", Spec{Name: "x", Files: Files{Write: []string{"/**"}}}, "too broad"},
		{"glob root read", Spec{Name: "x", Files: Files{Read: []string{"/{etc,var}/**"}}}, "too broad"},
		{"relative", Spec{Name: "x", Files: Files{Read: []string{"etc/passwd"}}}, "not absolute"},
		{"newline in path", Spec{Name: "x", Files: Files{Read: []string{"/etc/x,\n  /** rw"}}}, "control character"},
		{"quote in path", Spec{Name: "x", Files: Files{Exec: []string{`/bin/"sh`}}}, "cannot hold"},
		{"bad name", Spec{Name: "x y"}, "not a profile name"},
		{"unknown network", Spec{Name: "x", Network: []string{"sctp"}}, "unknown network kind"},
		{"non-canonical cap", Spec{Name: "x", Capabilities: []string{"CAP_CHOWN"}}, "canonical"},
		{"dotdot", Spec{Name: "x", Files: Files{Read: []string{"/srv/../etc/shadow"}}}, `".." component`},
		{"peer injection", Spec{Name: "x", Ptrace: []PtraceRule{{Access: []string{"read"}, Peer: "a, ptrace"}}}, "not a profile name"},
		{"mount target broad", Spec{Name: "x", Mount: []MountRule{{Target: "/**"}}}, "too broad"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Generate(&c.spec)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Generate error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestQuotePathWithSpaces(t *testing.T) {
	spec := &Spec{Name: "spaces", Files: Files{Read: []string{"/srv/my files/*", "/srv/a,b", "/srv/#not-a-comment", "/srv/ünïcode", "/srv/x)y(z"}}}
	got, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"/srv/my files/*" r,`, `"/srv/a,b" r,`, `"/srv/#not-a-comment" r,`, `"/srv/ünïcode" r,`, `"/srv/x)y(z" r,`} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("profile lacks %s", want)
		}
	}
	checkWithParser(t, "spaces", got)
}

func TestProfileNames(t *testing.T) {
	got := ProfileNames([]byte("# profile nope\nabi <abi/3.0>,\nprofile nginx-web flags=(x) {\n  profile child {\n  }\n}\n"))
	if strings.Join(got, ",") != "nginx-web,child" {
		t.Fatalf("ProfileNames = %v", got)
	}
}

func TestKernelStatus(t *testing.T) {
	root := t.TempDir() + "/"
	if ok, _ := kernelStatus(root); ok {
		t.Fatal("empty root reported AppArmor enabled")
	}
	if err := os.MkdirAll(root+"sys/module/apparmor/parameters", 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(root+"sys/module/apparmor/parameters/enabled", []byte("Y\n"), 0o644)
	if ok, why := kernelStatus(root); !ok || !strings.Contains(why, "is Y") {
		t.Fatalf("enabled=Y: ok=%v why=%q", ok, why)
	}
	os.WriteFile(root+"sys/module/apparmor/parameters/enabled", []byte("N\n"), 0o644)
	if ok, _ := kernelStatus(root); ok {
		t.Fatal("enabled=N reported enabled")
	}
	root2 := t.TempDir() + "/"
	os.MkdirAll(root2+"sys/kernel/security/apparmor", 0o755)
	if ok, _ := kernelStatus(root2); !ok {
		t.Fatal("securityfs apparmor dir not recognised")
	}
}

// TestLoadWithoutAppArmor runs on this project's machines, whose kernel has
// no AppArmor: Load must refuse with ErrNotInKernel rather than run the parser.
func TestLoadWithoutAppArmor(t *testing.T) {
	// Not a missing capability: on an AppArmor kernel the path under test
	// does not exist, and the loading tests cover that kernel instead.
	if ok, _ := KernelStatus(); ok {
		t.Skip("this kernel has AppArmor; the refusal path is not reachable")
	}
	err := Load(context.Background(), "testdata/golden/minimal.profile")
	if !errors.Is(err, ErrNotInKernel) {
		t.Fatalf("Load = %v, want ErrNotInKernel", err)
	}
}

// TestExamples: every AppArmor spec under examples/ (a .yaml with a generated
// .profile beside it; other examples there are other tools' configs)
// generates a profile the parser accepts, identical to the committed one.
func TestExamples(t *testing.T) {
	profiles, _ := filepath.Glob(filepath.Join(testutil.RepoRoot(t), "examples", "*.profile"))
	sawNginx := false
	for _, prof := range profiles {
		path := strings.TrimSuffix(prof, ".profile") + ".yaml"
		sawNginx = sawNginx || filepath.Base(path) == "nginx-web.yaml"
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s has no spec beside it: %v", prof, err)
		}
		spec, err := ParseSpec(path, data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Generate(spec)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(prof)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, committed) {
			t.Errorf("%s is stale; regenerate with palisade apparmor generate %s --out %s", prof, path, prof)
		}
		checkWithParser(t, path, got)
	}
	if !sawNginx {
		t.Fatal("examples/nginx-web.yaml and .profile are missing")
	}
}

func BenchmarkGenerate(b *testing.B) {
	data, err := os.ReadFile("testdata/specs/everything.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		spec, err := ParseSpec("everything.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Generate(spec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "profiles/s")
}

// BenchmarkCheck is the cost of one apparmor_parser -Q -K run.
func BenchmarkCheck(b *testing.B) {
	_, err := parserPath()
	testutil.RequireFeature(b, err == nil, "%v", err)
	data, _ := os.ReadFile("testdata/golden/nginx-web.profile")
	for b.Loop() {
		if err := Check(context.Background(), "nginx-web", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/check")
}
