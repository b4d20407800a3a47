package record

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/syscalls"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// Every syscall the capture decodes, natively and in the i386 ABI,
// succeeding and failing, gives the recording in
// testdata/every.golden.json: what the builder takes from each call is
// pinned while the per-syscall facts move.
func TestBuilderEverySyscall(t *testing.T) {
	b := NewBuilder()
	add := func(r ebpf.Record) { b.Add(&r) }
	for _, nr := range ebpf.DefaultSyscalls() {
		name, _ := syscalls.Name("x86_64", nr)
		for _, ret := range []int64{0, 7, -115, -13} {
			for v, args := range [][6]uint64{{2, 0x80042, 0o755, 3, 4, 5}, {0x7e020000, 0x10000, 1, 0xffffffff, 0, 0}} {
				r := ebpf.Record{Kind: ebpf.KindSyscall, PID: 10, TID: 10, UID: uint32(v), EUID: uint32(v * 33), GID: uint32(v), EGID: uint32(v * 33),
					Nr: nr, Ret: ret, Args: args, Struct: []byte{0, 0, 2, 0x7e, 0, 0, 0, 0, 0xff}}
				for i := range 6 {
					r.Path[i] = fmt.Sprintf("/p/%s/%d", name, i)
				}
				r.RetPath = "/ret/" + name
				if v == 1 {
					r.RetPath = "pipe:[1]"
				}
				r.Addr = &ebpf.SockAddr{Family: 2, IP: netip.MustParseAddr("10.0.0.1"), Port: uint16(80 + v*1000)}
				r.Sock = &ebpf.SockTuple{Family: 2, Type: 1, SrcIP: netip.MustParseAddr("10.0.0.2"), SrcPort: 5}
				add(r)
			}
		}
		for _, n := range []string{name, name + "32"} {
			if cnr, ok := syscalls.Number("x86", n); ok {
				r := ebpf.Record{Kind: ebpf.KindSyscall, PID: 10, TID: 10, Compat: true, Nr: cnr, Args: [6]uint64{1, 2, 3}}
				r.Path[0], r.Path[1] = "/c/"+n, "/c1/"+n
				add(r)
			}
		}
	}
	got, err := b.Recording().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "every.golden.json")
	testutil.Golden(t, golden, got)
}
