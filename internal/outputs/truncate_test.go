package outputs

import (
	"testing"
	"unicode/utf8"
)

func TestTruncateUTF8(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"},
		{"日本", 5, "日"},
		{"日本", 2, ""},
	} {
		if got := truncateUTF8(tc.in, tc.n); got != tc.want {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func FuzzTruncateUTF8(f *testing.F) {
	for _, s := range []string{"", "x", "日本語", "\u202e\U0001f600", "a\xffb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, n := range []int{0, 1, len(s) / 2, len(s)} {
			got := truncateUTF8(s, n)
			if len(got) > n || got != s[:len(got)] {
				t.Fatalf("truncateUTF8(%q, %d) = %q", s, n, got)
			}
			if utf8.ValidString(s) && !utf8.ValidString(got) {
				t.Fatalf("truncateUTF8(%q, %d) split a rune: %q", s, n, got)
			}
		}
	})
}
