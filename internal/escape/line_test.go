package escape

import (
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a\nb\r\tc", `a\nb\r\tc`},
		{`kept\backslash "a\nb"`, `kept\backslash "a\nb"`},
		{"é\\\n", `é\\n`},
		{"\x1b[31m\x00\x7f", `\x1b[31m\x00\x7f`},
		{"cut\xe2\x80\\x", `cut\xe2\x80\x`},
		{"bidi\u202e\\\u2066", `bidi\u202e\\u2066`},
		{`\\`, `\\`},
	} {
		if got := Line(tc.in); got != tc.want {
			t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{"", `\`, `a\nb`, "a\nb", "\xe2\\\x80", "\u202e\\", `"\x1b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := Line(s)
		checkInert(t, l)
		if again := Line(l); again != l {
			t.Fatalf("Line(Line(%q)) = %q, not %q", s, again, l)
		}
		if !strings.Contains(s, `\`) && l != Text(s) {
			t.Fatalf("without a backslash Line(%q) = %q differs from Text's %q", s, l, Text(s))
		}
	})
}
