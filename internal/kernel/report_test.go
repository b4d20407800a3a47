package kernel

import (
	"bytes"
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
