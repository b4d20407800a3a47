package glob

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		fold   bool
		want   bool
	}{
		{"*", "", false, true}, {"*", "/a/b", false, true}, {"/etc/*", "/etc/a/b", false, true},
		{"a?c", "abc", false, true}, {"a?c", "ac", false, false}, {"[a-c]x", "bx", false, true},
		{"[!a-c]x", "bx", false, false}, {"[!a-c]x", "dx", false, true}, {"*.PEM", "k.pem", true, true},
		{"*.PEM", "k.pem", false, false}, {`a\*`, "a*", false, true}, {`a\*`, "ab", false, false},
		{"/home/*/.ssh/*", "/home/u/.ssh/id_rsa", false, true}, {"*a*b*c", "xaybzc", false, true},
		{"*a*b*c", "xaybz", false, false}, {"[", "[", false, true},
	} {
		mode := Mode(0)
		if tc.fold {
			mode = Fold
		}
		if got := Match(tc.pat, tc.s, mode); got != tc.want {
			t.Errorf("Match(%q, %q, fold=%v) = %v", tc.pat, tc.s, tc.fold, got)
		}
	}
}

// In Literal mode only * and ? are special: brackets and backslashes are
// themselves, as rule names like "Read [sensitive]" need.
func TestMatchLiteral(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		mode   Mode
		want   bool
	}{
		{"Read [sensitive]", "Read [sensitive]", Literal, true},
		{"Read [sensitive]", "Read s", Literal, false},
		{"Read [sensitive]", "Read s", 0, true}, // the same pattern as a class
		{"[a-c]x", "bx", Literal, false},
		{"[a-c]x", "[a-c]x", Literal, true},
		{"[!a]*", "[!a] rest", Literal, true},
		{`a\*`, `a\*`, Literal, true},
		{`a\*`, `a\xyz`, Literal, true}, // the * after the backslash is still a wildcard
		{`a\*`, "a*", Literal, false},
		{`C:\dir\?`, `C:\dir\x`, Literal, true},
		{"[", "[", Literal, true},
		{"]", "]", Literal, true},
		{"*[x]*", "rule [x] fired", Literal, true},
		{"*[x]*", "rule x fired", Literal, false},
		{"READ [Sensitive]*", "read [sensitive] file", Literal | Fold, true},
		{"READ [Sensitive]*", "read [sensitive] file", Literal, false},
		{"[A]", "[a]", Literal | Fold, true},
		{"[A]", "a", Literal | Fold, false},
		{"docker.io/*/busybox:*", "docker.io/library/busybox:1.36", Literal, true},
	} {
		if got := Match(tc.pat, tc.s, tc.mode); got != tc.want {
			t.Errorf("Match(%q, %q, %v) = %v, want %v", tc.pat, tc.s, tc.mode, got, tc.want)
		}
	}
}

// escapeSpecials turns a Literal pattern into the default mode's spelling
// of the same pattern: '[' and '\' escaped, * and ? left special.
func escapeSpecials(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '[' || p[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// FuzzMatchLiteral checks the two modes against each other: a pattern
// read literally matches exactly what its escaped spelling matches in the
// default mode, with and without Fold.
func FuzzMatchLiteral(f *testing.F) {
	for _, seed := range [][2]string{
		{"Read [sensitive]", "Read [sensitive]"}, {"[a-c]x", "bx"}, {`a\*`, `a\b`},
		{"*[x]*", "rule [x]"}, {"[!", "[!"}, {"a*b?c", "aXXbYc"}, {`\`, `\`}, {"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		if len(pat) > 64 || len(s) > 256 {
			return
		}
		for _, fold := range []Mode{0, Fold} {
			lit := Match(pat, s, Literal|fold)
			if esc := Match(escapeSpecials(pat), s, fold); lit != esc {
				t.Fatalf("Match(%q, %q, Literal|%d) = %v, escaped pattern %q gives %v", pat, s, fold, lit, escapeSpecials(pat), esc)
			}
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	for _, m := range []struct {
		name string
		mode Mode
	}{{"default", 0}, {"fold", Fold}, {"literal", Literal}} {
		b.Run(m.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				Match("/home/*/.ssh/*_rsa*", "/home/someone/.ssh/id_rsa.pub", m.mode)
			}
		})
	}
}
