package kernel

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestReportFailed(t *testing.T) {
	r := NewReport([]Check{{Name: "btf", Status: Fail, Detail: "missing", Fix: "boot a BTF kernel"}, {Name: "tracefs", Status: Warn}})
	if r.OK || r.Failed != 1 || r.Warnings != 1 {
		t.Fatalf("report %+v", r)
	}
	var buf bytes.Buffer
	r.WriteText(&buf)
	if !strings.Contains(buf.String(), "fix: boot a BTF kernel") || !strings.Contains(buf.String(), "cannot run here") {
		t.Errorf("text:\n%s", buf.String())
	}
}

func TestReportEscapesAndCounts(t *testing.T) {
	r := NewReport([]Check{{Name: "ok", Status: OK, Detail: "fine", Fix: "not shown"}, {Name: "w", Status: Warn, Detail: "evil\x1b[2J\u202e", Fix: "do x"}})
	if !r.OK || r.Failed != 0 || r.Warnings != 1 {
		t.Fatalf("report %+v", r)
	}
	var buf bytes.Buffer
	r.WriteText(&buf)
	out := buf.String()
	if strings.ContainsAny(out, "\x1b\u202e") || !strings.Contains(out, `evil\x1b[2J\u202e`) || strings.Contains(out, "not shown") ||
		!strings.Contains(out, "fix: do x") || !strings.HasSuffix(out, "\npalisade can run here (1 warnings)\n") {
		t.Errorf("text:\n%s", out)
	}
}

// TestGroupFailures: tracepoints failing the same way are one entry, so a
// hint in the error shows once.
func TestGroupFailures(t *testing.T) {
	perm := errors.New("load: operation not permitted (MEMLOCK may be too low, consider rlimit.RemoveMemlock)")
	got := groupFailures("tp_btf/", []string{"a", "b", "c", "d"}, []error{perm, nil, errors.New("attach: ENOENT"), errors.New(perm.Error())})
	want := "tp_btf/a, d: load: operation not permitted (MEMLOCK may be too low, consider rlimit.RemoveMemlock); tp_btf/c: attach: ENOENT"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := groupFailures("x/", []string{"a"}, []error{nil}); got != "" {
		t.Errorf("no failures: %q", got)
	}
}
