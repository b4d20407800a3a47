package audittest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/srcpos"
)

// AuditAll runs the checks over every container, applies inline ignores from
// content (when non-nil) and normalizes the result.
func AuditAll(cs []*audit.Container, content []byte) []audit.Finding {
	ign := audit.ParseInlineIgnores(content)
	var fs []audit.Finding
	for _, c := range cs {
		fs = append(fs, ign.Apply(audit.Audit(c))...)
	}
	return audit.Normalize(fs)
}

// JSON renders findings as the -o json report.
func JSON(t testing.TB, fs []audit.Finding) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := (&audit.Report{Findings: fs}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Brief lists findings one per line as "check@line target".
func Brief(fs []audit.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s@%d %s\n", f.Check, f.Line, f.Target)
	}
	return b.String()
}

// Has reports whether fs holds a finding for slug at line (any line when
// line is 0).
func Has(fs []audit.Finding, slug string, line int) bool {
	for _, f := range fs {
		if f.Check == slug && (line == 0 || f.Line == line) {
			return true
		}
	}
	return false
}

// Slugs returns the set of checks found.
func Slugs(fs []audit.Finding) map[string]bool {
	m := map[string]bool{}
	for _, f := range fs {
		m[f.Check] = true
	}
	return m
}

// WantLine returns the 1-based line of doc that ends in "#want" (0 when
// none does): the line a test's finding should carry.
func WantLine(doc string) int {
	for i, l := range strings.Split(doc, "\n") {
		if strings.HasSuffix(l, "#want") {
			return i + 1
		}
	}
	return 0
}

// Seed adds the content of each file to a fuzz target's corpus.
func Seed(f *testing.F, paths ...string) {
	f.Helper()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// CheckParsed is what a source's fuzz target asks of any parse: every
// error (each one, when err joins several) is a *srcpos.Error, and the
// checks run without a panic on every container that parsed.
func CheckParsed(t *testing.T, cs []*audit.Container, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var pe *srcpos.Error
		if e != nil && !errors.As(e, &pe) {
			t.Fatalf("error is not a *srcpos.Error: %v", e)
		}
	}
	for _, c := range cs {
		audit.Audit(c)
	}
}
