package launch

import (
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/seccomp"
)

func TestCompileFilter(t *testing.T) {
	p, err := seccomp.LoadBuiltin("docker-default")
	if err != nil {
		t.Fatal(err)
	}
	prog, flags, err := CompileFilter(p, caps.DockerDefault())
	if err != nil || len(prog) < 10 || flags != 0 {
		t.Fatalf("docker-default: %d instructions, flags %d, %v", len(prog), flags, err)
	}
	logged, err := seccomp.Parse("log.json", []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, flags, err := CompileFilter(logged, 0); err != nil || flags != 2|4 {
		t.Errorf("flags %d, %v; want 6", flags, err)
	}
	notify, err := seccomp.Parse("notify.json", []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := CompileFilter(notify, 0); err == nil || !strings.HasPrefix(err.Error(), "notify.json:1:") || !strings.Contains(err.Error(), "SCMP_ACT_NOTIFY needs a notification listener") {
		t.Errorf("notify: %v", err)
	}
}
