package outputs

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscapeText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"café ü 日本", "café ü 日本"},
		{"a\nb\r\tc", `a\nb\r\tc`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`},
		{`back\slash`, `back\\slash`},
		{"c1\u009bcsi", `c1\u009bcsi`},
		{"bidi\u202eoverride\u2066", `bidi\u202eoverride\u2066`},
		{"line\u2028sep", `line\u2028sep`},
		{"", ""},
	} {
		if got := EscapeText(tc.in); got != tc.want {
			t.Errorf("EscapeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// checkInert fails when s could act on a terminal or split a log line.
func checkInert(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("escaped text is not valid UTF-8: %q", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || isUnsafeRune(r) {
			t.Fatalf("escaped text holds control rune %U: %q", r, s)
		}
	}
}

func FuzzEscapeText(f *testing.F) {
	for _, s := range []string{"", "x", "\x1b]0;title\x07", "a\nb", "\xff", "\u202e", `\x1b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeText(s)
		checkInert(t, e)
		// Escaping is injective enough that distinct controls stay visible:
		// an escaped string never contains a lone backslash at its end.
		if strings.HasSuffix(e, `\`) && !strings.HasSuffix(e, `\\`) {
			t.Fatalf("dangling backslash in %q", e)
		}
		if truncated := truncateUTF8(e, len(e)/2); !utf8.ValidString(truncated) {
			t.Fatalf("truncateUTF8 split a rune: %q", truncated)
		}
	})
}
