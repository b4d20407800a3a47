package replay

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzReader from the fixtures")

// fuzzSeeds are the inputs the committed corpus is made of: recordings in
// both formats, from the fixtures and the old JSONL sample.
func fuzzSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{
		"jsonl-socket":   []byte(`{"type":"connect","fd":{"num":5,"type":"ipv6","cip":"::1","sip":"::1"}}`),
		"jsonl-comments": []byte("# comment\n\n{\"type\":\"execve\",\"proc\":{\"pid\":1,\"name\":\"x\",\"parent\":{\"pid\":0,\"name\":\"y\"}}}"),
		"binary-empty":   append(magic[:], FormatVersion),
	}
	var j bytes.Buffer
	jw := NewJSONLWriter(&j)
	jw.Write(sample())
	jw.Flush()
	seeds["jsonl-sample"] = j.Bytes()

	var b bytes.Buffer
	w := NewWriter(&b)
	w.Write(sample())
	w.Flush()
	seeds["binary-sample"] = b.Bytes()

	evs, mut := fixtureEvents()
	var fb bytes.Buffer
	w = NewWriter(&fb)
	for i, e := range evs {
		w.Write(e)
		mut[i]()
	}
	w.Flush()
	seeds["binary-fixture"] = fb.Bytes()

	rec, _ := perEventBytes(t, synthWorkload(60))
	seeds["binary-workload"] = rec

	old, err := os.ReadFile("testdata/before.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(old, []byte("\n"))
	seeds["jsonl-before"] = bytes.Join(lines[:3], nil)
	var cb bytes.Buffer
	if _, err := Convert(&cb, NewReader(bytes.NewReader(old), "before")); err != nil {
		t.Fatal(err)
	}
	seeds["binary-before"] = cb.Bytes()
	return seeds
}

// TestFuzzSeedsCommitted keeps the committed corpus in step with the
// format: go test ./internal/replay -update-seeds rewrites it.
func TestFuzzSeedsCommitted(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	for name, in := range fuzzSeeds(t) {
		path := filepath.Join(dir, name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", in)
		if *updateSeeds {
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run go test ./internal/replay -update-seeds)", err)
			continue
		}
		if string(got) != want {
			t.Errorf("%s is out of date (run go test ./internal/replay -update-seeds)", path)
		}
	}
}

// FuzzReader: any input yields events or one error naming the input, never
// a panic or a hang; and whatever reads as events writes and reads back
// the same.
func FuzzReader(f *testing.F) {
	for _, in := range fuzzSeeds(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), "fuzz")
		var evs []*event.Event
		var flat []string
		for i := 0; i < 1000; i++ {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "fuzz:") {
					t.Fatalf("error without the input's name: %v", err)
				}
				return
			}
			if e.Proc != nil {
				e.Proc.Cmdline()
			}
			evs = append(evs, e)
			flat = append(flat, flatten(e))
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, e := range evs {
			if err := w.Write(e); err != nil {
				if errors.Is(err, ErrUnrecordable) {
					return // JSONL takes what the binary format refuses to write
				}
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r = NewReader(&buf, "again")
		for i := range evs {
			e, err := r.Next()
			if err != nil {
				t.Fatalf("event %d does not read back: %v", i, err)
			}
			if g := flatten(e); g != flat[i] {
				t.Fatalf("event %d reads back differently:\n got %s\nwant %s", i, g, flat[i])
			}
		}
	})
}
