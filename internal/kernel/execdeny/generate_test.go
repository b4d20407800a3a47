package execdeny

import (
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// The committed bpf2go output must be what the //go:generate line makes of
// bpf/execdeny.c (with the capture's vmlinux.h).
func TestGeneratedUpToDate(t *testing.T) {
	testutil.CheckBPF2Go(t, ".", "execdeny_x86_bpfel.go", "execdeny_x86_bpfel.o")
}
