package replay

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/palisade-sec/palisade/internal/event"
)

// Format names a recording's encoding.
type Format string

// Recording formats.
const (
	FormatBinary Format = "binary"
	FormatJSONL  Format = "jsonl"
)

// Reader decodes a recording in either format, told apart by its first
// bytes: the binary magic, or anything else as JSONL.
type Reader struct {
	name   string
	br     *bufio.Reader
	format Format
	bin    *binReader
	jsonl  *jsonlReader
	err    error
}

// NewReader reads a recording (binary or JSONL); name is used in errors.
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{name: name, br: bufio.NewReaderSize(r, 64<<10)}
}

// Format reports the recording's format; it reads the first bytes when
// Next has not been called yet.
func (r *Reader) Format() (Format, error) {
	if r.format == "" && r.err == nil {
		r.err = r.detect()
	}
	return r.format, r.err
}

func (r *Reader) detect() error {
	head, err := r.br.Peek(len(magic))
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("read %s: %w", r.name, err)
	}
	if !bytes.HasPrefix(head, magic[:1]) {
		r.format, r.jsonl = FormatJSONL, newJSONLReader(r.br, r.name)
		return nil
	}
	if !bytes.Equal(head, magic[:]) {
		return &RecordError{File: r.name, Err: errors.New("not a Palisade recording: the header is damaged or cut short")}
	}
	r.br.Discard(len(magic))
	v, err := readUvarint(r.br)
	if err != nil {
		return &RecordError{File: r.name, Offset: int64(len(magic)), Err: fmt.Errorf("format version: %w", err)}
	}
	if v == 0 || v > FormatVersion {
		return &RecordError{File: r.name, Offset: int64(len(magic)), Err: fmt.Errorf("recording format version %d; this palisade reads versions 1 to %d", v, FormatVersion)}
	}
	r.format = FormatBinary
	r.bin = &binReader{name: r.name, br: r.br, off: int64(len(magic) + uvarintLen(v)), version: v}
	return nil
}

// Next returns the next event, or io.EOF after the last. Events share
// their Process and Container values; treat them as read-only.
func (r *Reader) Next() (*event.Event, error) {
	if r.format == "" && r.err == nil {
		r.err = r.detect()
	}
	switch {
	case r.err != nil:
		return nil, r.err
	case r.bin != nil:
		return r.bin.next()
	default:
		return r.jsonl.next()
	}
}

// ExportJSONL writes every remaining event of r to dst in the JSONL format
// (one self-contained object per line) and returns how many it wrote.
func ExportJSONL(dst io.Writer, r *Reader) (int, error) {
	return copyEvents(NewJSONLWriter(dst), r)
}

// Convert writes every remaining event of r to dst in the binary format
// (an old JSONL recording made compact) and returns how many it wrote.
func Convert(dst io.Writer, r *Reader) (int, error) {
	return copyEvents(NewWriter(dst), r)
}

// copyEvents writes every remaining event of r to w, then flushes it.
func copyEvents(w interface {
	Write(*event.Event) error
	Flush() error
}, r *Reader) (int, error) {
	n := 0
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		if err := w.Write(e); err != nil {
			return n, err
		}
		n++
	}
	return n, w.Flush()
}

func readUvarint(br *bufio.Reader) (uint64, error) {
	v, err := binary.ReadUvarint(br)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return v, err
}
