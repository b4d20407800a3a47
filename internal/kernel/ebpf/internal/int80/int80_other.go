//go:build !amd64

package int80

// Syscall is only implemented on amd64.
func Syscall(nr, a1, a2, a3 uintptr) uintptr { return ^uintptr(37) } // -ENOSYS
