package respond

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

var clocks = sync.OnceValues(func() (bootOffset, btimeNS int64) {
	var rt, bt unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &rt)
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt)
	bootOffset = rt.Nano() - bt.Nano()
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "btime "); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				btimeNS = n * 1e9
			}
		}
	}
	return bootOffset, btimeNS
})

// killProcess sends SIGKILL to pid through a pidfd, once it has checked
// that pid is still the process that started at startNS: the pidfd pins
// the process, /proc/PID/stat read after opening it gives the start time,
// and a signal 0 through the pidfd after the read proves the pid was not
// released (and so not reused) in between. It returns errReused or an
// error wrapping ESRCH when the process is gone.
func killProcess(pid, startNS int64) error {
	if startNS == 0 {
		return errNoStart
	}
	fd, err := unix.PidfdOpen(int(pid), 0)
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(fd)
	ticks, err := startTicks(pid)
	if err != nil {
		return err
	}
	if err := unix.PidfdSendSignal(fd, 0, nil, 0); err != nil {
		return fmt.Errorf("pidfd_send_signal %d: %w", pid, err)
	}
	off, btime := clocks()
	if !startMatches(ticks, startNS, off, btime) {
		return errReused
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		return fmt.Errorf("pidfd_send_signal %d: %w", pid, err)
	}
	return nil
}

// startTicks reads field 22 of /proc/PID/stat.
func startTicks(pid int64) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.FormatInt(pid, 10) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("read /proc/%d/stat: %w", pid, unix.ESRCH)
		}
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return strconv.ParseInt(f[19], 10, 64)
}

func isGone(err error) bool { return errors.Is(err, unix.ESRCH) || errors.Is(err, errReused) }
