package escape

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"", ""},
		{"café ü 日本 ✓ 👍", "café ü 日本 ✓ 👍"},
		{"a\nb\r\tc", `a\nb\r\tc`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"\x1b]0;title\x07", `\x1b]0;title\x07`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"bad\xff\xfeutf8", `bad\xff\xfeutf8`},
		{"cut\xe2\x80", `cut\xe2\x80`},
		{`back\slash`, `back\\slash`},
		{`\x1b`, `\\x1b`},
		{"c1\u009bcsi\u0085", `c1\u009bcsi\u0085`},
		// Trojan Source: every bidi control, the marks and Arabic letter mark.
		{"rtl\u202egnp.exe", `rtl\u202egnp.exe`},
		{"\u202a\u202b\u202c\u202d\u202e", `\u202a\u202b\u202c\u202d\u202e`},
		{"\u2066\u2067\u2068\u2069", `\u2066\u2067\u2068\u2069`},
		{"\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		// Invisible characters that make two names look alike.
		{"ad\u200bmin", `ad\u200bmin`},
		{"zw\u200c\u200d\u2060\ufeff", `zw\u200c\u200d\u2060\ufeff`},
		{"soft\u00adhyphen", `soft\u00adhyphen`},
		{"hangul\u3164filler\u115f", `hangul\u3164filler\u115f`},
		{"cgj\u034f", `cgj\u034f`},
		{"tag\U000e0041", `tag\U000e0041`},
		{"line\u2028sep\u2029", `line\u2028sep\u2029`},
		// Kept: variation selectors and visible spaces of other scripts.
		{"❤\ufe0f", "❤\ufe0f"},
		{"nbsp\u00a0ideographic\u3000", "nbsp\u00a0ideographic\u3000"},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTextUnchangedIsSameString checks the no-copy path: text that needs no
// escaping comes back as the very same string.
func TestTextUnchangedIsSameString(t *testing.T) {
	s := strings.Repeat("a plain line ", 10)
	if got := Text(s); got != s || testing.AllocsPerRun(100, func() { Text(s) }) != 0 {
		t.Errorf("plain text was copied")
	}
}

// checkInert fails when e could act on a terminal, split a line or hide.
func checkInert(t *testing.T, e string) {
	t.Helper()
	if !utf8.ValidString(e) {
		t.Fatalf("escaped text is not valid UTF-8: %q", e)
	}
	for _, r := range e {
		if r < 0x20 || r == 0x7f || hidden(r) {
			t.Fatalf("escaped text holds rune %U: %q", r, e)
		}
	}
}

// unescape reads Text's output back with Go's own unquoting.
func unescape(e string) (string, error) {
	return strconv.Unquote(`"` + strings.ReplaceAll(e, `"`, `\"`) + `"`)
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"", "x", "\x1b]0;title\x07", "a\nb", "\xff", "\u202e", `\x1b`, "\u061c\u200b", "\U000e0041", `"q"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Text(s)
		checkInert(t, e)
		back, err := unescape(e)
		if err != nil || back != s {
			t.Fatalf("Text(%q) = %q does not read back (%q, %v)", s, e, back, err)
		}
	})
}

func BenchmarkText(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"ascii", "proc=bash cmdline=bash -c id container=web image=nginx:1.25 user=root"},
		{"utf8", "proc=bash fichier=/données/été/日本語.txt utilisateur=élodie"},
		{"hostile", "proc=\x1b[2Jbash\u202e cmdline=\xff\xfe evil\nline"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.s)))
			for b.Loop() {
				Text(bc.s)
			}
		})
	}
}

// TestHiddenFastPaths checks every rune: the shortcuts in hidden agree with
// the Unicode tables it stands for.
func TestHiddenFastPaths(t *testing.T) {
	for r := rune(0x80); r <= utf8.MaxRune; r++ {
		want := r <= 0x9f || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point)
		if hidden(r) != want {
			t.Fatalf("hidden(%U) = %v, want %v", r, !want, want)
		}
	}
}
