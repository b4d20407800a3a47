package replay

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
)

func readAll(t testing.TB, r *Reader) []*event.Event {
	t.Helper()
	var out []*event.Event
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

// testdata/before.jsonl was written by `palisade watch --record` before the
// binary format (one event of each type and fd type seen on a host). It
// still replays, converts to the binary format and back without a change
// any field could see.
func TestOldJSONLRecording(t *testing.T) {
	f, err := os.Open("testdata/before.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReader(f, "testdata/before.jsonl")
	old := readAll(t, r)
	if fm, _ := r.Format(); fm != FormatJSONL {
		t.Fatalf("format %q, want jsonl", fm)
	}
	if len(old) != 19 {
		t.Fatalf("%d events, want 19", len(old))
	}
	e := old[0]
	if e.Type.String() != "openat" || e.Num != 7 || e.Proc.Name != "go" || e.Proc.Parent.Parent.Name != "process_api" ||
		e.FD.Type != event.FDFile || e.Hostname != "vm" || e.Proc.LoginUID != -1 {
		t.Fatalf("first event read wrong: %s", flatten(e))
	}

	var bin bytes.Buffer
	f.Seek(0, io.SeekStart)
	n, err := Convert(&bin, NewReader(f, "testdata/before.jsonl"))
	if err != nil || n != len(old) {
		t.Fatalf("convert: %d events, %v", n, err)
	}
	xs, _ := extractors(t)
	conv := readAll(t, NewReader(bytes.NewReader(bin.Bytes()), "converted"))
	if len(conv) != len(old) {
		t.Fatalf("converted: %d events, want %d", len(conv), len(old))
	}
	for i := range old {
		if g, w := flatten(conv[i]), flatten(old[i]); g != w {
			t.Errorf("event %d converted:\n got %s\nwant %s", i, g, w)
		}
		for k, x := range xs {
			if g, w := must(values(x, conv[i])), must(values(x, old[i])); g != w {
				t.Errorf("event %d: %s = %s, want %s", i, k, g, w)
			}
		}
	}
	if bin.Len()*4 > 68950 {
		t.Errorf("binary is %d bytes for a 68,950-byte JSONL sample: not compact", bin.Len())
	}

	// And back to JSONL: the export reads as the original did.
	var back bytes.Buffer
	if _, err := ExportJSONL(&back, NewReader(bytes.NewReader(bin.Bytes()), "converted")); err != nil {
		t.Fatal(err)
	}
	again := readAll(t, NewReader(&back, "exported"))
	for i := range old {
		if g, w := flatten(again[i]), flatten(old[i]); g != w {
			t.Errorf("event %d exported:\n got %s\nwant %s", i, g, w)
		}
	}
}

func must(s string, _ bool) string { return s }

// Malformed binary recordings give one error naming the file, the record
// and its offset.
func TestBinaryReaderErrors(t *testing.T) {
	var good bytes.Buffer
	w := NewWriter(&good)
	w.Write(sample())
	w.Flush()
	g := good.Bytes()
	hdr := len(magic) + 1
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"cut header", magic[:5], "f: byte 0: not a Palisade recording"},
		{"newer version", append(append([]byte{}, magic[:]...), FormatVersion+1), fmt.Sprintf("f: byte 8: recording format version %d; this palisade reads versions 1 to %d", FormatVersion+1, FormatVersion)},
		{"cut record", g[:len(g)-3], "f: record 4 at byte"},
		{"unknown kind", append(append([]byte{}, g[:hdr]...), 9, 0), "f: record 1 at byte 9: unknown record kind 9"},
		{"huge record", append(append([]byte{}, g[:hdr]...), kindEvent, 0xff, 0xff, 0xff, 0xff, 0x0f), "exceeds the format's"},
		{"undefined process", append(append([]byte{}, g[:hdr]...), kindEvent, 10, evHasProc, 0, 0, 0, 4<<2|2, 'o', 'p', 'e', 'n', 5), "process 5 is not defined"},
		{"bad string ref", append(append([]byte{}, g[:hdr]...), kindEvent, 5, 0, 0, 0, 0, 9), "string 4 is not in the table"},
		{"left over", append(append([]byte{}, g[:hdr]...), kindReset, 1, 0), "1 bytes left over"},
		{"bad type", append(append([]byte{}, g[:hdr]...), kindEvent, 8, 0, 0, 0, 0, 3<<2|2, 'A', '-', 'B'), `event type "A-B" is not a syscall name`},
	} {
		var err error
		r := NewReader(bytes.NewReader(tc.in), "f")
		for i := 0; i < 10 && err == nil; i++ {
			_, err = r.Next()
		}
		if err == nil || err == io.EOF || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "f: ") {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	// Extension records (kind >= 0x80) are skipped.
	ext := append(append([]byte{}, g[:hdr]...), 0x90, 2, 1, 2)
	ext = append(ext, g[hdr:]...)
	if evs := readAll(t, NewReader(bytes.NewReader(ext), "ext")); len(evs) != 1 {
		t.Errorf("with an extension record: %d events, want 1", len(evs))
	}
	// An empty recording is valid and has no events.
	var empty bytes.Buffer
	NewWriter(&empty).Flush()
	size := empty.Len()
	if evs := readAll(t, NewReader(&empty, "empty")); len(evs) != 0 || size != len(magic)+1 {
		t.Errorf("empty recording: %d events, %d bytes", len(evs), size)
	}
}
