package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

// uid_maps as the agent reads them from the initial user namespace.
const (
	// rootless Docker (dockerd-rootless.sh): container root is the user
	// (1001), the rest its subordinate range.
	rootlessMap = "         0       1001          1\n         1     100000      65536\n"
	// userns-remap=default: everything shifted into dockremap's range.
	remapMap = "         0     165536      65536\n"
	hostMap  = "         0          0 4294967295\n"
)

func TestIDMapInside(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		host, want int64
	}{
		{"rootless root", rootlessMap, 1001, 0},
		{"rootless uid 33", rootlessMap, 100032, 33},
		{"rootless last", rootlessMap, 165535, 65536},
		{"rootless, host root is unmapped", rootlessMap, 0, 65534},
		{"rootless, past the range", rootlessMap, 165536, 65534},
		{"remap root", remapMap, 165536, 0},
		{"remap 1000", remapMap, 166536, 1000},
		{"host map is the identity", hostMap, 1234, 1234},
		{"no map (no user namespaces)", "", 42, 42},
	} {
		m, err := ParseIDMap(tc.text)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := m.Inside(tc.host); got != tc.want {
			t.Errorf("%s: host %d is %d inside, want %d", tc.name, tc.host, got, tc.want)
		}
	}
	if m, _ := ParseIDMap(hostMap); m != nil {
		t.Errorf("host map parsed as %v, want nil (the identity)", m)
	}
}

func TestParseIDMapErrors(t *testing.T) {
	for _, text := range []string{
		"0 1001\n",
		"0 1001 1 9\n",
		"x 1001 1\n",
		"0 -1 1\n",
		"0 4294967296 1\n",
		strings.Repeat("0 0 1\n", 341),
	} {
		if _, err := ParseIDMap(text); err == nil {
			t.Errorf("%q: parsed, want an error", text[:min(len(text), 20)])
		}
	}
}

func FuzzParseIDMap(f *testing.F) {
	for _, s := range []string{rootlessMap, remapMap, hostMap, "", "0 0 1\n1 2\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		m, err := ParseIDMap(text)
		if err != nil {
			return
		}
		for _, h := range []int64{0, 1, 1001, 100000, 4294967295} {
			in := m.Inside(h)
			if in < 0 || in > 4294967295+65536 {
				t.Fatalf("%q: host %d maps to %d", text, h, in)
			}
		}
	})
}

// TestUsersInUserNamespace: in a rootless container the table shows the
// uid the container sees and names it from the container's /etc/passwd,
// keeping the kernel's uid as the host uid; on the host both are the same.
func TestUsersInUserNamespace(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 20, "sh", 1, "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:web:/var/www:/bin/false\n")
	os.WriteFile(filepath.Join(root, "20", "uid_map"), []byte(rootlessMap), 0o444)
	os.WriteFile(filepath.Join(root, "20", "gid_map"), []byte(rootlessMap), 0o444)
	// /proc/20/status gives host ids: the user's own (container root).
	os.WriteFile(filepath.Join(root, "20", "status"), []byte("Uid:\t1001\t1001\t1001\t1001\nGid:\t1001\t1001\t1001\t1001\nNSpid:\t20\t1\n"), 0o644)
	fakeProc(t, root, 10, "bash", 1, "root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/bash\n")
	os.WriteFile(filepath.Join(root, "10", "status"), []byte("Uid:\t1001\t1001\t1001\t1001\nGid:\t1001\t1001\t1001\t1001\nNSpid:\t10\n"), 0o644)
	tab := New(Options{ProcRoot: root, NativeArc: "x86_64"})
	if err := tab.Bootstrap(t.Context()); err != nil {
		t.Fatal(err)
	}
	check := func(what string, p *event.Process, uid, host int64, name string, gid, hostGID int64, group string) {
		t.Helper()
		if p.UID != uid || p.HostUID != host || p.UserName != name || p.GID != gid || p.HostGID != hostGID || p.GroupName != group {
			t.Errorf("%s: uid %d host %d name %q gid %d host %d group %q; want %d %d %q %d %d %q", what,
				p.UID, p.HostUID, p.UserName, p.GID, p.HostGID, p.GroupName, uid, host, name, gid, hostGID, group)
		}
	}
	ctr, _ := tab.Process(20)
	check("container root from /proc", ctr, 0, 1001, "root", 0, 1001, "root")
	host, _ := tab.Process(10)
	check("the same user on the host", host, 1001, 1001, "alice", 1001, 1001, "")

	// A setuid to www in the container: the record has the host ids.
	var e event.Event
	tab.Apply(t.Context(), &ebpf.Record{Kind: ebpf.KindSyscall, TID: 20, PID: 20, Comm: "sh", Nr: nr(t, "setuid"), Args: [6]uint64{33},
		UID: 100032, EUID: 100032, GID: 100032, EGID: 100032}, &e)
	ctr, _ = tab.Process(20)
	check("after setuid(33)", ctr, 33, 100032, "www", 33, 100032, "web")
}

// A process that exited before its names were read (its uid_map still
// there, its root gone) must not leave its container's mount namespace
// cached without names: the next process there names them.
func TestUserNamesNotCachedFromExitedProcess(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "30"), 0o755)
	os.WriteFile(filepath.Join(root, "30", "uid_map"), []byte(rootlessMap), 0o444)
	os.MkdirAll(filepath.Join(root, "20", "root", "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "20", "uid_map"), []byte(rootlessMap), 0o444)
	os.WriteFile(filepath.Join(root, "20", "root", "etc", "passwd"), []byte("www:x:33:33:web:/var/www:/bin/false\n"), 0o644)
	c := newUserCache(root)
	const ns = 4026532999
	if n := c.names(ns, 30); len(n.users) != 0 {
		t.Fatalf("names from a process without a root: %v", n.users)
	}
	if n := c.names(ns, 20); n.users[33].name != "www" {
		t.Errorf("after an exited process, the namespace's names are %v, want www for 33", n.users)
	}
}
