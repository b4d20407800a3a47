package ebpf

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"path"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// rawRecord builds ring-buffer samples the way bpf/capture.c lays them out.
type rawRecord struct{ b []byte }

func newRaw(h eventHdr) *rawRecord {
	b, err := binary.Append(nil, binary.LittleEndian, &h)
	if err != nil {
		panic(err)
	}
	return &rawRecord{b: b}
}

func (r *rawRecord) item(typ, arg byte, payload []byte) *rawRecord {
	for len(r.b)%4 != 0 {
		r.b = append(r.b, 0)
	}
	r.b = append(r.b, typ, arg)
	r.b = binary.LittleEndian.AppendUint16(r.b, uint16(len(payload)))
	r.b = append(r.b, payload...)
	return r
}

// pathItem encodes components leaf first, as the kernel walk emits them.
func pathItem(complete bool, leafFirst ...string) []byte {
	flags := byte(0)
	if complete {
		flags = pfComplete
	}
	out := []byte{flags}
	for _, c := range leafFirst {
		out = append(append(out, c...), 0)
	}
	return out
}

// pseudoItem encodes a pseudo file's path item: flags, fs magic, inode, name.
func pseudoItem(magic uint32, ino uint64, name string) []byte {
	out := []byte{pfComplete | pfPseudo}
	out = binary.LittleEndian.AppendUint32(out, magic)
	out = binary.LittleEndian.AppendUint64(out, ino)
	return append(append(out, name...), 0)
}

func cstr(s string) []byte { return append([]byte(s), 0) }

// hdr builds a header; the decoder does not interpret syscall numbers, so
// tests use x86_64's (openat 257, unlinkat 263, mkdir 83, chdir 80,
// connect 42, accept4 288) on every architecture.
func hdr(kind Kind, nr int, args ...uint64) eventHdr {
	h := eventHdr{Kind: uint32(kind), Nr: uint32(nr), Tid: 10, Pid: 10, Vtid: 1, Vpid: 1, Ppid: 2, Ts: 123}
	copy(h.Args[:], args)
	copy(h.Comm[:], "cat")
	return h
}

func tupleBytes(fam uint16, src, dst netip.Addr, sport, dport uint16) []byte {
	t := rawTuple{Family: fam, Type: unix.SOCK_STREAM, Proto: unix.IPPROTO_TCP, Sport: sport, Dport: dport}
	copy(t.Saddr[:], src.AsSlice())
	copy(t.Daddr[:], dst.AsSlice())
	b, _ := binary.Append(nil, binary.LittleEndian, &t)
	return b
}

func TestDecodeRecord(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name string
		raw  []byte
		want func(*Record) bool
	}{
		{
			name: "relative openat joined onto the dirfd's directory",
			raw: newRaw(hdr(KindSyscall, 257, 3, 0, 0)).
				item(itStr, 1, cstr("shadow")).
				item(itBase, 1, pathItem(true, "etc")).
				item(itFDPath, argRet, pathItem(true, "shadow", "etc")).b,
			want: func(r *Record) bool {
				return r.Path[1] == "/etc/shadow" && r.RetPath == "/etc/shadow" && r.Str[1] == "shadow" && !r.Truncated && r.Comm == "cat"
			},
		},
		{
			name: "relative path of a successful open is the opened file",
			raw: newRaw(hdr(KindSyscall, 257, 3)).
				item(itStr, 1, cstr("hostname")).
				item(itFDPath, argRet, pathItem(true, "hostname", "etc")).b,
			want: func(r *Record) bool { return r.Path[1] == "/etc/hostname" && r.RetPath == "/etc/hostname" },
		},
		{
			name: "dot-dot in a relative path is cleaned",
			raw: newRaw(hdr(KindSyscall, 263)).
				item(itStr, 1, cstr("../x")).
				item(itBase, 1, pathItem(true, "b", "a")).b,
			want: func(r *Record) bool { return r.Path[1] == "/a/x" },
		},
		{
			name: "absolute path needs no base",
			raw:  newRaw(hdr(KindSyscall, 83)).item(itStr, 0, cstr("/tmp//d/")).b,
			want: func(r *Record) bool { return r.Path[0] == "/tmp/d" },
		},
		{
			name: "pipe and socket pair ends, named by their pseudo file systems",
			raw: newRaw(hdr(KindSyscall, 293)).
				item(itStruct, 0, []byte{3, 0, 0, 0, 4, 0, 0, 0}).
				item(itFDPath, argPair, pseudoItem(pipefsMagic, 777, "")).
				item(itFDPath, argPair+1, pseudoItem(pipefsMagic, 777, "")).
				item(itTuple, argPair+1, tupleBytes(afUnix, netip.Addr{}, netip.Addr{}, 0, 0)).b,
			want: func(r *Record) bool {
				return r.PairPath == [2]string{"pipe:[777]", "pipe:[777]"} && r.PairSock[0] == nil &&
					r.PairSock[1] != nil && r.PairSock[1].Family == afUnix && !r.Truncated && r.Path == [6]string{}
			},
		},
		{
			name: "anonymous inodes, pidfs, nsfs and a memfd",
			raw: newRaw(hdr(KindSyscall, 290)).
				item(itFDPath, argRet, pseudoItem(anonInodeMagic, 5, "[eventfd]")).
				item(itFDPath, 0, pseudoItem(pidfsMagic, 9, "/")).
				item(itFDPath, 1, pseudoItem(nsfsMagic, 4026531840, "")).
				item(itFDPath, 2, pseudoItem(0x01021994, 12, "memfd:payload")).b,
			want: func(r *Record) bool {
				return r.RetPath == "anon_inode:[eventfd]" && r.Path[0] == "anon_inode:[pidfd]" &&
					r.Path[1] == "nsfs:[4026531840]" && r.Path[2] == "/memfd:payload" && !r.Truncated
			},
		},
		{
			name: "a pseudo path item too short for its header is truncated",
			raw:  newRaw(hdr(KindSyscall, 290)).item(itFDPath, argRet, []byte{pfComplete | pfPseudo, 1, 2}).b,
			want: func(r *Record) bool { return r.RetPath == "" && r.Truncated },
		},
		{
			name: "root directory",
			raw:  newRaw(hdr(KindSyscall, 80)).item(itCwd, 0xff, pathItem(true)).b,
			want: func(r *Record) bool { return r.Cwd == "/" },
		},
		{
			name: "incomplete walk marks the record truncated",
			raw:  newRaw(hdr(KindSyscall, 257)).item(itFDPath, argRet, pathItem(false, "c", "b")).b,
			want: func(r *Record) bool { return r.Truncated && r.RetPath == "/b/c" },
		},
		{
			name: "connect tuple and sockaddr",
			raw: newRaw(hdr(KindSyscall, 42, 5)).
				item(itTuple, 0, tupleBytes(unix.AF_INET, lo, lo, 40000, 8080)).
				item(itAddr, 1, []byte{2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}).b,
			want: func(r *Record) bool {
				return r.Sock != nil && r.Sock.SrcIP == lo && r.Sock.SrcPort == 40000 && r.Sock.DstPort == 8080 &&
					r.Addr != nil && r.Addr.IP == lo && r.Addr.Port == 8080 && r.RetSock == nil
			},
		},
		{
			name: "accept tuple of the returned socket",
			raw: newRaw(hdr(KindSyscall, 288)).
				item(itTuple, argRet, tupleBytes(unix.AF_INET6, netip.IPv6Loopback(), netip.IPv6Loopback(), 8080, 40000)).b,
			want: func(r *Record) bool {
				return r.RetSock != nil && r.RetSock.SrcIP == netip.IPv6Loopback() && r.RetSock.DstPort == 40000 && r.Sock == nil
			},
		},
		{
			name: "exec record",
			raw: newRaw(hdr(KindExec, 0)).
				item(itFilename, 0xff, cstr("/bin/sh")).
				item(itArgv, 0xff, []byte("sh\x00-c\x00echo hi\x00")).
				item(itExe, 0xff, pathItem(true, "dash", "bin", "usr")).
				item(itCwd, 0xff, pathItem(true, "root")).
				item(itTTY, 0xff, cstr("pts0")).b,
			want: func(r *Record) bool {
				return r.Exec != nil && r.Exec.Filename == "/bin/sh" && reflect.DeepEqual(r.Exec.Argv, []string{"sh", "-c", "echo hi"}) &&
					r.Exec.Exe == "/usr/bin/dash" && r.Cwd == "/root" && r.Exec.TTY == "pts0"
			},
		},
		{
			name: "argv longer than the copy is marked truncated",
			raw:  newRaw(hdr(KindExec, 0)).item(itArgv, 1, []byte("a\x00b")).b,
			want: func(r *Record) bool { return r.Truncated && len(r.Exec.Argv) == 2 },
		},
		{
			name: "fork and exit items",
			raw: newRaw(hdr(KindFork, 0)).
				item(itFork, 0xff, func() []byte {
					b, _ := binary.Append(nil, binary.LittleEndian, &rawFork{Tid: 11, Pid: 10, Vtid: 2, Vpid: 1, Flags: 1})
					return b
				}()).
				item(itExit, 0xff, []byte{0, 3, 0, 0, 1, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0}).b,
			want: func(r *Record) bool {
				return r.Fork != nil && *r.Fork == ForkInfo{TID: 11, PID: 10, VTID: 2, VPID: 1, Thread: true} &&
					r.Exit != nil && r.Exit.Code == 3<<8 && r.Exit.GroupDead && r.Exit.Reaper == 42
			},
		},
		{
			name: "compat flag and args",
			raw: func() []byte {
				h := hdr(KindSyscall, 5, 1, 2, 3, 4, 5, 6)
				h.Flags, h.Ret = 1, -2
				return newRaw(h).b
			}(),
			want: func(r *Record) bool {
				return r.Compat && r.Nr == 5 && r.Args == [6]uint64{1, 2, 3, 4, 5, 6} && r.Ret == -2 && r.Kind == KindSyscall
			},
		},
		{
			name: "unknown item types are skipped",
			raw:  newRaw(hdr(KindSyscall, 1)).item(200, 0, []byte("zz")).item(itStr, 0, cstr("ok")).b,
			want: func(r *Record) bool { return r.Str[0] == "ok" },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Record
			if err := DecodeRecord(tc.raw, &r); err != nil {
				t.Fatal(err)
			}
			if !tc.want(&r) {
				t.Errorf("decoded %+v (exec %+v, sock %+v, retsock %+v, addr %+v)", r, r.Exec, r.Sock, r.RetSock, r.Addr)
			}
		})
	}
	// A caching Decoder gives the same records, whether a string is new to
	// it or reused (each case is decoded twice, after all the others).
	var d Decoder
	for round := range 2 {
		for _, tc := range tests {
			var r, plain Record
			if err := d.Decode(tc.raw, &r); err != nil {
				t.Fatal(err)
			}
			DecodeRecord(tc.raw, &plain)
			if !tc.want(&r) || !reflect.DeepEqual(r, plain) {
				t.Errorf("round %d, %s: cached decoder gave %+v, want %+v", round, tc.name, r, plain)
			}
		}
	}
}

// The cache must not carry one record's truncation into another whose path
// bytes differ only in the completeness flag.
func TestDecoderTruncationNotShared(t *testing.T) {
	var d Decoder
	full := newRaw(hdr(KindSyscall, 257)).item(itFDPath, argRet, pathItem(true, "c", "b")).b
	cut := newRaw(hdr(KindSyscall, 257)).item(itFDPath, argRet, pathItem(false, "c", "b")).b
	for _, tc := range []struct {
		raw   []byte
		trunc bool
	}{{full, false}, {cut, true}, {full, false}, {cut, true}} {
		var r Record
		if err := d.Decode(tc.raw, &r); err != nil {
			t.Fatal(err)
		}
		if r.Truncated != tc.trunc || r.RetPath != "/b/c" {
			t.Errorf("truncated %v path %q, want %v /b/c", r.Truncated, r.RetPath, tc.trunc)
		}
	}
}

// A minimal record is the header's leading fields only.
func TestDecodeMinimalRecord(t *testing.T) {
	h := hdr(KindSyscall, 3, 7)
	h.Flags, h.Ret, h.Cpu, h.Uid, h.CapEff = hfMin|hfCompat, -9, 1, 1000, 1
	raw := newRaw(h).b
	for _, n := range []int{minHdrSize, hdrSize} {
		var r Record
		if err := DecodeRecord(raw[:n], &r); err != nil {
			t.Fatal(err)
		}
		want := Record{Kind: KindSyscall, Time: 123, CPU: 1, TID: 10, PID: 10, Nr: 3, Compat: true, Minimal: true,
			Args: [6]uint64{7}, Ret: -9}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("%d bytes: got %+v, want %+v", n, r, want)
		}
	}
	var r Record
	if err := DecodeRecord(raw[:minHdrSize-1], &r); !errors.Is(err, ErrShortRecord) {
		t.Errorf("a minimal record cut short: %v, want ErrShortRecord", err)
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	full := newRaw(hdr(KindSyscall, 1)).item(itStr, 0, cstr("abcdef")).b
	for _, raw := range [][]byte{nil, full[:hdrSize-1], full[:len(full)-2]} {
		var r Record
		if err := DecodeRecord(raw, &r); !errors.Is(err, ErrShortRecord) {
			t.Errorf("DecodeRecord(%d bytes) = %v, want ErrShortRecord", len(raw), err)
		}
	}
}

func TestDecodeSockAddr(t *testing.T) {
	six := append([]byte{10, 0, 0, 80, 0, 0, 0, 0}, netip.IPv6Loopback().AsSlice()...)
	tests := []struct {
		in   []byte
		want *SockAddr
	}{
		{nil, nil},
		{[]byte{2, 0, 0, 22, 10, 0, 0, 1}, &SockAddr{Family: 2, IP: netip.MustParseAddr("10.0.0.1"), Port: 22}},
		{six, &SockAddr{Family: 10, IP: netip.IPv6Loopback(), Port: 80}},
		{append([]byte{1, 0}, "/run/docker.sock\x00\x00"...), &SockAddr{Family: 1, Path: "/run/docker.sock"}},
		{append([]byte{1, 0, 0}, "abstract"...), &SockAddr{Family: 1, Path: "@abstract"}},
		{[]byte{2, 0, 1}, &SockAddr{Family: 2}},
	}
	for _, tc := range tests {
		if got := DecodeSockAddr(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DecodeSockAddr(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

var fuzzDecoder Decoder

func FuzzDecodeRecord(f *testing.F) {
	f.Add(newRaw(hdr(KindSyscall, 257)).item(itStr, 1, cstr("x")).item(itBase, 1, pathItem(true, "etc")).b)
	f.Add(newRaw(hdr(KindExec, 0)).item(itArgv, 0xff, []byte("a\x00b")).b)
	f.Add(newRaw(hdr(KindSyscall, 42)).item(itTuple, 0, make([]byte, 10)).b)
	f.Add(newRaw(hdr(KindCap, 10, 4026531837, 4026531837, 0)).b)
	minimal := hdr(KindSyscall, 3, 4)
	minimal.Flags = hfMin
	f.Add(newRaw(minimal).b[:minHdrSize])
	f.Fuzz(func(t *testing.T, raw []byte) {
		var r, again Record
		if err := DecodeRecord(raw, &r); err != nil {
			return
		}
		fuzzDecoder.Decode(raw, &again)
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("cached decoder gave %+v, want %+v from %x", again, r, raw)
		}
		if (r.Kind == KindCap) != (r.Cap != nil) || (r.Cap != nil && r.Cap.Granted != (r.Cap.Ret == 0)) {
			t.Fatalf("kind %v with cap %+v from %x", r.Kind, r.Cap, raw)
		}
		for _, p := range append(r.Path[:], r.RetPath, r.Cwd) {
			if p != "" && p[0] != '/' {
				t.Fatalf("non-absolute path %q from %x", p, raw)
			}
		}
	})
}

func TestDecodeCapRecord(t *testing.T) {
	tests := []struct {
		name string
		cap  int
		ret  int64
		ns   [3]uint64
		want CapInfo
	}{
		{"granted in the initial namespace", 10, 0, [3]uint64{4026531837, 4026531837, 0},
			CapInfo{Cap: 10, Granted: true, TargetNS: 4026531837, CapableNS: 4026531837}},
		{"denied, on override credentials", 21, -int64(unix.EPERM), [3]uint64{4026532200, 0, 1},
			CapInfo{Cap: 21, Ret: -int64(unix.EPERM), TargetNS: 4026532200, Override: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hdr(KindCap, tt.cap, tt.ns[:]...)
			h.Ret = tt.ret
			var r Record
			if err := DecodeRecord(newRaw(h).b, &r); err != nil {
				t.Fatal(err)
			}
			if r.Kind != KindCap || r.Kind.String() != "cap" || r.Cap == nil || *r.Cap != tt.want {
				t.Fatalf("decoded %v %+v, want cap %+v", r.Kind, r.Cap, tt.want)
			}
			if r.Nr != 0 || r.PID != 10 || r.Comm != "cat" {
				t.Errorf("header: nr %d pid %d comm %q, want 0, 10, cat", r.Nr, r.PID, r.Comm)
			}
		})
	}
}

// isClean must agree with path.Clean on every absolute path.
func TestIsClean(t *testing.T) {
	for _, s := range []string{"/", "/a", "/a/b", "/a/b/", "//a", "/a//b", "/./a", "/a/.", "/a/..", "/../a", "/a/../b",
		"/.a", "/a.", "/..a", "/a..", "/a/.b/c", "/a/b..c", "/...", "/a/...", "/.", "/.."} {
		if got, want := isClean(s), path.Clean(s) == s; got != want {
			t.Errorf("isClean(%q) = %v, path.Clean gives %q", s, got, path.Clean(s))
		}
	}
}

func FuzzIsClean(f *testing.F) {
	f.Add("/a/./b")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) == 0 || s[0] != '/' {
			return
		}
		if got, want := isClean(s), path.Clean(s) == s; got != want {
			t.Fatalf("isClean(%q) = %v, path.Clean gives %q", s, got, path.Clean(s))
		}
	})
}

// A socketcall record is the native call it stood for: not Compat, with
// Socketcall set. A plain compat record stays Compat.
func TestDecodeSocketcallRecord(t *testing.T) {
	for _, tt := range []struct {
		flags              uint32
		compat, socketcall bool
	}{
		{hfCompat | hfSocketcall, false, true},
		{hfCompat, true, false},
		{0, false, false},
	} {
		h := hdr(KindSyscall, unix.SYS_CONNECT, 3, 0x1000, 16)
		h.Flags = tt.flags
		var r Record
		if err := DecodeRecord(newRaw(h).b, &r); err != nil {
			t.Fatal(err)
		}
		if r.Compat != tt.compat || r.Socketcall != tt.socketcall || r.Nr != unix.SYS_CONNECT {
			t.Errorf("flags %#x: compat=%v socketcall=%v nr=%d, want %v %v %d", tt.flags, r.Compat, r.Socketcall, r.Nr, tt.compat, tt.socketcall, unix.SYS_CONNECT)
		}
	}
}
