//go:build amd64

package abi

// Int80 issues syscall nr of the i386 table with three arguments and
// returns the raw result (a negative errno on failure).
//
//go:noescape
func Int80(nr, a1, a2, a3 uintptr) uintptr
