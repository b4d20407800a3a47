package respond

import "errors"

// errReused means the pid now names another process than the event's.
var errReused = errors.New("the pid now names another process (start time differs)")

// errNoStart means the event's process has no start time to check the pid
// against: it is not killed.
var errNoStart = errors.New("the process's start time is unknown, so its pid cannot be proved to be the event's")

// tick is the unit of /proc/PID/stat's starttime (USER_HZ).
const tick = int64(10_000_000)

// startMatches reports whether a process whose /proc/PID/stat starttime is
// ticks (clock ticks since boot) is the one the state saw start at startNS
// (Unix ns). The state has the start time in one of two forms: from a
// fork record, the kernel's boot clock plus bootOffset (the realtime minus
// boottime offset), a few microseconds after the kernel's own stamp; or,
// for a process read from /proc, btime (whole seconds, /proc/stat) plus
// ticks, exactly. A pid reused by another process within the slack would
// need the pid space to wrap in 20 ms.
func startMatches(ticks, startNS, bootOffset, btimeNS int64) bool {
	if startNS == btimeNS+ticks*tick {
		return true
	}
	kernel := ticks*tick + bootOffset // the kernel's stamp, truncated to a tick
	d := startNS - kernel
	return d >= -20_000_000 && d <= tick+20_000_000
}
