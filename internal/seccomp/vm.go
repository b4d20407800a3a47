package seccomp

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/net/bpf"
)

// Bytes lays seccomp_data out as the kernel does on a little-endian machine.
func (d SeccompData) Bytes() []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[0:], d.Nr)
	binary.LittleEndian.PutUint32(b[4:], d.Arch)
	binary.LittleEndian.PutUint64(b[8:], d.IP)
	for i, a := range d.Args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// Run interprets a seccomp program over d the way the kernel does (32-bit
// native-endian loads from seccomp_data) and returns the action and the
// number of instructions executed.
func Run(prog []bpf.RawInstruction, d SeccompData) (Action, int, error) {
	act, n, _, err := run(prog, d)
	return act, n, err
}

// run also reports whether the program looked past nr and arch (at the
// instruction pointer or arguments), which stops the kernel from caching
// the decision.
func run(prog []bpf.RawInstruction, d SeccompData) (Action, int, bool, error) {
	data := d.Bytes()
	lookedPast := false
	var a, x uint32
	var mem [16]uint32
	steps := 0
	for pc := 0; pc < len(prog); pc++ {
		steps++
		ins := prog[pc]
		k := ins.K
		src := k
		if ins.Op&0x08 != 0 { // BPF_X
			src = x
		}
		switch ins.Op & 0x07 {
		case 0x00, 0x01: // LD, LDX
			var v uint32
			switch ins.Op & 0xe0 {
			case 0x20: // ABS
				if ins.Op&0x18 != 0x00 || k%4 != 0 || k > 60 {
					return 0, steps, lookedPast, fmt.Errorf("pc %d: bad load %#x off %d", pc, ins.Op, k)
				}
				v = binary.LittleEndian.Uint32(data[k:])
				if k >= 8 {
					lookedPast = true
				}
			case 0x00: // IMM
				v = k
			case 0x60: // MEM
				if k >= 16 {
					return 0, steps, lookedPast, fmt.Errorf("pc %d: bad scratch slot %d", pc, k)
				}
				v = mem[k]
			case 0x80: // LEN
				v = uint32(len(data))
			default:
				return 0, steps, lookedPast, fmt.Errorf("pc %d: unsupported load %#x", pc, ins.Op)
			}
			if ins.Op&0x07 == 0x00 {
				a = v
			} else {
				x = v
			}
		case 0x02, 0x03: // ST, STX
			if k >= 16 {
				return 0, steps, lookedPast, fmt.Errorf("pc %d: bad scratch slot %d", pc, k)
			}
			if ins.Op&0x07 == 0x02 {
				mem[k] = a
			} else {
				mem[k] = x
			}
		case 0x04: // ALU
			switch ins.Op & 0xf0 {
			case 0x00:
				a += src
			case 0x10:
				a -= src
			case 0x20:
				a *= src
			case 0x30:
				if src == 0 {
					return 0, steps, lookedPast, nil
				}
				a /= src
			case 0x40:
				a |= src
			case 0x50:
				a &= src
			case 0x60:
				a <<= src & 31
			case 0x70:
				a >>= src & 31
			case 0x80:
				a = -a
			case 0x90:
				if src == 0 {
					return 0, steps, lookedPast, nil
				}
				a %= src
			case 0xa0:
				a ^= src
			default:
				return 0, steps, lookedPast, fmt.Errorf("pc %d: unsupported alu %#x", pc, ins.Op)
			}
		case 0x05: // JMP
			op := ins.Op & 0xf0
			if op == 0x00 {
				pc += int(k)
				break
			}
			var ok bool
			switch op {
			case 0x10:
				ok = a == src
			case 0x20:
				ok = a > src
			case 0x30:
				ok = a >= src
			case 0x40:
				ok = a&src != 0
			default:
				return 0, steps, lookedPast, fmt.Errorf("pc %d: unsupported jump %#x", pc, ins.Op)
			}
			if ok {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case 0x06: // RET
			if ins.Op&0x18 == 0x10 {
				return Action(a), steps, lookedPast, nil
			}
			return Action(k), steps, lookedPast, nil
		case 0x07: // MISC
			if ins.Op&0xf8 == 0x00 {
				x = a
			} else {
				a = x
			}
		}
	}
	return 0, steps, lookedPast, fmt.Errorf("fell off the end of the program")
}
