package srcpos

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/palisade-sec/palisade/internal/escape"
)

// Position is a place in an input, 1-based. Line 0 means the position within
// the file is unknown; Col 0 that only the line is known.
type Position struct {
	File string
	Line int
	Col  int
}

// IsValid reports whether the position names a line.
func (p Position) IsValid() bool { return p.Line > 0 }

// String is file:line:col, file:line, file or line:col, with the file name
// escaped so it stays on one line.
func (p Position) String() string {
	s := escape.Line(p.File)
	if p.Line <= 0 {
		return s
	}
	if s != "" {
		s += ":"
	}
	s += strconv.Itoa(p.Line)
	if p.Col > 0 {
		s += ":" + strconv.Itoa(p.Col)
	}
	return s
}

// At returns the position of byte offset off in data, which file holds;
// offsets outside data are clamped to it.
func At(file string, data []byte, off int64) Position {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	return Position{
		File: file,
		Line: bytes.Count(before, []byte("\n")) + 1,
		Col:  int(off) - bytes.LastIndexByte(before, '\n'),
	}
}

// Error is a problem at a position. Msg says what is wrong; Err, when set,
// is the underlying cause (for errors.Is) and stands in for an empty Msg.
type Error struct {
	Pos Position
	Msg string
	Err error
}

// Errorf returns an Error at pos with a formatted message.
func Errorf(pos Position, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns err as an Error at pos; its message is err's.
func Wrap(pos Position, err error) *Error { return &Error{Pos: pos, Err: err} }

// Error is "position: message" on one line.
func (e *Error) Error() string {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	msg = escape.Line(msg)
	if p := e.Pos.String(); p != "" {
		return p + ": " + msg
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found in an input. Add collects, Sort orders by
// position, Err returns nil or the list.
type ErrorList []*Error

// Add appends an error at pos.
func (l *ErrorList) Add(pos Position, msg string) { *l = append(*l, &Error{Pos: pos, Msg: msg}) }

// Addf appends an error at pos with a formatted message.
func (l *ErrorList) Addf(pos Position, format string, args ...any) {
	*l = append(*l, Errorf(pos, format, args...))
}

func (l ErrorList) Len() int      { return len(l) }
func (l ErrorList) Swap(i, j int) { l[i], l[j] = l[j], l[i] }

// Less orders by file, line, then column.
func (l ErrorList) Less(i, j int) bool {
	a, b := l[i].Pos, l[j].Pos
	if a.File != b.File {
		return a.File < b.File
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}

// Sort orders the list by position; errors at the same place keep the
// order they were found in.
func (l ErrorList) Sort() { sort.Stable(l) }

// Err returns nil for an empty list and the list otherwise.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Error is one line: the first error and how many more there are (the whole
// list is for Print).
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %s)", l[0].Error(), more(len(l)-1))
}

func more(n int) string {
	if n == 1 {
		return "1 more error"
	}
	return strconv.Itoa(n) + " more errors"
}

// Unwrap lets errors.Is and errors.As see every error in the list.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Print writes the errors one per line, at most max of them (all when max is
// 0 or less), then "and N more errors" for the rest.
func (l ErrorList) Print(w io.Writer, max int) error {
	n := len(l)
	if max > 0 && n > max {
		n = max
	}
	for _, e := range l[:n] {
		if _, err := fmt.Fprintln(w, e.Error()); err != nil {
			return err
		}
	}
	if rest := len(l) - n; rest > 0 {
		_, err := fmt.Fprintf(w, "and %s\n", more(rest))
		return err
	}
	return nil
}
