// Package procstat reads a process's resident memory and CPU time from
// /proc, for the measuring commands beside it.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Memory returns VmRSS and VmHWM of pid ("self" for this process) in kB;
// zero when /proc has no answer.
func Memory(pid string) (rssKB, peakKB float64) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rssKB = kb
		case "VmHWM":
			peakKB = kb
		}
	}
	return rssKB, peakKB
}

// CPU returns the user and system CPU time pid has used.
func CPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	k, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(u+k) * time.Second / 100 // USER_HZ
}
