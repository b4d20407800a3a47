package audit

import "fmt"

// Note records part of an input that was deliberately not audited (a
// document of a kind palisade does not know), so that silence is never
// mistaken for a clean result. Notes do not change the exit status.
type Note struct {
	File string
	Line int
	Text string
}

func (n Note) String() string {
	if n.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", n.File, n.Line, n.Text)
	}
	return fmt.Sprintf("%s: %s", n.File, n.Text)
}
