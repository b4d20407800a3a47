package record

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/syscalls"

	"github.com/palisade-sec/palisade/internal/testutil"
)

func nr(t *testing.T, name string) int {
	t.Helper()
	n, ok := syscalls.Number("x86_64", name)
	if !ok {
		t.Fatalf("no syscall %s", name)
	}
	return n
}

func TestMergeIsUnion(t *testing.T) {
	a := New()
	a.Syscalls["x86_64"] = map[string]uint64{"read": 2, "openat": 1}
	a.Files.Read = []string{"/etc/hostname"}
	a.Connect = []Endpoint{{Family: "AF_INET", Proto: "tcp", IP: "127.0.0.1", Port: 80}}
	a.Caps.Inferred = []InferredCap{{Name: "SETUID", Evidence: []string{"x"}}}
	a.Sources = []Source{{Command: []string{"a"}, Ended: "exited"}}
	a.Processes, a.Lost = 2, 1
	b := New()
	b.Syscalls["x86_64"] = map[string]uint64{"read": 3, "write": 1}
	b.Syscalls["x86"] = map[string]uint64{"socketcall": 1}
	b.Files.Read = []string{"/etc/hostname", "/etc/passwd"}
	b.Files.Write = []string{"/tmp/x"}
	b.Connect = []Endpoint{{Family: "AF_INET", Proto: "tcp", IP: "127.0.0.1", Port: 80}, {Family: "AF_UNIX", Path: "/run/s"}}
	b.Caps.Inferred = []InferredCap{{Name: "SETUID", Evidence: []string{"y"}}, {Name: "NET_BIND_SERVICE", Evidence: []string{"z"}}}
	b.Sources = []Source{{Command: []string{"b"}, Ended: "duration"}}
	b.Processes = 1

	m := Merge(a, b)
	tests := []struct {
		name      string
		got, want any
	}{
		{"x86_64", m.Syscalls["x86_64"], map[string]uint64{"read": 5, "openat": 1, "write": 1}},
		{"x86", m.Syscalls["x86"], map[string]uint64{"socketcall": 1}},
		{"read", m.Files.Read, []string{"/etc/hostname", "/etc/passwd"}},
		{"write", m.Files.Write, []string{"/tmp/x"}},
		{"connect", len(m.Connect), 2},
		{"caps", m.Caps.Inferred, []InferredCap{{Name: "NET_BIND_SERVICE", Evidence: []string{"z"}}, {Name: "SETUID", Evidence: []string{"x", "y"}}}},
		{"collected", m.Caps.Collected, false},
		{"sources", len(m.Sources), 2},
		{"processes", m.Processes, 3},
		{"lost", m.Lost, uint64(1)},
		{"arches", m.Arches(), []string{"x86_64", "x86"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	// Merging is idempotent and order-independent.
	m1, _ := Merge(a, b).Marshal()
	m2, _ := Merge(b, a, Merge(a, b)).Marshal()
	strip := func(b []byte) string { // sources and counts differ; the sets must not
		r, err := Parse("m", b)
		if err != nil {
			t.Fatal(err)
		}
		r.Sources, r.Processes, r.Lost = nil, 0, 0
		for _, m := range r.Syscalls {
			for k := range m {
				m[k] = 1
			}
		}
		out, _ := r.Marshal()
		return string(out)
	}
	if strip(m1) != strip(m2) {
		t.Errorf("merge is not a set union:\n%s\n%s", m1, m2)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"syntax", "{\n  \"version\": 1,\n  \"syscalls\": {,\n}", "r.json:3:17: invalid character ','"},
		{"type", "{\"version\": \"one\"}", "r.json:1:18: version: want int, got string"},
		{"unknown", "{\"version\": 1, \"syscals\": {}}", "r.json: unknown field \"syscals\""},
		{"version", "{\"version\": 7, \"syscalls\": {}}", "r.json: recording version 7, this palisade reads version 1"},
		{"empty", "", "r.json: empty file"},
		{"truncated", "{\n  \"version\": 1,\n", "r.json:3:1: unexpected end of file"},
		{"not a recording", "{\"version\": 1}", "not a palisade recording"},
		{"arch", "{\"version\": 1, \"syscalls\": {\"vax\": {}}}", "unknown architecture \"vax\""},
		{"trailing", "{\"version\": 1, \"syscalls\": {}} {}", "r.json:1:32: data after the recording"},
	}
	for _, tt := range tests {
		_, err := Parse("r.json", []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

// TestBuilderGolden feeds synthetic kernel records through a Follower and
// a Builder and compares the recording with testdata/builder.golden.json.
func TestBuilderGolden(t *testing.T) {
	const root, child = 100, 101
	recs := []ebpf.Record{
		// before root's exec: the launcher's own calls, not the workload's
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "dup3")},
		{Kind: ebpf.KindExec, PID: root, TID: root, Exec: &ebpf.ExecInfo{Exe: "/usr/bin/server"}},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "execve")},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "openat"), Args: [6]uint64{0, 0, 0x80000}, Ret: 3, RetPath: "/etc/server.conf"},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "openat"), Args: [6]uint64{0, 0, 0x10000}, Ret: 3, RetPath: "/var/www"},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "openat"), Args: [6]uint64{0, 0, 0x241}, Ret: 4, RetPath: "/var/log/server.log"},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "openat"), Args: [6]uint64{0, 0, 0}, Ret: -2, Str: [6]string{"", "/missing"}},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "mkdirat"), Ret: 0, Path: [6]string{"", "/var/cache/server"}},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "socket"), Args: [6]uint64{2, 1 | 0x80000, 0}, Ret: 5},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "bind"), Ret: 0,
			Addr: &ebpf.SockAddr{Family: 2, IP: netip.MustParseAddr("0.0.0.0"), Port: 80}, Sock: &ebpf.SockTuple{Family: 2, Type: 1}},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "listen"), Ret: 0,
			Sock: &ebpf.SockTuple{Family: 2, Type: 1, SrcIP: netip.MustParseAddr("0.0.0.0"), SrcPort: 80}},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "connect"), Ret: -115,
			Addr: &ebpf.SockAddr{Family: 2, IP: netip.MustParseAddr("10.0.0.7"), Port: 5432}, Sock: &ebpf.SockTuple{Family: 2, Type: 1}},
		{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "clone"), Args: [6]uint64{0x1200011}, Ret: child},
		{Kind: ebpf.KindFork, PID: root, TID: root, Fork: &ebpf.ForkInfo{PID: child, TID: child}},
		// the child drops root: setgroups and setresuid to 33 need SETGID / SETUID
		{Kind: ebpf.KindSyscall, PID: child, TID: child, Nr: nr(t, "setgroups"), Args: [6]uint64{1}, Ret: 0},
		{Kind: ebpf.KindSyscall, PID: child, TID: child, UID: 33, EUID: 33, Nr: nr(t, "setresuid"), Args: [6]uint64{33, 33, 33}, Ret: 0},
		{Kind: ebpf.KindSyscall, PID: child, TID: child, UID: 33, EUID: 33, Nr: nr(t, "setuid"), Args: [6]uint64{33}, Ret: 0},
		{Kind: ebpf.KindSyscall, PID: child, TID: child, UID: 33, EUID: 33, Compat: true, Nr: 102, Ret: 0}, // socketcall
		// a connect made through socketcall: the profile must allow socketcall, the network list gets the peer
		{Kind: ebpf.KindSyscall, PID: child, TID: child, UID: 33, EUID: 33, Socketcall: true, Nr: nr(t, "connect"), Ret: 0,
			Addr: &ebpf.SockAddr{Family: 2, IP: netip.MustParseAddr("10.0.0.8"), Port: 53}, Sock: &ebpf.SockTuple{Family: 2, Type: 2}},
		// an x32 openat: counted in the x32 ABI, its file read like any other
		{Kind: ebpf.KindSyscall, PID: child, TID: child, UID: 33, EUID: 33, X32: true, Nr: nr(t, "openat"), Args: [6]uint64{0, 0, 0}, Ret: 5, RetPath: "/etc/x32.conf"},
		{Kind: ebpf.KindSyscall, PID: child, TID: child, UID: 33, EUID: 33, Nr: 499, Ret: -38},                      // no name
		{Kind: ebpf.KindSyscall, PID: child, TID: child, Nr: nr(t, "close"), Args: [6]uint64{3}, Minimal: true},     // no ids: must not reset the thread's creds
		{Kind: ebpf.KindExec, PID: child, TID: child, UID: 33, EUID: 0, Exec: &ebpf.ExecInfo{Exe: "/usr/bin/sudo"}}, // setuid root
		{Kind: ebpf.KindExit, PID: child, TID: child, Exit: &ebpf.ExitInfo{GroupDead: true}},
		// someone else's process
		{Kind: ebpf.KindSyscall, PID: 999, TID: 999, Nr: nr(t, "ptrace")},
	}
	f := FollowChild(root)
	b := NewBuilder()
	for i := range recs {
		if f.Follow(&recs[i]) {
			b.Add(&recs[i])
		}
	}
	if f.Live() != 1 || f.Seen() != 2 {
		t.Errorf("follower: live %d seen %d, want 1 and 2", f.Live(), f.Seen())
	}
	got, err := b.Recording().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "builder.golden.json")
	testutil.Golden(t, golden, got)
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	// The golden file is a valid recording and survives a round trip.
	r, err := Parse(golden, want)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := r.Marshal()
	if string(again) != string(want) {
		t.Errorf("round trip changed the recording:\n%s", again)
	}
}

func TestFollowContainer(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cg := "/docker/" + id
	f := FollowContainer(id[:12], 1)
	recs := []struct {
		r    ebpf.Record
		want bool
	}{
		{ebpf.Record{Kind: ebpf.KindSyscall, PID: 1}, true},
		{ebpf.Record{Kind: ebpf.KindSyscall, PID: 2}, false},
		{ebpf.Record{Kind: ebpf.KindFork, PID: 1, Cgroup: cg, Fork: &ebpf.ForkInfo{PID: 5, TID: 5}}, true},
		{ebpf.Record{Kind: ebpf.KindSyscall, PID: 5}, true},          // the workload's child, before any exec
		{ebpf.Record{Kind: ebpf.KindExec, PID: 3, Cgroup: cg}, true}, // docker exec'd program
		{ebpf.Record{Kind: ebpf.KindSyscall, PID: 3}, true},
		// runc init for docker exec: forked in the cgroup by runc, not the workload
		{ebpf.Record{Kind: ebpf.KindFork, PID: 6, Comm: "runc:[1:CHILD]", Cgroup: cg, Fork: &ebpf.ForkInfo{PID: 7, TID: 7}}, false},
		{ebpf.Record{Kind: ebpf.KindSyscall, PID: 6, Comm: "runc:[1:CHILD]"}, false},
		{ebpf.Record{Kind: ebpf.KindSyscall, PID: 7, Comm: "runc:[2:INIT]"}, false}, // keyctl, setns...
		{ebpf.Record{Kind: ebpf.KindExec, PID: 7, Cgroup: cg}, true},
		{ebpf.Record{Kind: ebpf.KindSyscall, PID: 7}, true},
		{ebpf.Record{Kind: ebpf.KindExec, PID: 4, Cgroup: "/user.slice/session-1.scope"}, false}, // host process
		{ebpf.Record{Kind: ebpf.KindSyscall, PID: 4}, false},
		{ebpf.Record{Kind: ebpf.KindExit, PID: 5, Exit: &ebpf.ExitInfo{GroupDead: true}}, true},
	}
	for i := range recs {
		if got := f.Follow(&recs[i].r); got != recs[i].want {
			t.Errorf("record %d (%v pid %d %s): follow %v, want %v", i, recs[i].r.Kind, recs[i].r.PID, recs[i].r.Comm, got, recs[i].want)
		}
	}
	if f.Live() != 3 || f.Seen() != 4 {
		t.Errorf("live %d seen %d, want 3 (1, 3, 7) and 4", f.Live(), f.Seen())
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"builder.golden.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"version":1,"syscalls":{"x86_64":{"read":1}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("fuzz", data)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "fuzz") || strings.ContainsAny(msg, "\n\r\x1b\u202e") {
				t.Fatalf("error is not one line naming the file: %q", msg)
			}
			return
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("marshal a parsed recording: %v", err)
		}
		if _, err := Parse("again", out); err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
	})
}

// Capability checks: only the followed processes' own checks after their
// exec count; denied-only and override-credential checks are not needed,
// nor is SYS_ADMIN on checks alone (the overcommit probe).
func TestBuilderCapChecks(t *testing.T) {
	const root = 200
	capRec := func(c int, granted, override bool) ebpf.Record {
		return ebpf.Record{Kind: ebpf.KindCap, PID: root, TID: root, Cap: &ebpf.CapInfo{Cap: c, Granted: granted, Override: override}}
	}
	recs := []ebpf.Record{
		capRec(12, true, false), // NET_ADMIN before the exec: the launcher's
		{Kind: ebpf.KindExec, PID: root, TID: root, Exec: &ebpf.ExecInfo{Exe: "/bin/chown"}},
		capRec(0, true, false),  // CHOWN granted
		capRec(0, true, false),  // twice
		capRec(21, true, false), // SYS_ADMIN granted: the mmap probe
		capRec(22, false, false),
		capRec(1, true, true), // DAC_OVERRIDE on overlayfs's mounter credentials
		{Kind: ebpf.KindCap, PID: 999, TID: 999, Cap: &ebpf.CapInfo{Cap: 2, Granted: true}}, // someone else
	}
	f := FollowChild(root)
	b := NewBuilder()
	b.CapsCollected(CapSource)
	for i := range recs {
		if f.Follow(&recs[i]) {
			b.Add(&recs[i])
		}
	}
	c := b.Recording().Caps
	want := []CheckedCap{
		{Name: "CHOWN", Granted: 2, Needed: true},
		{Name: "SYS_ADMIN", Granted: 1, Note: SysAdminProbe},
		{Name: "SYS_BOOT", Denied: 1},
	}
	if !reflect.DeepEqual(c.Checked, want) {
		t.Errorf("checked %+v\nwant %+v", c.Checked, want)
	}
	if !c.Collected || c.Source != CapSource || c.Reason != "" {
		t.Errorf("caps collected %v source %q reason %q, want collected from %q", c.Collected, c.Source, c.Reason, CapSource)
	}
	if got := c.Needed(); !reflect.DeepEqual(got, []string{"CHOWN"}) {
		t.Errorf("needed %v, want [CHOWN]", got)
	}

	// A successful mount proves SYS_ADMIN.
	b.Add(&ebpf.Record{Kind: ebpf.KindSyscall, PID: root, TID: root, Nr: nr(t, "mount"), Ret: 0})
	if got := b.Recording().Caps.Needed(); !reflect.DeepEqual(got, []string{"CHOWN", "SYS_ADMIN"}) {
		t.Errorf("needed after mount %v, want [CHOWN SYS_ADMIN]", got)
	}

	// Merge keeps counts, and a recording without checks makes the
	// merge partial again.
	r := b.Recording()
	m := Merge(r, r)
	if m.Caps.Checked[0].Granted != 4 || !m.Caps.Collected || m.Caps.Source != CapSource {
		t.Errorf("merge of two collected: %+v", m.Caps)
	}
	m = Merge(r, New())
	if m.Caps.Collected || m.Caps.Source != "" || m.Caps.Reason != NotCollectedReason {
		t.Errorf("merge with an uncollected recording: %+v", m.Caps)
	}
	// Old recordings (no source, no checked) still parse.
	old := []byte(`{"version":1,"sources":[],"syscalls":{"x86_64":{"read":1}},"files":{"read":[],"write":[],"create":[],"exec":[]},"executables":[],"setid_exec":[],"sockets":[],"bind":[],"listen":[],"connect":[],"uids":[0],"gids":[0],"id_changes":[],"capabilities":{"collected":false,"reason":"x","inferred":[]},"processes":1,"lost_records":0}`)
	if p, err := Parse("old.json", old); err != nil || p.Caps.Collected || len(p.Caps.Checked) != 0 {
		t.Errorf("old recording: %v %+v", err, p)
	}
}

func TestProgramPath(t *testing.T) {
	for _, c := range []struct{ filename, exe, argv0, cwd, want string }{
		{"/bin/wget", "/bin/busybox", "wget", "/", "/bin/wget"},
		{"/proc/self/exe", "/bin/busybox", "wget", "/", "/bin/wget"},
		{"/proc/12/exe", "/bin/busybox", "/usr/bin/nc", "/", "/bin/nc"},
		{"/proc/12/exe/x", "/bin/busybox", "nc", "/", "/proc/12/exe/x"},
		{"./run", "/srv/run", "./run", "/srv", "/srv/run"},
		{"run", "/srv/run", "run", "", ""},
		{"", "/bin/sh", "sh", "/", ""},
	} {
		if got := event.ProgramPath(c.filename, c.exe, c.argv0, c.cwd); got != c.want {
			t.Errorf("ProgramPath(%q, %q, %q, %q) = %q, want %q", c.filename, c.exe, c.argv0, c.cwd, got, c.want)
		}
	}
}
