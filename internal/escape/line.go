package escape

import "strings"

// Line is Text that leaves the backslash alone. It is for messages put
// together from parts that may already be escaped or %q-quoted (a parser's
// error naming the bad input, a file name a caller escaped): those come out
// unchanged, so escaping twice is harmless, while anything that could act
// on a terminal, split the line or hide is still escaped as Text does.
func Line(s string) string {
	if !strings.Contains(s, `\`) {
		return Text(s)
	}
	// Text escapes nothing into a bare backslash, and no escaped sequence
	// spans one, so escaping the pieces between backslashes is Text minus
	// the backslash rule.
	parts := strings.Split(s, `\`)
	for i, p := range parts {
		parts[i] = Text(p)
	}
	return strings.Join(parts, `\`)
}
