//go:build !amd64

package abi

// Int80 is only implemented on amd64.
func Int80(nr, a1, a2, a3 uintptr) uintptr { return ^uintptr(37) } // -ENOSYS
