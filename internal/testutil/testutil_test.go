package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStrictFromEnv(t *testing.T) {
	old, had := os.LookupEnv("PALISADE_STRICT")
	defer func() {
		if had {
			os.Setenv("PALISADE_STRICT", old)
		} else {
			os.Unsetenv("PALISADE_STRICT")
		}
	}()
	os.Setenv("PALISADE_STRICT", "1")
	if !Strict() {
		t.Fatal("PALISADE_STRICT=1 must be strict")
	}
	os.Setenv("PALISADE_STRICT", "")
	if Strict() {
		t.Fatal("empty PALISADE_STRICT must not be strict")
	}
}

// fakeTB records whether a requirement skipped or failed the test, and
// the first message.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = true
	f.note(format, args...)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.note(format, args...)
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.failed = true
	f.note(format, args...)
}
func (f *fakeTB) note(format string, args ...any) {
	if f.msg == "" {
		f.msg = fmt.Sprintf(format, args...)
	}
}

func TestMissingSkipsOrFails(t *testing.T) {
	t.Setenv("PALISADE_STRICT", "")
	f := &fakeTB{}
	missing(f, "x")
	if !f.skipped || f.failed {
		t.Fatalf("non-strict: skipped=%v failed=%v, want skip", f.skipped, f.failed)
	}
	t.Setenv("PALISADE_STRICT", "1")
	f = &fakeTB{}
	missing(f, "x")
	if !f.failed || f.skipped {
		t.Fatalf("strict: skipped=%v failed=%v, want fail", f.skipped, f.failed)
	}
}

func TestRequireFeature(t *testing.T) {
	t.Setenv("PALISADE_STRICT", "1")
	f := &fakeTB{}
	RequireFeature(f, true, "x")
	if f.skipped || f.failed {
		t.Fatal("a present feature stopped the test")
	}
	RequireFeature(f, false, "no %s here", "IPv6")
	if !f.failed || !strings.Contains(f.msg, "no IPv6 here") {
		t.Fatalf("strict, feature missing: failed=%v msg=%q", f.failed, f.msg)
	}
}

func TestRequireInstalled(t *testing.T) {
	t.Setenv("PALISADE_STRICT", "")
	dir := t.TempDir()
	header := filepath.Join(dir, "present.h")
	os.WriteFile(header, nil, 0o644)
	f := &fakeTB{}
	RequireInstalled(f, Need{"sh", "dash"}, Need{header, "libx-dev"})
	if f.skipped || f.failed {
		t.Fatalf("everything present, yet: %q", f.msg)
	}
	RequireInstalled(f, Need{"sh", "dash"}, Need{"palisade-no-such-tool", "tool-a"},
		Need{filepath.Join(dir, "missing.h"), "libx-dev"}, Need{"palisade-no-such-tool-2", "tool-a"})
	want := "needs palisade-no-such-tool, " + filepath.Join(dir, "missing.h") + ", palisade-no-such-tool-2 (Debian: apt-get install tool-a libx-dev)"
	if !f.skipped || !strings.Contains(f.msg, want) {
		t.Fatalf("missing needs: skipped=%v msg=%q, want it to contain %q", f.skipped, f.msg, want)
	}
}

func TestBPF2GoInputs(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want string // inputs joined by spaces, or the error
	}{
		{"package x\n" + bpf2goLine + "-target amd64 -no-global-types execdeny bpf/execdeny.c -- -I./bpf -I../ebpf/bpf -O2 -g\n",
			"bpf/execdeny.c bpf ../ebpf/bpf"},
		{"package x\n" + bpf2goLine + "capture bpf/capture.c -- -I./bpf -O2\n", "bpf/capture.c bpf"},
		{"package x\n" + bpf2goLine + "capture -- -I./bpf\n", "the bpf2go line names no .c source"},
		{"package x\n//go:generate stringer -type X\n", "no line"},
	} {
		args := bpf2goArgs(tc.src)
		got := "no line"
		if args != nil {
			in, err := bpf2goInputs(args)
			got = strings.Join(in, " ")
			if err != nil {
				got = err.Error()
			}
		}
		if got != tc.want {
			t.Errorf("inputs of %q = %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestGolden(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "x.golden")
	ft := &fakeTB{}
	Golden(ft, p, []byte("a\n")) // no file, no -update
	if !ft.failed || !strings.Contains(ft.msg, "go test -update writes it") {
		t.Errorf("missing golden file: failed=%v %q", ft.failed, ft.msg)
	}
	*update = true
	Golden(t, p, []byte("a\nb\x1b\n"))
	*update = false
	Golden(t, p, []byte("a\nb\x1b\n")) // the same: passes
	for _, tc := range []struct{ got, line string }{
		{"a\nc\n", "line 2:\n  got  \"c\"\n  want \"b\\x1b\""},
		{"a\n", "line 2:\n  got  \"\"\n  want \"b\\x1b\""},
		{"a\nb\x1b\nmore", "line 3:\n  got  \"more\"\n  want \"\""},
		{"a\nb\x1b\n\n", "line 4:\n  got  \"\"\n  want (end of file)"},
	} {
		ft := &fakeTB{}
		Golden(ft, p, []byte(tc.got))
		if !ft.failed || !strings.Contains(ft.msg, p+" differs") || !strings.HasSuffix(ft.msg, tc.line) {
			t.Errorf("Golden(%q): failed=%v %q, want it to end %q", tc.got, ft.failed, ft.msg, tc.line)
		}
	}
}
