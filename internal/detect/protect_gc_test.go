package detect

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

// fakeMap is the kernel's protected_inodes: a set with a fixed room.
type fakeMap struct {
	room int
	keys map[ebpf.FileID]bool
}

func (m *fakeMap) protect(ids ...ebpf.FileID) error {
	for _, id := range ids {
		if !m.keys[id] && len(m.keys) >= m.room {
			return ebpf.ErrProtectedFull
		}
		m.keys[id] = true
	}
	return nil
}

func (m *fakeMap) unprotect(ids ...ebpf.FileID) error {
	for _, id := range ids {
		delete(m.keys, id)
	}
	return nil
}

// rootTree makes a root under dir with /etc/shadow and files files in
// /usr/bin, and returns its path.
func rootTree(t *testing.T, dir string, files int) string {
	t.Helper()
	for _, d := range []string{"etc", "usr/bin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, dir, "/etc/shadow", "root:x")
	for i := range files {
		write(t, dir, "/usr/bin/b"+strconv.Itoa(i), "#!/bin/sh")
	}
	return dir
}

// TestProtectContainersGone runs containers that come and go (each its
// own files, some sharing one image layer's, one sharing a file with the
// host by hard link) and checks that the protected set and the kernel map
// go back to the host's, that an identity stays while one owner holds
// it, and that a full map warns once, counts, and takes the refused
// identities when room comes back.
func TestProtectContainersGone(t *testing.T) {
	base := t.TempDir()
	host := rootTree(t, filepath.Join(base, "host"), 5)
	shared := rootTree(t, filepath.Join(base, "layer"), 5) // one image layer, two containers
	// A container whose /usr/bin/x is the host's /usr/bin/b0 (same inode).
	linked := rootTree(t, filepath.Join(base, "linked"), 0)
	if err := os.Link(filepath.Join(host, "usr/bin/b0"), filepath.Join(linked, "usr/bin/x")); err != nil {
		t.Fatal(err)
	}
	const containers = 40
	dirs := map[int64]string{}
	for i := range containers {
		dirs[int64(100+i)] = rootTree(t, filepath.Join(base, "c"+strconv.Itoa(i)), 5)
	}
	dirs[200], dirs[201], dirs[202] = shared, shared, linked

	km := &fakeMap{room: 64, keys: map[ebpf.FileID]bool{}}
	p := newProtector(ProtectedNames{Files: []string{"/etc/shadow"}, Dirs: []string{"/usr/bin"}}, km.protect, km.unprotect)
	var log bytes.Buffer
	p.log = &log
	now := time.Unix(1e9, 0)
	p.now = func() time.Time { return now }
	alive := map[int64]bool{}
	p.rootPath = func(root string, pid int64) string {
		if root == hostID {
			return host
		}
		if !alive[pid] {
			return filepath.Join(base, "gone")
		}
		return dirs[pid]
	}
	p.scanHost()
	hostSize := len(p.byInode)
	if hostSize != 6 || len(km.keys) != 6 {
		t.Fatalf("host: %d identities, %d in the map; want 6, 6", hostSize, len(km.keys))
	}
	start := func(id string, pid int64) {
		t.Helper()
		alive[pid] = true
		if done, _ := p.scanContainer(id, &event.Process{PID: pid, Container: &event.Container{ID: id}}, true); !done {
			t.Fatalf("%s: root not found", id)
		}
	}
	stop := func(pids ...int64) int {
		for _, pid := range pids {
			delete(alive, pid)
		}
		now = now.Add(sweepInterval)
		return p.sweep()
	}

	// Waves of containers: the map (room 64) fills in the first wave.
	for wave := range 4 {
		var pids []int64
		for i := range 10 {
			pid := int64(100 + wave*10 + i)
			start("c"+strconv.Itoa(wave*10+i), pid)
			pids = append(pids, pid)
		}
		if wave == 0 {
			if !p.full || p.Left() == 0 {
				t.Fatalf("map of 64 with %d identities: full %v, left out %d; want full and counted", len(p.byInode), p.full, p.Left())
			}
		}
		if n := stop(pids...); n != 10 {
			t.Fatalf("wave %d: sweep forgot %d roots, want 10", wave, n)
		}
		if len(p.byInode) != hostSize || len(p.byName) != hostSize || len(km.keys) != hostSize || len(p.roots) != 1 {
			t.Fatalf("wave %d gone: %d identities, %d names, %d in the map, %d roots; want the host's %d, %d, %d, 1",
				wave, len(p.byInode), len(p.byName), len(km.keys), len(p.roots), hostSize, hostSize, hostSize)
		}
	}
	if got := strings.Count(log.String(), "protected_inodes full"); got != 1 {
		t.Errorf("warnings about the full map: %d, want 1:\n%s", got, log.String())
	}

	// Two containers on one layer: its identities stay while one runs.
	start("s1", 200)
	start("s2", 201)
	start("l1", 202)
	layer := len(p.byInode) - hostSize - 1 // l1's /etc/shadow is its own
	if layer != 6 {
		t.Fatalf("shared layer: %d new identities, want 6", layer)
	}
	stop(200)
	if len(p.byInode) != hostSize+7 || len(km.keys) != hostSize+7 {
		t.Fatalf("s1 gone, s2 runs: %d identities, %d in the map; want %d", len(p.byInode), len(km.keys), hostSize+7)
	}
	if identityOf(t, p, shared, "/usr/bin/b3") == "" {
		t.Fatal("s1 gone: the layer's /usr/bin/b3 is no longer protected while s2 runs")
	}
	stop(201, 202)
	if len(p.byInode) != hostSize || len(km.keys) != hostSize {
		t.Fatalf("all gone: %d identities, %d in the map; want %d", len(p.byInode), len(km.keys), hostSize)
	}
	// The host's /usr/bin/b0, which l1 had too, stays.
	if identityOf(t, p, host, "/usr/bin/b0") != "/usr/bin/b0" {
		t.Fatal("l1 gone: the host's /usr/bin/b0 is no longer protected")
	}
	if !km.keys[fileID(t, host, "/usr/bin/b0")] {
		t.Fatal("l1 gone: the host's /usr/bin/b0 left the kernel map")
	}
}

// TestProtectFullRetries checks that identities a full map refused get
// in once a gone container frees room.
func TestProtectFullRetries(t *testing.T) {
	base := t.TempDir()
	host := rootTree(t, filepath.Join(base, "host"), 0)
	a := rootTree(t, filepath.Join(base, "a"), 3)
	b := rootTree(t, filepath.Join(base, "b"), 3)
	km := &fakeMap{room: 6, keys: map[ebpf.FileID]bool{}}
	p := newProtector(ProtectedNames{Files: []string{"/etc/shadow"}, Dirs: []string{"/usr/bin"}}, km.protect, km.unprotect)
	now := time.Unix(1e9, 0)
	p.now = func() time.Time { return now }
	alive := map[int64]bool{1: true, 2: true}
	p.rootPath = func(root string, pid int64) string {
		switch {
		case root == hostID:
			return host
		case !alive[pid]:
			return filepath.Join(base, "gone")
		case pid == 1:
			return a
		}
		return b
	}
	p.scanHost()
	p.scanContainer("a", &event.Process{PID: 1, Container: &event.Container{ID: "a"}}, true)
	p.scanContainer("b", &event.Process{PID: 2, Container: &event.Container{ID: "b"}}, true)
	if !p.full || p.Left() == 0 {
		t.Fatalf("9 identities in a map of 6: full %v, left out %d", p.full, p.Left())
	}
	delete(alive, 1)
	now = now.Add(sweepInterval)
	p.sweep()
	for _, name := range []string{"/etc/shadow", "/usr/bin/b0", "/usr/bin/b1", "/usr/bin/b2"} {
		if !km.keys[fileID(t, b, name)] {
			t.Errorf("a gone: b's %s is not in the kernel map", name)
		}
	}
	if p.full || len(km.keys) != 5 {
		t.Errorf("a gone: full %v, %d in the map; want false, 5", p.full, len(km.keys))
	}
}

func fileID(t *testing.T, dir, name string) ebpf.FileID {
	t.Helper()
	k, _, ok := statIn(openDir(t, dir), name, true)
	if !ok {
		t.Fatalf("%s%s: no such file", dir, name)
	}
	return ebpf.FileID{Ino: k.ino, Dev: k.dev}
}

func openDir(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return int(f.Fd())
}

// TestProtectSweepKeepsRunning checks that a container found through a
// short-lived process is not forgotten while another process of it runs.
func TestProtectSweepKeepsRunning(t *testing.T) {
	base := t.TempDir()
	host := rootTree(t, filepath.Join(base, "host"), 0)
	c := rootTree(t, filepath.Join(base, "c"), 3)
	p := newProtector(ProtectedNames{Files: []string{"/etc/shadow"}, Dirs: []string{"/usr/bin"}}, nil, nil)
	now := time.Unix(1e9, 0)
	p.now = func() time.Time { return now }
	alive := map[int64]bool{7: true, 8: true}
	p.rootPath = func(root string, pid int64) string {
		if root == hostID {
			return host
		}
		if !alive[pid] {
			return filepath.Join(base, "gone")
		}
		return c
	}
	p.scanHost()
	ct := &event.Container{ID: "c"}
	p.scanContainer("c", &event.Process{PID: 7, Container: ct}, true) // a docker exec
	p.scanContainer("c", &event.Process{PID: 8, Container: ct}, false)
	delete(alive, 7)
	now = now.Add(sweepInterval)
	if n := p.sweep(); n != 0 || identityOf(t, p, c, "/usr/bin/b1") == "" {
		t.Fatalf("pid 8 of c runs: sweep forgot %d roots, /usr/bin/b1 is %q", n, identityOf(t, p, c, "/usr/bin/b1"))
	}
	delete(alive, 8)
	now = now.Add(sweepInterval)
	if n := p.sweep(); n != 1 || identityOf(t, p, c, "/usr/bin/b1") != "" {
		t.Fatalf("c gone: sweep forgot %d roots, /usr/bin/b1 is %q", n, identityOf(t, p, c, "/usr/bin/b1"))
	}
}
