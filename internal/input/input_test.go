package input

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFileBounds(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	os.WriteFile(small, []byte("hello"), 0o600)
	exact := filepath.Join(dir, "exact")
	os.WriteFile(exact, make([]byte, 1<<10), 0o600)
	ctx := context.Background()
	k := Kind{"test input", 1 << 10}

	if b, err := ReadFile(ctx, small, k); err != nil || string(b) != "hello" {
		t.Fatalf("small: %q %v", b, err)
	}
	if b, err := ReadFile(ctx, exact, k); err != nil || len(b) != 1<<10 {
		t.Fatalf("a file of exactly the limit: %d %v", len(b), err)
	}
	var tl *TooLargeError
	if _, err := ReadFile(ctx, "/dev/zero", k); !errors.As(err, &tl) || tl.Limit != 1<<10 ||
		!strings.Contains(err.Error(), "/dev/zero: test input larger than 1 KiB") {
		t.Fatalf("/dev/zero: %v", err)
	}
	if _, err := ReadFile(WithMaxSize(ctx, 512), exact, k); !errors.As(err, &tl) || tl.Limit != 512 {
		t.Fatalf("--max-input-size lowered: %v", err)
	}
	if b, err := ReadFile(WithMaxSize(ctx, 4<<10), exact, Kind{"x", 16}); err != nil || len(b) != 1<<10 {
		t.Fatalf("--max-input-size raised: %d %v", len(b), err)
	}
	if _, err := ReadFile(ctx, dir, k); !errors.Is(err, ErrDirectory) {
		t.Fatalf("directory: %v", err)
	}
	if _, err := ReadFile(ctx, filepath.Join(dir, "missing"), k); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	name := filepath.Join(dir, "evil\x1b[2J\nname")
	if _, err := ReadFile(ctx, "/dev/zero", Kind{"x", 1}); err == nil {
		t.Fatal("no error")
	} else if e := (&TooLargeError{Name: name, Kind: "x", Limit: 1}).Error(); strings.ContainsAny(e, "\x1b\n") {
		t.Fatalf("raw controls in %q", e)
	}
}

// Reading /dev/zero stops at the bound: what it allocates stays near the
// limit, however long the input.
func TestDevZeroMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadFile(context.Background(), "/dev/zero", Kind{"x", 8 << 20})
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("no error")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 24<<20 {
		t.Fatalf("allocated %d MiB to refuse an 8 MiB limit", got>>20)
	}
}

// A FIFO nobody writes blocks open(2); cancelling the context returns at
// once anyway.
func TestFIFOCancel(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := ReadFile(ctx, fifo, RuleFile)
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	// Unblock the abandoned open so the goroutine ends with the test.
	if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}

// A pipe that keeps the reader waiting (stdin from a terminal) is
// abandoned on cancel too.
func TestReadAllCancel(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	w.Write([]byte("partial"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := ReadAll(ctx, r, "<stdin>", Config); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "64KiB": 64 << 10, "100MiB": 100 << 20, "1GiB": 1 << 30, "2G": 2 << 30, "0": -1, "-5MiB": -1, "MiB": -1, "1.5MiB": -1, "ten": -1, "1 MiB": -1} {
		got, err := ParseSize(in)
		if want < 0 {
			if err == nil {
				t.Errorf("%q accepted as %d", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q = %d, %v; want %d", in, got, err, want)
		}
	}
	if FormatSize(16<<20) != "16 MiB" || FormatSize(1000) != "1000 bytes" {
		t.Error(FormatSize(16<<20), FormatSize(1000))
	}
}
