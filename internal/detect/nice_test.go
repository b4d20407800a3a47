package detect

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// setNice reaches every thread of the process, not only the caller's (on
// Linux the nice value is per thread).
func TestSetNiceAllThreads(t *testing.T) {
	testutil.RequireRoot(t)
	other := make(chan int)
	release := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		other <- unix.Gettid()
		<-release
	}()
	tid := <-other
	defer close(release)
	before, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		t.Fatal(err)
	}
	defer setNice(20 - before) // the raw syscall returns 20 - nice
	if err := setNice(-3); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{tid, unix.Gettid()} {
		got, err := unix.Getpriority(unix.PRIO_PROCESS, id)
		if err != nil {
			t.Fatal(err)
		}
		if nice := 20 - got; nice != -3 {
			t.Errorf("thread %d: nice %d, want -3", id, nice)
		}
	}
}
