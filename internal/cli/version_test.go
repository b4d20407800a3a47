package cli

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	code, out, errs := run(t, "", "version", "-o", "json")
	var b buildInfo
	if code != 0 || json.Unmarshal([]byte(out), &b) != nil {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if b.Version != Version || b.GoVersion != runtime.Version() || b.Commit == "" || b.Date == "" || b.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version = %+v", b)
	}
	old := Commit
	Commit = "abc123"
	defer func() { Commit = old }()
	if _, out, _ := run(t, "", "version"); !strings.HasPrefix(out, "palisade "+Version+"\ncommit:   abc123\n") {
		t.Errorf("text: %q", out)
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_palisade", "zsh": "#compdef palisade", "fish": "complete -c palisade"} {
		code, out, errs := run(t, "", "completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, %d bytes, %q", shell, code, len(out), errs)
		}
	}
	if code, _, _ := run(t, "", "completion", "tcsh"); code != 2 {
		t.Errorf("completion tcsh: exit %d", code)
	}
}
