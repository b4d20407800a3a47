package input

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/palisade-sec/palisade/internal/escape"
)

// Kind is a kind of input and the most Palisade reads of one by default.
type Kind struct {
	Name  string
	Limit int64
}

// The limits sit far above real inputs (Falco's largest rule file is 95 KiB,
// Docker's default seccomp profile 30 KiB) and low enough that loading the
// largest accepted rules or profile stays under 200 MB of memory (a valid
// 4 MiB rules file takes 176 MB) and a few seconds.
var (
	RuleFile        = Kind{"rules file", 2 << 20}
	SeccompProfile  = Kind{"seccomp profile", 1 << 20}
	AppArmorSpec    = Kind{"AppArmor spec", 1 << 20}
	AppArmorProfile = Kind{"AppArmor profile", 1 << 20}
	Manifest        = Kind{"manifest", 32 << 20}
	Recording       = Kind{"recording", 16 << 20}
	Baseline        = Kind{"baseline", 16 << 20}
	Config          = Kind{"config file", 1 << 20}
)

// Kinds lists every kind, for help texts and docs.
var Kinds = []Kind{RuleFile, SeccompProfile, AppArmorSpec, AppArmorProfile, Manifest, Recording, Baseline, Config}

// TooLargeError says an input passed its limit; reading stopped there.
type TooLargeError struct {
	Name  string
	Kind  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	msg := fmt.Sprintf("%s larger than %s (stopped reading; raise the limit with --max-input-size)", e.Kind, FormatSize(e.Limit))
	if e.Name == "" { // the caller names the input itself
		return msg
	}
	return escape.Line(e.Name) + ": " + msg
}

// ErrDirectory is returned for a directory where a file was expected.
var ErrDirectory = errors.New("is a directory")

type maxSizeKey struct{}

// WithMaxSize makes every read under ctx use limit n instead of its kind's
// default (n <= 0 keeps the defaults).
func WithMaxSize(ctx context.Context, n int64) context.Context {
	if n <= 0 {
		return ctx
	}
	return context.WithValue(ctx, maxSizeKey{}, n)
}

// Limit is the limit that applies to k under ctx.
func Limit(ctx context.Context, k Kind) int64 {
	if n, ok := ctx.Value(maxSizeKey{}).(int64); ok {
		return n
	}
	return k.Limit
}

// ReadFile reads the file at path ("-" is not special here; see ReadAll).
// Opening and reading happen off the caller's goroutine so a FIFO without a
// writer, or a device that never answers, is abandoned when ctx ends.
func ReadFile(ctx context.Context, path string, k Kind) ([]byte, error) {
	return readAbandonable(ctx, func() ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, &fs.PathError{Op: "read", Path: path, Err: ErrDirectory}
		}
		return readBounded(ctx, f, path, k)
	})
}

// ReadAll reads r (stdin, typically) up to k's limit; name is used in
// messages. Like ReadFile it returns as soon as ctx ends.
func ReadAll(ctx context.Context, r io.Reader, name string, k Kind) ([]byte, error) {
	return readAbandonable(ctx, func() ([]byte, error) { return readBounded(ctx, r, name, k) })
}

// readAbandonable runs read in a goroutine and stops waiting for it when
// ctx ends. The goroutine may stay blocked in a read the kernel will not
// interrupt; the process is about to exit then.
func readAbandonable(ctx context.Context, read func() ([]byte, error)) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := read()
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		return r.b, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// chunk is how much is read at a time. Chunks are kept apart and joined
// once at the end, so refusing an oversized input costs about its limit in
// memory, not the two or three times a doubling buffer would.
const chunk = 1 << 20

func readBounded(ctx context.Context, r io.Reader, name string, k Kind) ([]byte, error) {
	limit := Limit(ctx, k)
	var chunks [][]byte
	var total int64
	for {
		size := int64(chunk)
		if room := limit + 1 - total; room < size {
			size = room
		}
		if len(chunks) == 0 && size > 64<<10 {
			size = 64 << 10 // most inputs are small
		}
		buf := make([]byte, size)
		n, err := io.ReadFull(r, buf)
		total += int64(n)
		if n > 0 {
			chunks = append(chunks, buf[:n])
		}
		if total > limit {
			return nil, &TooLargeError{Name: name, Kind: k.Name, Limit: limit}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			if len(chunks) == 1 {
				return chunks[0], nil
			}
			out := make([]byte, 0, total)
			for _, c := range chunks {
				out = append(out, c...)
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// FormatSize writes n in the largest binary unit that divides it.
func FormatSize(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.m && n%u.m == 0 {
			return fmt.Sprintf("%d %s", n/u.m, u.s)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// ParseSize reads a size written 1048576, 64KiB, 100MiB or 1GiB (K, M, G
// and KB, MB, GB are powers of 1024 too).
func ParseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if len(s) > len(u.suffix) && s[len(s)-len(u.suffix):] == u.suffix {
			num, mult = s[:len(s)-len(u.suffix)], u.m
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(num, "%d", &n); err != nil || fmt.Sprint(n) != num || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q (want e.g. 64MiB)", s)
	}
	return n * mult, nil
}
