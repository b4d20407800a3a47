package confine

import (
	"context"
	"os"
	"testing"
)

// BenchmarkRunProbes measures the whole probe table (16 child processes).
func BenchmarkRunProbes(b *testing.B) {
	for b.Loop() {
		RunProbes(context.Background(), testProbeCommand, Env{Kernel: KernelRelease()})
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/table")
}

// BenchmarkMountFindings parses and classifies a 68-line mount table.
func BenchmarkMountFindings(b *testing.B) {
	text, err := os.ReadFile("testdata/misconfigured.mountinfo")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ms, err := ParseMountinfo("m", string(text))
		if err != nil {
			b.Fatal(err)
		}
		MountFindings(ms)
	}
}
