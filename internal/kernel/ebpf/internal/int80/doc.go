// Package int80 makes 32-bit (ia32) system calls from a 64-bit process with
// int $0x80, so tests can check that the capture source reads the compat
// ABI's numbers and registers. Only arguments that fit in 32 bits work; it
// exists for tests only.
package int80
