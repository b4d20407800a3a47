// Command capstat runs the capture source alone (default syscall set, every
// record read and decoded, nothing else) and reports what it cost: time to
// ready, events, drops and the process's resident memory. It is the
// measuring stick for the source's own footprint, separate from rules and
// state:
//
//	sudo go run ./internal/kernel/ebpf/cmd/capstat -d 30s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf/cmd/internal/procstat"
)

type report struct {
	ReadyMS    float64 `json:"ready_ms"`
	Seconds    float64 `json:"seconds"`
	Records    uint64  `json:"records_read"`
	Events     uint64  `json:"events_written"`
	Drops      uint64  `json:"drops"`
	RSSMB      float64 `json:"rss_mb"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	RingMB     int     `json:"ring_mb"`
	LeanHeader bool    `json:"lean_header"`
}

func main() {
	d := flag.Duration("d", 10*time.Second, "how long to capture")
	ring := flag.Int("ring-mb", 8, "ring buffer size in MiB (power of two)")
	lean := flag.Bool("lean", false, "lean syscall headers (Options.LeanHeader)")
	flag.Parse()
	if err := run(*d, *ring, *lean); err != nil {
		fmt.Fprintln(os.Stderr, "capstat:", err)
		os.Exit(1)
	}
}

func run(d time.Duration, ringMB int, lean bool) error {
	start := time.Now()
	src, err := ebpf.Open(ebpf.Options{RingBufferBytes: ringMB << 20, IgnoreSelf: true, LeanHeader: lean})
	if err != nil {
		return err
	}
	defer src.Close()
	rep := report{ReadyMS: float64(time.Since(start).Microseconds()) / 1000, RingMB: ringMB, LeanHeader: lean}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	began := time.Now()
	var r ebpf.Record
	for src.ReadInto(ctx, &r) == nil {
		rep.Records++
	}
	rep.Seconds = time.Since(began).Seconds()
	rep.Events, rep.Drops, err = src.Stats()
	if err != nil {
		return err
	}
	rss, peak := procstat.Memory("self")
	rep.RSSMB, rep.PeakRSSMB = rss/1024, peak/1024
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
