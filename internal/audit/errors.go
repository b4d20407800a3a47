package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// InputError is a problem with one input file, with a position when known.
type InputError struct {
	File      string
	Line, Col int
	Err       error
}

func (e *InputError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Col, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// ErrNotRecognized says a file is not in any format palisade audits.
var ErrNotRecognized = errors.New("not a docker inspect dump, compose file, Kubernetes manifest or OCI config.json")

// LineCol converts a byte offset in data to a 1-based line and column.
func LineCol(data []byte, off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// JSONError turns an encoding/json error into an InputError with the
// position of the offending byte.
func JSONError(file string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		l, c := LineCol(data, se.Offset-1) // Offset is just past the bad byte
		return &InputError{File: file, Line: l, Col: c, Err: fmt.Errorf("invalid JSON: %v", se)}
	case errors.As(err, &te):
		l, c := LineCol(data, te.Offset)
		return &InputError{File: file, Line: l, Col: c, Err: fmt.Errorf("%s: cannot use JSON %s as %s", te.Field, te.Value, te.Type)}
	}
	return &InputError{File: file, Err: err}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// YAMLError turns a YAML parser error ("yaml: line 3: ...") into an
// InputError; lineOffset is added for documents that start further down a
// multi-document file.
func YAMLError(file string, lineOffset int, err error) error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &InputError{File: file, Line: n + lineOffset, Err: fmt.Errorf("invalid YAML: %s", m[2])}
	}
	return &InputError{File: file, Line: lineOffset + 1, Err: fmt.Errorf("invalid YAML: %v", err)}
}
