//go:build amd64

package int80

// Syscall issues syscall nr of the i386 table with three arguments and
// returns the raw result (a negative errno on failure).
//
//go:noescape
func Syscall(nr, a1, a2, a3 uintptr) uintptr
