//go:build !linux

package ebpf

import "time"

// WallTime converts a Record's CLOCK_BOOTTIME stamp to wall-clock time;
// off Linux there is no boot clock to anchor it, so it is taken as is.
func WallTime(boot uint64) time.Time { return time.Unix(0, int64(boot)) }
