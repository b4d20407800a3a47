package ebpf

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

var bootOffset = sync.OnceValue(func() int64 {
	var rt, bt unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &rt)
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt)
	return rt.Nano() - bt.Nano()
})

// WallTime converts a Record's CLOCK_BOOTTIME stamp to wall-clock time.
func WallTime(boot uint64) time.Time {
	return time.Unix(0, int64(boot)+bootOffset())
}
