package outputs

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// checkInertLines checks every line of s is free of control characters.
func checkInertLines(t *testing.T, s string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		checkInert(t, line)
	}
}

// checkInert fails when s could act on a terminal, split a log line or
// reorder what is displayed.
func checkInert(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("escaped text is not valid UTF-8: %q", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			t.Fatalf("escaped text holds rune %U: %q", r, s)
		}
	}
}
