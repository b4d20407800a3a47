//go:build linux && amd64

package ebpf

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestRingWrapsInOrder pushes many records through a ring of a few pages,
// so that records wrap around its end hundreds of times, and checks that
// every record read decodes, arrives in order, and that read + dropped
// accounts for every record written.
func TestRingWrapsInOrder(t *testing.T) {
	for _, batch := range []bool{false, true} {
		name := "ReadInto"
		if batch {
			name = "ReadBatch"
		}
		t.Run(name, func(t *testing.T) { ringWrapsInOrder(t, batch) })
	}
}

func ringWrapsInOrder(t *testing.T, batch bool) {
	testutil.RequireBPF(t)
	s, err := Open(Options{Syscalls: []int{unix.SYS_CLOSE}, RingBufferBytes: 4 * os.Getpagesize()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 50_000
	const base = -1_000_000 // close(base-i) fails with EBADF; the fd tags the record
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		got, outOfOrder int
		err             error
	}
	done := make(chan result, 1)
	me := os.Getpid()
	var seen atomic.Int64
	go func() {
		var res result
		last := int64(1)
		var r Record
		check := func(r *Record) error {
			fd := int64(int32(r.Args[0]))
			if int(r.PID) != me || r.Nr != unix.SYS_CLOSE || fd > base || fd <= base-n {
				return nil
			}
			res.got++
			seen.Add(1)
			if fd >= last {
				res.outOfOrder++
			}
			last = fd
			return nil
		}
		for {
			var err error
			if batch {
				err = s.ReadBatch(ctx, &r, check)
			} else if err = s.ReadInto(ctx, &r); err == nil {
				check(&r)
			}
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					res.err = err
				}
				done <- res
				return
			}
		}
	}()
	runtime.LockOSThread()
	for i := 0; i < n; i++ {
		unix.Close(base - i)
	}
	runtime.UnlockOSThread()
	deadline := time.Now().Add(5 * time.Second)
	_, drops, _ := s.Stats()
	for time.Now().Before(deadline) && uint64(seen.Load())+drops < n {
		time.Sleep(20 * time.Millisecond)
		_, drops, _ = s.Stats()
	}
	cancel()
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	t.Logf("%d read, %d dropped of %d", res.got, drops, n)
	if res.outOfOrder != 0 {
		t.Errorf("%d records out of order", res.outOfOrder)
	}
	if uint64(res.got)+drops < n || res.got == 0 {
		t.Errorf("read %d + dropped %d < written %d", res.got, drops, n)
	}
}

// TestRingCloseWakesReader: Close from another goroutine ends a blocked
// read with ErrClosed.
func TestRingCloseWakesReader(t *testing.T) {
	testutil.RequireBPF(t)
	s, err := Open(Options{Syscalls: []int{}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		var r Record
		for {
			if err := s.ReadInto(context.Background(), &r); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	s.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("read after Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reader still blocked 5 s after Close")
	}
}
