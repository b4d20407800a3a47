package ebpf

import (
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// The committed bpf2go output must be what the //go:generate line makes of
// bpf/capture.c (CI installs the BPF toolchain the check needs).
func TestGeneratedUpToDate(t *testing.T) {
	testutil.CheckBPF2Go(t, ".", "capture_x86_bpfel.go", "capture_x86_bpfel.o")
}
