package seccomp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/caps"
)

func TestWriteLintText(t *testing.T) {
	var b bytes.Buffer
	WriteLintText(&b, "p.json", nil)
	if b.String() != "p.json: no findings\n" {
		t.Errorf("none: %q", b.String())
	}
	b.Reset()
	WriteLintText(&b, "p.json", []Finding{
		{ID: "dangerous-syscall", Severity: SevHigh, Arches: []string{"x86_64", "x86"}, Message: "mount allowed", Location: "p.json:4:9"},
		{ID: "default-allow", Severity: SevMedium, Message: "default allows"},
	})
	if b.String() != "p.json:4:9: high: dangerous-syscall [x86_64,x86]: mount allowed\np.json: medium: default-allow: default allows\n" {
		t.Errorf("two: %q", b.String())
	}
}

func TestDiffAndExplainText(t *testing.T) {
	a := dockerDefault(t, "x86_64")
	var b bytes.Buffer
	Diff(a, a).WriteText(&b)
	if b.String() != "profiles decide every syscall the same way\n" {
		t.Errorf("same: %q", b.String())
	}
	p, err := LoadBuiltin("docker-default")
	if err != nil {
		t.Fatal(err)
	}
	withAdmin, err := Resolve(p, Env{Arch: "x86_64", Caps: caps.DockerDefault() | 1<<21, Kernel: testKernel})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	Diff(a, withAdmin).WriteText(&b)
	if !strings.Contains(b.String(), "+ mount [") || strings.Contains(b.String(), "same way") {
		t.Errorf("CAP_SYS_ADMIN diff:\n%s", b.String())
	}
	ex, err := Explain(p, Env{Arch: "x86_64", Caps: caps.DockerDefault(), Kernel: testKernel}, "x86_64", "mount", [6]uint64{})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	ex.WriteText(&b)
	if !strings.HasPrefix(b.String(), "mount on x86_64 (nr 0xa5), args [0x0 0x0 0x0 0x0 0x0 0x0]\naction: SCMP_ACT_ERRNO(1)\nwhy:    ") {
		t.Errorf("explain:\n%s", b.String())
	}
}
