package abi

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// elf32Exit0 is a complete i386 program: one PT_LOAD segment whose code is
// `mov eax, 1; xor ebx, ebx; int $0x80` (exit(0)). 93 bytes, built here
// rather than shipped as a blob so every byte is explained.
func elf32Exit0() []byte {
	const base = 0x08048000
	const ehsize, phsize = 52, 32
	code := []byte{0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xdb, 0xcd, 0x80}
	size := uint32(ehsize + phsize + len(code))
	b := make([]byte, 0, size)
	le := binary.LittleEndian
	b = append(b, 0x7f, 'E', 'L', 'F', 1 /* ELFCLASS32 */, 1 /* LSB */, 1 /* EV_CURRENT */, 0 /* SYSV */)
	b = append(b, make([]byte, 8)...)
	b = le.AppendUint16(b, 2)                  // e_type: ET_EXEC
	b = le.AppendUint16(b, 3)                  // e_machine: EM_386
	b = le.AppendUint32(b, 1)                  // e_version
	b = le.AppendUint32(b, base+ehsize+phsize) // e_entry: the code
	b = le.AppendUint32(b, ehsize)             // e_phoff
	b = le.AppendUint32(b, 0)                  // e_shoff
	b = le.AppendUint32(b, 0)                  // e_flags
	b = le.AppendUint16(b, ehsize)             // e_ehsize
	b = le.AppendUint16(b, phsize)             // e_phentsize
	b = le.AppendUint16(b, 1)                  // e_phnum
	b = le.AppendUint16(b, 0)                  // e_shentsize
	b = le.AppendUint16(b, 0)                  // e_shnum
	b = le.AppendUint16(b, 0)                  // e_shstrndx
	b = le.AppendUint32(b, 1)                  // p_type: PT_LOAD
	b = le.AppendUint32(b, 0)                  // p_offset
	b = le.AppendUint32(b, base)               // p_vaddr
	b = le.AppendUint32(b, base)               // p_paddr
	b = le.AppendUint32(b, size)               // p_filesz
	b = le.AppendUint32(b, size)               // p_memsz
	b = le.AppendUint32(b, 5)                  // p_flags: R|X
	b = le.AppendUint32(b, 0x1000)             // p_align
	return append(b, code...)
}

var exec32 = sync.OnceValues(func() (bool, string) {
	if runtime.GOARCH != "amd64" {
		return false, "an x86_64 ABI, not on " + runtime.GOARCH
	}
	dir, err := os.MkdirTemp("", "palisade-elf32-")
	if err != nil {
		return false, "cannot write a 32-bit program to try: " + err.Error()
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "exit0")
	if err := os.WriteFile(p, elf32Exit0(), 0o700); err != nil {
		return false, "cannot write a 32-bit program to try: " + err.Error()
	}
	err = exec.Command(p).Run()
	if err == nil {
		return true, ""
	}
	if errors.Is(err, unix.ENOEXEC) {
		return false, "execve of a 32-bit ELF: ENOEXEC"
	}
	return false, "a 32-bit ELF did not exit 0: " + err.Error()
})

// ExecI386 reports whether this kernel runs a 32-bit (i386) ELF program,
// tried once with a 93-byte program that exits 0. A kernel with no i386
// ABI at all (ia32_emulation off, or a hypervisor without it) refuses the
// execve with ENOEXEC; why says how it failed.
func ExecI386() (ok bool, why string) { return exec32() }

// NoI386 reports whether this kernel demonstrably has no i386 ABI: int
// $0x80 from a 64-bit process does not work AND a 32-bit program cannot
// even be started (ENOEXEC). Only then can no process on the host make a
// compat syscall, so there is nothing of that ABI to capture or filter.
func NoI386() (absent bool, why string) {
	if ok, w := IA32(); ok {
		return false, ""
	} else if ok32, w32 := ExecI386(); !ok32 && w32 == "execve of a 32-bit ELF: ENOEXEC" {
		return true, "int $0x80: " + w + "; " + w32
	}
	return false, ""
}
