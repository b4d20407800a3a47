package state

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/syscalls"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// syntheticRecords are records of every syscall the capture decodes, in
// both ABIs, with results and arguments chosen to take each branch a
// handler has (success, failure, a returned fd, O_CLOEXEC and O_DIRECTORY
// set or not, fd -1, kernel socket tuples or only a user sockaddr).
func syntheticRecords(t testing.TB) []ebpf.Record {
	var out []ebpf.Record
	pair := func(a, b int32, tail ...byte) []byte {
		s := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(a)), uint32(b))
		return append(s, tail...)
	}
	argSets := [][6]uint64{
		{3, 0x80042, 0o4755, 0x80000, 16, 28},
		{0xffffffff, 0x10000, 0x20000, 0, 0x4206, 0x40000000},
	}
	structs := [][]byte{
		pair(8, 9, 0x42, 0, 0, 0, 0, 0, 0, 0, 0xed, 1, 0, 0, 0, 0, 0, 0),
		pair(11, 12, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
	}
	names := []string{"exit", "exit_group"}
	for _, nr := range ebpf.DefaultSyscalls() {
		n, _ := syscalls.Name("x86_64", nr)
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		for variant := range 2 {
			for _, ret := range []int64{7, 0, -13} {
				for extras := range 2 {
					r := ebpf.Record{Kind: ebpf.KindSyscall, PID: 10, TID: 10, Comm: "app", Ret: ret, Args: argSets[variant], Struct: structs[variant]}
					r.Nr, _ = syscalls.Number("x86_64", name)
					if name == "exit" || name == "exit_group" {
						r.Kind = ebpf.KindEnter
					}
					if extras == 1 {
						for i := range 6 {
							r.Str[i] = fmt.Sprintf("s%d", i)
							if i != 2 {
								r.Path[i] = fmt.Sprintf("/p/%s/%d", name, i)
							}
						}
						r.RetPath = "/ret/" + name
						r.Cwd = "/cwd/" + name
						r.Sock = &ebpf.SockTuple{Family: 2, Type: 1, Proto: 6, SrcIP: netip.MustParseAddr("10.0.0.1"), SrcPort: 4000,
							DstIP: netip.MustParseAddr("10.0.0.2"), DstPort: 80}
						r.RetSock = &ebpf.SockTuple{Family: 10, Type: 2, Proto: 17, SrcIP: netip.MustParseAddr("::1"), SrcPort: 53,
							DstIP: netip.MustParseAddr("::2"), DstPort: 5353}
						r.Addr = &ebpf.SockAddr{Family: 2, IP: netip.MustParseAddr("192.0.2.1"), Port: 443}
						r.PairPath = [2]string{"pipe:[42]", "pipe:[42]"}
						r.PairSock = [2]*ebpf.SockTuple{{Family: 1, Type: 1}, nil}
					} else if variant == 1 {
						r.Addr = &ebpf.SockAddr{Family: 1, Path: "@abstract"}
						r.RetPath = "anon_inode:[eventfd]"
					}
					out = append(out, r)
				}
			}
		}
		// The i386 ABI, under the same name or its 32-bit-uid variant.
		for _, n := range []string{name, name + "32"} {
			if cnr, ok := syscalls.Number("x86", n); ok {
				r := ebpf.Record{Kind: ebpf.KindSyscall, PID: 10, TID: 10, Comm: "app", Ret: 5, Args: argSets[0], Compat: true, Nr: cnr}
				r.Str[0], r.Path[1] = "c0", "/c/1"
				out = append(out, r)
			}
		}
	}
	return out
}

// dumpFD is one line for an fd: every field a rule can read.
func dumpFD(fd *event.FD) string {
	if fd == nil {
		return "-"
	}
	return fmt.Sprintf("{%d %s %q raw=%q %s c=%s:%d s=%s:%d srv=%v conn=%v chg=%v ino=%d cloexec=%v out=%v}", fd.Num, fd.Type, fd.Name, fd.NameRaw,
		fd.L4Proto, fd.CIP, fd.CPort, fd.SIP, fd.SPort, fd.IsServer, fd.Connected, fd.NameChanged, fd.Ino, fd.CloseOnExec, fd.OutsideRoot)
}

// Every syscall record the capture can decode gives the same events and
// leaves the same process and fd state as recorded in testdata/apply.golden.gz:
// the per-syscall handlers are checked against one run of all of them.
func TestApplyGolden(t *testing.T) {
	var b strings.Builder
	for _, interested := range []bool{true, false} {
		tab, _, ctx := appTable(t, "root:x:0:0:root:/root:/bin/bash\n")
		if !interested {
			tab.opts.Interested = func(typ event.Type) bool { return typ.String() == "openat" }
		}
		fmt.Fprintf(&b, "== interested=%v\n", interested)
		var e event.Event
		for _, r := range syntheticRecords(t) {
			ok := tab.Apply(ctx, &r, &e)
			fmt.Fprintf(&b, "nr=%d compat=%v ret=%d: ok=%v %s dir=%v res=%d/%v fd=%s", r.Nr, r.Compat, r.Ret, ok, e.Type, e.Dir, e.Res, e.HasRes, dumpFD(e.FD))
			for _, a := range e.Args {
				fmt.Fprintf(&b, " %s=%q/%d/%v", a.Name, a.Str, a.Int, a.HasInt)
			}
			b.WriteByte('\n')
			if r.Ret == -13 && r.Str[0] != "" && r.Args[0] == 0xffffffff {
				// After each syscall's native records: the whole table.
				pr := tab.procs[10]
				var fds []string
				pr.fds.each(func(n int64, fd *event.FD) {
					fds = append(fds, fmt.Sprintf("%d:%d:%s:%q:%v", n, fd.Num, fd.Type, fd.Name, fd.CloseOnExec))
				})
				sort.Strings(fds)
				fmt.Fprintf(&b, "  cwd=%q fds=%s\n", pr.p.Cwd, strings.Join(fds, " "))
			}
		}
	}
	// Compressed: the text is 400 KB of near-identical lines.
	golden := filepath.Join("testdata", "apply.golden.gz")
	if testutil.Update() {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write([]byte(b.String()))
		zw.Close()
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, z.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%d lines, want %d", len(gl), len(wl))
	}
}

// Every descriptor that changes the tables has a handler for its effect.
func TestEffectHandlers(t *testing.T) {
	tab, _, _ := appTable(t, "root:x:0:0:root:/root:/bin/bash\n")
	for _, d := range syscalls.Descriptors() {
		if d.State && d.Effect == syscalls.EffectNone {
			t.Errorf("%s: the state needs it, but it has no effect to handle", d.Name)
		}
		if d.Effect == syscalls.EffectNone {
			continue
		}
		// A failed call: every handler takes it, and changes nothing.
		r := &ebpf.Record{Ret: -1}
		c := &call{r: r, e: &event.Event{}, pr: &proc{p: &event.Process{}}, info: &scInfo{desc: &d, effect: d.Effect}}
		if !tab.applyEffect(c) {
			t.Errorf("%s: no handler for effect %d", d.Name, d.Effect)
		}
	}
	if tab.applyEffect(&call{info: &scInfo{effect: syscalls.EffectNone}}) {
		t.Error("EffectNone handled")
	}
}
