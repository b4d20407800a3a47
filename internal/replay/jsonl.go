package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/palisade-sec/palisade/internal/event"
)

// maxLine bounds one event line (a hostile file cannot make us buffer
// without limit).
const maxLine = 4 << 20

// LineError reports a bad line with its position.
type LineError struct {
	File string
	Line int
	Col  int
	Err  error
}

func (e *LineError) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Col, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// jsonlReader decodes the JSONL format line by line.
type jsonlReader struct {
	name string
	sc   *bufio.Scanner
	line int
}

func newJSONLReader(r io.Reader, name string) *jsonlReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	return &jsonlReader{name: name, sc: sc}
}

// next returns the next event, or io.EOF. Blank lines and lines starting
// with '#' are skipped.
func (r *jsonlReader) next() (*event.Event, error) {
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimSpace(r.sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		var j jsonEvent
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err != nil {
			col := 0
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(err, &se):
				col = int(se.Offset)
			case errors.As(err, &te):
				col = int(te.Offset)
			}
			return nil, &LineError{File: r.name, Line: r.line, Col: col, Err: fmt.Errorf("invalid event: %v", err)}
		}
		if dec.More() {
			return nil, &LineError{File: r.name, Line: r.line, Err: errors.New("invalid event: more than one JSON value on the line")}
		}
		e, err := j.toEvent()
		if err != nil {
			return nil, &LineError{File: r.name, Line: r.line, Err: fmt.Errorf("invalid event: %v", err)}
		}
		if e.Num == 0 {
			e.Num = uint64(r.line)
		}
		return e, nil
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &LineError{File: r.name, Line: r.line + 1, Err: fmt.Errorf("line longer than %d bytes", maxLine)}
		}
		return nil, fmt.Errorf("read %s: %w", r.name, err)
	}
	return nil, io.EOF
}

// JSONLWriter encodes events one per line, each self-contained (the
// export format; Writer is the recording format). It is safe for
// concurrent use.
type JSONLWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

// NewJSONLWriter writes the JSONL event format to w.
func NewJSONLWriter(w io.Writer) *JSONLWriter { return &JSONLWriter{w: bufio.NewWriter(w)} }

// Write appends one event.
func (w *JSONLWriter) Write(e *event.Event) error {
	b, err := json.Marshal(fromEvent(e))
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(b); err != nil {
		return err
	}
	return w.w.WriteByte('\n')
}

// Flush writes buffered events.
func (w *JSONLWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Flush()
}
