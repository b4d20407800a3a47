package cli

import (
	"strconv"
	"strings"
	"unicode"
)

// sanitize makes attacker-controlled text safe for a terminal: control
// characters (including ESC, so no terminal escape sequences) are written
// as Go escapes; printable text is unchanged.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r == unicode.ReplacementChar || (unicode.IsControl(r) && r != '\t') || r == '\u2028' || r == '\u2029' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == unicode.ReplacementChar || (unicode.IsControl(r) && r != '\t') || r == '\u2028' || r == '\u2029' {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
