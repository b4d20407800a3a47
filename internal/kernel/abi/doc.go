// Package abi asks which syscall ABIs besides the native one this kernel
// takes, and makes 32-bit (i386) syscalls with int $0x80 from a 64-bit
// process, so tests can check that the capture reads the compat ABI's
// numbers and registers (only arguments that fit in 32 bits work).
//
// A refused ABI can kill the caller (int $0x80 without ia32 emulation is a
// SIGSEGV; a seccomp filter may kill on an x32 number), so each question is
// asked of a child: this program re-run with PALISADE_ABI_PROBE set, which
// the package's init answers before main runs.
package abi
