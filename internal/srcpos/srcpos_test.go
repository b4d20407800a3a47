package srcpos

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestPositionString(t *testing.T) {
	for _, tc := range []struct {
		p    Position
		want string
	}{
		{Position{}, ""},
		{Position{File: "f"}, "f"},
		{Position{File: "f", Line: 3}, "f:3"},
		{Position{File: "f", Line: 3, Col: 7}, "f:3:7"},
		{Position{Line: 3, Col: 7}, "3:7"},
		{Position{File: "f", Col: 7}, "f"}, // a column without a line says nothing
		{Position{File: "a\nb:1:1: forged", Line: 2, Col: 1}, `a\nb:1:1: forged:2:1`},
		{Position{File: "x\u202ey", Line: 1}, `x\u202ey:1`},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestAt(t *testing.T) {
	data := []byte("ab\ncd\n\nef")
	for _, tc := range []struct {
		off       int64
		line, col int
	}{
		{-5, 1, 1}, {0, 1, 1}, {1, 1, 2}, {2, 1, 3}, {3, 2, 1}, {5, 2, 3}, {6, 3, 1}, {7, 4, 1}, {9, 4, 3}, {100, 4, 3},
	} {
		if got := At("f", data, tc.off); got != (Position{"f", tc.line, tc.col}) {
			t.Errorf("At(%d) = %v, want f:%d:%d", tc.off, got, tc.line, tc.col)
		}
	}
}

func TestErrorOneLine(t *testing.T) {
	for _, tc := range []struct {
		e    *Error
		want string
	}{
		{&Error{Pos: Position{"f.yaml", 2, 5}, Msg: "bad"}, "f.yaml:2:5: bad"},
		{&Error{Msg: "no position"}, "no position"},
		{&Error{Pos: Position{File: "f"}, Msg: `unknown key "a\nb"`}, `f: unknown key "a\nb"`}, // %q-quoted parts read as before
		{&Error{Pos: Position{File: `C:\x\y`}, Msg: "m"}, `C:\x\y: m`},
		{&Error{Pos: Position{File: "f", Line: 1}, Msg: "value 00\n\n0 is bad"}, `f:1: value 00\n\n0 is bad`},
		{&Error{Pos: Position{File: "f"}, Msg: "\x1b[2Jclear\u202eevil"}, `f: \x1b[2Jclear\u202eevil`},
		{Wrap(Position{File: "f", Line: 4}, errors.New("cause\r\nline")), `f:4: cause\r\nline`},
		{Errorf(Position{File: "f", Line: 1, Col: 2}, "want %d, got %q", 3, "x"), `f:1:2: want 3, got "x"`},
	} {
		got := tc.e.Error()
		if got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if strings.ContainsAny(got, "\n\r") {
			t.Errorf("Error() spans lines: %q", got)
		}
	}
}

func TestErrorUnwrap(t *testing.T) {
	e := Wrap(Position{File: "f"}, fs.ErrNotExist)
	if !errors.Is(e, fs.ErrNotExist) {
		t.Fatal("errors.Is does not reach the cause")
	}
	l := ErrorList{{Msg: "first"}, e}
	if !errors.Is(l, fs.ErrNotExist) {
		t.Fatal("errors.Is does not reach a cause inside a list")
	}
	var pe *Error
	if !errors.As(error(l), &pe) || pe.Msg != "first" {
		t.Fatalf("errors.As on a list = %v", pe)
	}
}

func TestErrorList(t *testing.T) {
	var l ErrorList
	if l.Err() != nil {
		t.Fatal("empty list is an error")
	}
	l.Add(Position{"b", 1, 1}, "b1")
	l.Addf(Position{"a", 9, 1}, "a%d", 9)
	l.Add(Position{"a", 2, 8}, "a2.8")
	l.Add(Position{"a", 2, 3}, "a2.3 first")
	l.Add(Position{"a", 2, 3}, "a2.3 second")
	l.Add(Position{"a", 0, 0}, "a whole file")
	l.Sort()
	var got []string
	for _, e := range l {
		got = append(got, e.Msg)
	}
	if want := "a whole file,a2.3 first,a2.3 second,a2.8,a9,b1"; strings.Join(got, ",") != want {
		t.Fatalf("sorted %v, want %s", got, want)
	}
	if err := l.Err(); err == nil || err.Error() != "a: a whole file (and 5 more errors)" {
		t.Fatalf("Err() = %v", err)
	}
	if got := l[:2].Error(); got != "a: a whole file (and 1 more error)" {
		t.Fatalf("two errors: %q", got)
	}
	if got := l[:1].Error(); got != "a: a whole file" {
		t.Fatalf("one error: %q", got)
	}
	var b strings.Builder
	if err := l.Print(&b, 2); err != nil {
		t.Fatal(err)
	}
	if want := "a: a whole file\na:2:3: a2.3 first\nand 4 more errors\n"; b.String() != want {
		t.Fatalf("Print(2) = %q, want %q", b.String(), want)
	}
	b.Reset()
	l[:3].Print(&b, 0)
	if got := strings.Count(b.String(), "\n"); got != 3 || strings.Contains(b.String(), "more") {
		t.Fatalf("Print(0) = %q", b.String())
	}
}

// An ErrorList's Error is one line whatever the messages hold.
func FuzzErrorLine(f *testing.F) {
	f.Add("f.yaml", "msg", 1, 1, 2)
	f.Add("a\nb", "00\n\n0", 3, 0, 1)
	f.Add("\u202e", "\x1b]0;t\x07", 0, 0, 3)
	f.Fuzz(func(t *testing.T, file, msg string, line, col, n int) {
		var l ErrorList
		for i := 0; i < n%8+1; i++ {
			l.Add(Position{file, line, col}, msg)
		}
		s := l.Error()
		if !utf8.ValidString(s) {
			t.Fatalf("error is not valid UTF-8: %q", s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
				t.Fatalf("error spans lines or hides text: %q", s)
			}
		}
		var b strings.Builder
		l.Print(&b, 0)
		if got := strings.Count(b.String(), "\n"); got != len(l) {
			t.Fatalf("Print wrote %d lines for %d errors: %q", got, len(l), b.String())
		}
	})
}
