package ebpf

import (
	"fmt"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/kernel"
)

// CheckOpen loads and attaches the real event source with no syscalls
// selected, then closes it: the proof that live capture runs on this host,
// which the probes in internal/kernel can only predict.
func CheckOpen() kernel.Check {
	c := kernel.Check{Name: "capture"}
	start := time.Now()
	src, err := Open(Options{Syscalls: []int{}})
	if err != nil {
		detail, _, _ := strings.Cut(err.Error(), "\n")
		c.Status, c.Detail = kernel.Fail, detail
		c.Fix = "fix the failed checks above; run as root on Linux 5.8+ with BTF"
		return c
	}
	took := time.Since(start)
	src.Close()
	c.Status = kernel.OK
	c.Detail = fmt.Sprintf("event source loaded and attached in %d ms", took.Milliseconds())
	return c
}
