package detect

import (
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/rules"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// The rule lists whose files are protected by identity: opens of their
// inodes are named (fd.identity) under any name, and never shed.
var (
	protectedFileLists = []string{"sensitive_file_names", "user_database_files"}
	// The files directly in these directories (not below them).
	protectedDirLists = []string{"sensitive_directories", "binary_directories"}
)

// maxDirEntries bounds the files protected per directory, so that a huge
// /usr/lib costs a bounded scan.
const maxDirEntries = 4096

// ProtectedNames is the set of names protected by identity.
type ProtectedNames struct {
	Files []string // absolute names
	Dirs  []string // directories whose files are protected
}

// ProtectedFrom reads the protected names from the rules' lists
// (sensitive_file_names, user_database_files, sensitive_directories,
// binary_directories), so that a user's override of a list moves the
// protection with it. Nil rules give none.
func ProtectedFrom(rs *rules.Ruleset) ProtectedNames {
	var p ProtectedNames
	if rs == nil {
		return p
	}
	seen := map[string]bool{}
	for _, l := range rs.Lists {
		dst := &p.Files
		switch {
		case contains(protectedFileLists, l.Name):
		case contains(protectedDirLists, l.Name):
			dst = &p.Dirs
		default:
			continue
		}
		for _, it := range l.Items {
			if path.IsAbs(it) && !seen[l.Name+"\x00"+it] {
				seen[l.Name+"\x00"+it] = true
				*dst = append(*dst, path.Clean(it))
			}
		}
	}
	return p
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

type inodeKey struct {
	dev uint32
	ino uint64
}

// nameKey is a protected name in one root: the host's (hostID) or a
// container's (its id).
type nameKey struct {
	root, name string
}

// Bounds on what the protected set may grow to past the scans.
const (
	// maxProtected bounds the identities held (about 100 bytes each).
	maxProtected = 1 << 18
	// maxDetached bounds the old identities of protected names that were
	// renamed away (still the protected content, under another name).
	maxDetached = 1024
	// maxPending bounds the names waiting for a refresh over the budget.
	maxPending = 4096
	// refreshRate and refreshBurst are the refresh budget: renames,
	// links and unlinks of protected names cost a few syscalls each, and
	// an attacker can make them in a loop.
	refreshRate  = 200 // per second
	refreshBurst = 200
	// eagerScanAttempts is how many records of a container try to find
	// its root, one after the other, before the tries slow down: then a
	// record tries only when it comes from another process than the last
	// try, or is an exec (the runtime's init execs the entrypoint once it
	// has pivoted into the container's root), or scanRetry has passed. A
	// container whose processes stay in the host's root costs little.
	eagerScanAttempts = 64
	scanRetry         = time.Second
	// rootAncestors is how far up a container's process tree a root is
	// looked for when the process itself is gone.
	rootAncestors = 8
	// sweepInterval is how often the remembered roots are checked for
	// containers that are gone (sweep); rootForget is how long a root
	// never found is kept after its last try.
	sweepInterval = 10 * time.Second
	rootForget    = time.Minute
)

// rootScan is what is known of one root.
type rootScan struct {
	done     bool
	attempts int
	lastPID  int64     // the process of the last try
	lastTry  time.Time // and when
	// pids are processes the root was found through (the first is
	// usually the container's init, and is kept while it answers), and
	// dev and ino the root directory's identity: the root of a
	// container's processes that are gone (docker exec's are gone when
	// their records are read) is found through them, if they still have
	// that root.
	pids     []int64
	dev, ino uint64
}

// protector keeps the identities of the protected files of every root
// seen (the host's, each container's), in user space for fd.identity and
// in the kernel so that their opens are never shed. It follows the
// renames, links, unlinks and creating opens of protected names (Note),
// so that a file replaced after the scan is protected under its new
// inode.
type protector struct {
	names ProtectedNames
	files map[string]bool // names.Files
	dirs  map[string]bool // names.Dirs
	// kernel and unkernel add identities to the kernel's protected set
	// and take them out; nil: user space only.
	kernel, unkernel func(...ebpf.FileID) error
	// rootPath is the directory a root's names resolve in, seen from the
	// agent: "/" for the host, /proc/PID/root for a container's process.
	rootPath func(root string, pid int64) string

	mu       sync.RWMutex
	byInode  map[inodeKey]string  // the protected name of an identity
	byName   map[nameKey]inodeKey // the identity of a protected name in a root
	refs     map[inodeKey]int     // how many names of byName have the identity
	roots    map[string]*rootScan // container ids and hostID
	detached int                  // identities kept for names renamed away
	full     bool                 // the kernel map is full
	// outside are identities of byInode the kernel map refused (full):
	// pushed again when a gone container frees room.
	outside map[inodeKey]bool
	// left counts identities left out of the kernel map or of byInode
	// (full); read by DropCounts from another goroutine.
	left atomic.Uint64
	// log gets one warning line the first time the kernel map, and the
	// first time byInode, is full.
	log                       io.Writer
	warnedKernel, warnedTable bool
	lastSweep                 time.Time
	sweepEvery                time.Duration // sweepInterval; shorter in tests
	hostDev                   uint64        // the host root's identity, to tell a container's root from it
	hostIno                   uint64

	// The refresh budget (refreshRate) and the names over it, refreshed
	// later by drain; only the event loop touches these.
	now     func() time.Time
	tokens  float64
	filled  time.Time
	pending map[nameKey][]int64 // the pids to find the root by
	// Missed counts refreshes dropped with the pending set full.
	missed uint64
}

func newProtector(names ProtectedNames, kernel, unkernel func(...ebpf.FileID) error) *protector {
	p := &protector{names: names, kernel: kernel, unkernel: unkernel, files: map[string]bool{}, dirs: map[string]bool{},
		byInode: map[inodeKey]string{}, byName: map[nameKey]inodeKey{}, refs: map[inodeKey]int{}, roots: map[string]*rootScan{},
		outside: map[inodeKey]bool{}, log: io.Discard, sweepEvery: sweepInterval, now: time.Now, tokens: refreshBurst, pending: map[nameKey][]int64{}}
	p.rootPath = func(root string, pid int64) string {
		if root == hostID {
			return "/"
		}
		return procRoot(pid)
	}
	for _, f := range names.Files {
		p.files[f] = true
	}
	for _, d := range names.Dirs {
		p.dirs[d] = true
	}
	var st unix.Stat_t
	if unix.Stat("/", &st) == nil {
		p.hostDev, p.hostIno = st.Dev, st.Ino
	}
	return p
}

// Identify is state.Options.Identify: the protected name of an inode.
func (p *protector) Identify(dev uint32, ino uint64) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.byInode[inodeKey{dev, ino}]
}

// isProtected says whether name (absolute, in its root) is a protected
// file's name or a name directly in a protected directory.
func (p *protector) isProtected(name string) bool {
	return name != "" && (p.files[name] || p.dirs[path.Dir(name)])
}

// scanHost protects the host's files.
func (p *protector) scanHost() {
	fd, err := unix.Open(p.rootPath(hostID, 0), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	p.mu.Lock()
	p.roots[hostID] = &rootScan{done: true}
	p.mu.Unlock()
	p.scan(hostID, fd)
}

// scanContainer protects the files of container id, seen in process
// proc, unless they are protected already. The root is looked for in
// proc's /proc/PID/root, else in its ancestors' of the same container (a
// short-lived process is often gone when its records are read); a
// process still in the host's root (the runtime's init before its
// pivot_root) does not count. Tries are paced (eagerScanAttempts); exec
// says the record is an exec. It says whether the container's files are
// protected, and whether that happened now.
func (p *protector) scanContainer(id string, proc *event.Process, exec bool) (done, fresh bool) {
	p.mu.Lock()
	rs := p.roots[id]
	if rs == nil {
		rs = &rootScan{}
		p.roots[id] = rs
	}
	if rs.done {
		// A recent process of it: sweep tells the container gone by
		// these, and the first one found may be a short-lived docker exec.
		if !slices.Contains(rs.pids, proc.PID) {
			if len(rs.pids) < rootPIDsKept {
				rs.pids = append(rs.pids, proc.PID)
			} else {
				rs.pids[len(rs.pids)-1] = proc.PID // the first stays
			}
		}
		p.mu.Unlock()
		return true, false
	}
	now := p.now()
	if rs.attempts >= eagerScanAttempts && !exec && proc.PID == rs.lastPID && now.Sub(rs.lastTry) < scanRetry {
		p.mu.Unlock()
		return false, false
	}
	rs.attempts++
	rs.lastPID, rs.lastTry = proc.PID, now
	p.mu.Unlock()
	fd, ok := p.openRoot(id, rootPIDs(id, proc))
	if !ok {
		return false, false
	}
	defer unix.Close(fd)
	p.mu.Lock()
	rs.done = true
	p.mu.Unlock()
	p.scan(id, fd)
	return true, true
}

// rootPIDs are the host pids of proc and its ancestors in container id,
// nearest first.
func rootPIDs(id string, proc *event.Process) []int64 {
	var pids []int64
	for q := proc; q != nil && len(pids) < rootAncestors; q = q.Parent {
		if id != hostID && (q.Container == nil || q.Container.ID != id) {
			break
		}
		pids = append(pids, q.PID)
	}
	return pids
}

// rootPIDsKept is how many processes a root is remembered by.
const rootPIDsKept = 4

// openRoot opens (O_PATH) the root of root as the first of pids, then
// of the processes it was found through before, that is alive, past its
// pivot_root and (once known) in the same root directory; the host's
// root needs no pid.
func (p *protector) openRoot(root string, pids []int64) (int, bool) {
	if root == hostID {
		fd, err := unix.Open(p.rootPath(hostID, 0), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return fd, err == nil
	}
	p.mu.Lock()
	rs := p.roots[root]
	if rs == nil {
		rs = &rootScan{}
		p.roots[root] = rs
	}
	known, dev, ino := rs.dev != 0 || rs.ino != 0, rs.dev, rs.ino
	kept := len(rs.pids)
	pids = append(pids[:len(pids):len(pids)], rs.pids...)
	p.mu.Unlock()
	var lost []int64 // remembered processes that no longer answer
	defer func() {
		if len(lost) > 0 {
			p.mu.Lock()
			rs.pids = slices.DeleteFunc(rs.pids, func(q int64) bool { return slices.Contains(lost, q) })
			p.mu.Unlock()
		}
	}()
	for i, pid := range pids {
		remembered := i >= len(pids)-kept
		fd, err := unix.Open(p.rootPath(root, pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			if remembered {
				lost = append(lost, pid)
			}
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil && !(st.Dev == p.hostDev && st.Ino == p.hostIno) && (!known || (st.Dev == dev && st.Ino == ino)) {
			p.mu.Lock()
			rs.dev, rs.ino = st.Dev, st.Ino
			if !slices.Contains(rs.pids, pid) {
				if len(rs.pids) < rootPIDsKept {
					rs.pids = append(rs.pids, pid)
				} else {
					rs.pids[len(rs.pids)-1] = pid // the first stays
				}
			}
			p.mu.Unlock()
			return fd, true
		}
		unix.Close(fd)
		if remembered {
			lost = append(lost, pid)
		}
	}
	return -1, false
}

// statIn is the identity of the regular file name in the tree at rootFD,
// the name resolved inside it (RESOLVE_IN_ROOT: a container's absolute
// symlinks stay in the container); follow says whether a final symlink
// is followed.
func statIn(rootFD int, name string, follow bool) (inodeKey, uint32, bool) {
	flags := uint64(unix.O_PATH | unix.O_CLOEXEC)
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := unix.Openat2(rootFD, name, &unix.OpenHow{Flags: flags, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return inodeKey{}, 0, false
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	unix.Close(fd)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return inodeKey{}, 0, false
	}
	return inodeKey{ebpf.KernelDev(st.Dev), st.Ino}, uint32(st.Nlink), true
}

// scan protects the protected files of the tree at rootFD (the host's
// root, a container's) and returns how many new identities it found.
func (p *protector) scan(root string, rootFD int) int {
	var ids []ebpf.FileID
	add := func(name string) {
		k, _, ok := statIn(rootFD, name, true)
		if !ok {
			return
		}
		p.mu.Lock()
		if p.setName(nameKey{root, name}, k) {
			ids = append(ids, ebpf.FileID{Ino: k.ino, Dev: k.dev})
		}
		p.mu.Unlock()
	}
	for _, f := range p.names.Files {
		add(f)
	}
	for _, d := range p.names.Dirs {
		fd, err := unix.Openat2(rootFD, d, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
		if err != nil {
			continue
		}
		f := os.NewFile(uintptr(fd), d)
		names, _ := f.Readdirnames(maxDirEntries)
		f.Close()
		for _, n := range names {
			add(path.Join(d, n))
		}
	}
	p.toKernel(ids)
	return len(ids)
}

// setName makes k the identity of name (p.mu held) and says whether k is
// a new protected identity.
func (p *protector) setName(n nameKey, k inodeKey) bool {
	if old, ok := p.byName[n]; ok {
		if old == k {
			return false
		}
		p.dropName(n, false)
	}
	p.byName[n] = k
	if p.refs[k]++; p.refs[k] == 1 {
		if _, ok := p.byInode[k]; ok {
			// Kept after its name was renamed away, and named again.
			p.byInode[k] = n.name
			p.detached--
			return false
		}
	}
	if _, ok := p.byInode[k]; ok {
		return false
	}
	if len(p.byInode) >= maxProtected {
		p.left.Add(1)
		if !p.warnedTable {
			p.warnedTable = true
			fmt.Fprintf(p.log, "palisade: warning: protected file table full (%d identities): new protected files are not identified (fd.identity) and their renames and links are not followed; see docs/kernel.md, File identity\n", maxProtected)
		}
		return false
	}
	p.byInode[k] = n.name
	return true
}

// dropName forgets name's identity (p.mu held) and returns it when no
// other name has it any more and it is not kept: its inode number may be
// given to an unrelated file. keep keeps it (a file renamed away is still
// the protected content under another name), up to maxDetached.
func (p *protector) dropName(n nameKey, keep bool) (inodeKey, bool) {
	old, ok := p.byName[n]
	if !ok {
		return inodeKey{}, false
	}
	delete(p.byName, n)
	if p.refs[old]--; p.refs[old] > 0 {
		return inodeKey{}, false
	}
	delete(p.refs, old)
	delete(p.outside, old)
	if keep && p.detached < maxDetached {
		p.detached++
		return inodeKey{}, false
	}
	delete(p.byInode, old)
	return old, true
}

// toKernel adds ids to the kernel map; when it is full they are kept in
// outside, counted and warned about once.
func (p *protector) toKernel(ids []ebpf.FileID) {
	if p.kernel == nil || len(ids) == 0 {
		return
	}
	if !p.full {
		err := p.kernel(ids...)
		if err == nil {
			return
		}
		p.full = true
		if !p.warnedKernel {
			p.warnedKernel = true
			fmt.Fprintf(p.log, "palisade: warning: kernel map protected_inodes full: %v; io_uring reads and writes of files protected from now on are not recorded and their opens may be shed (palisade_protected_files_left_out_total); see docs/kernel.md, File identity\n", err)
		}
	}
	// Those of the batch that got in are pushed again later: an update of
	// a key the map holds never fails for room.
	p.mu.Lock()
	for _, id := range ids {
		k := inodeKey{id.Dev, id.Ino}
		if _, ok := p.byInode[k]; ok && !p.outside[k] {
			p.outside[k] = true
			p.left.Add(1)
		}
	}
	p.mu.Unlock()
}

// sweep forgets the containers that are gone, at most every
// sweepInterval: a container is gone when none of the processes its root
// was found through (the first is usually its init, which lives as long
// as it does) still has that root. A root never found is forgotten
// rootForget after its last try. A container forgotten while it still
// runs is scanned again at its next record. It returns how many roots it
// forgot.
func (p *protector) sweep() int {
	now := p.now()
	if now.Sub(p.lastSweep) < p.sweepEvery {
		return 0
	}
	p.lastSweep = now
	type check struct {
		id       string
		pids     []int64
		dev, ino uint64
	}
	var checks []check
	var gone []string
	p.mu.RLock()
	for id, rs := range p.roots {
		switch {
		case id == hostID:
		case rs.dev != 0 || rs.ino != 0:
			checks = append(checks, check{id, slices.Clone(rs.pids), rs.dev, rs.ino})
		case now.Sub(rs.lastTry) >= rootForget:
			gone = append(gone, id)
		}
	}
	p.mu.RUnlock()
	for _, c := range checks {
		if !p.rootAlive(c.id, c.pids, c.dev, c.ino) {
			gone = append(gone, c.id)
		}
	}
	p.forget(gone...)
	return len(gone)
}

// rootAlive says whether one of pids still has the root directory dev, ino.
func (p *protector) rootAlive(id string, pids []int64, dev, ino uint64) bool {
	for _, pid := range pids {
		var st unix.Stat_t
		if unix.Stat(p.rootPath(id, pid), &st) == nil && st.Dev == dev && st.Ino == ino {
			return true
		}
	}
	return false
}

// forget drops the roots ids (containers gone): their names, their
// pending looks, and the identities no other name (another container's,
// the host's) still has, in user space and in the kernel map. Room freed
// in a full map takes identities it refused.
func (p *protector) forget(ids ...string) {
	if len(ids) == 0 {
		return
	}
	drop := map[string]bool{}
	for _, id := range ids {
		if id != hostID {
			drop[id] = true
		}
	}
	var gone, retry []ebpf.FileID
	p.mu.Lock()
	for id := range drop {
		delete(p.roots, id)
	}
	for n := range p.byName {
		if !drop[n.root] {
			continue
		}
		// Refused identities too: part of a refused batch may have got in.
		if k, dropped := p.dropName(n, false); dropped {
			gone = append(gone, ebpf.FileID{Ino: k.ino, Dev: k.dev})
		}
	}
	for n := range p.pending {
		if drop[n.root] {
			delete(p.pending, n)
		}
	}
	if p.full && len(gone) > 0 {
		p.full = false
		for k := range p.outside {
			retry = append(retry, ebpf.FileID{Ino: k.ino, Dev: k.dev})
			delete(p.outside, k)
		}
	}
	p.mu.Unlock()
	if p.unkernel != nil && len(gone) > 0 {
		p.unkernel(gone...)
	}
	p.toKernel(retry)
}

// Left is how many protected identities were left out of the kernel map
// or the table because it was full.
func (p *protector) Left() uint64 { return p.left.Load() }

// take spends one refresh from the budget; false when it is spent.
func (p *protector) take() bool {
	now := p.now()
	if !p.filled.IsZero() {
		p.tokens += now.Sub(p.filled).Seconds() * refreshRate
		if p.tokens > refreshBurst {
			p.tokens = refreshBurst
		}
	}
	p.filled = now
	if p.tokens < 1 {
		return false
	}
	p.tokens--
	return true
}

// refresh looks again at protected name in root (found through pids, see
// openRoot) after a call changed what it names, within the budget; over
// it the name waits in pending (one entry per name: a storm of renames
// of one name costs one look) for drain. movedTo, when set, is where the
// file the name had went (a rename's new name): if it is there, its
// identity stays protected.
func (p *protector) refresh(root string, pids []int64, name, movedTo string) {
	n := nameKey{root, name}
	if !p.take() {
		if _, ok := p.pending[n]; !ok && len(p.pending) >= maxPending {
			p.missed++
			return
		}
		p.pending[n] = pids
		return
	}
	delete(p.pending, n)
	p.refreshNow(n, pids, movedTo)
}

func (p *protector) refreshNow(n nameKey, pids []int64, movedTo string) {
	fd, ok := p.openRoot(n.root, pids)
	if !ok {
		return
	}
	defer unix.Close(fd)
	k, _, found := statIn(fd, n.name, true)
	keep := false
	if movedTo != "" {
		p.mu.RLock()
		old, had := p.byName[n]
		p.mu.RUnlock()
		m, _, ok := statIn(fd, movedTo, false)
		keep = had && ok && m == old
	}
	p.update(n, k, found, keep)
}

// update makes k (when found) the identity of name n, in user space and
// in the kernel.
func (p *protector) update(n nameKey, k inodeKey, found, keep bool) {
	var gone, added []ebpf.FileID
	p.mu.Lock()
	if old, ok := p.byName[n]; ok && (!found || old != k) {
		if o, dropped := p.dropName(n, keep); dropped {
			gone = append(gone, ebpf.FileID{Ino: o.ino, Dev: o.dev})
		}
	}
	if found && p.setName(n, k) {
		added = append(added, ebpf.FileID{Ino: k.ino, Dev: k.dev})
	}
	p.mu.Unlock()
	if p.unkernel != nil && len(gone) > 0 {
		p.unkernel(gone...)
	}
	p.toKernel(added)
}

// drain refreshes pending names as the budget allows.
func (p *protector) drain() {
	for n, pids := range p.pending {
		if !p.take() {
			return
		}
		delete(p.pending, n)
		p.refreshNow(n, pids, "")
	}
}

// What an event type's success may do to a protected name (noteKinds).
const (
	noteNone uint8 = iota
	noteOpen
	noteRename
	noteLink
	noteUnlink
)

// noteKinds maps event types to what Note does with them; the others,
// nearly every event, cost one bounds check and one load.
var noteKinds = func() []uint8 {
	kinds := map[string]uint8{"open": noteOpen, "openat": noteOpen, "openat2": noteOpen, "creat": noteOpen,
		"rename": noteRename, "renameat": noteRename, "renameat2": noteRename,
		"link": noteLink, "linkat": noteLink, "unlink": noteUnlink, "unlinkat": noteUnlink}
	var out []uint8
	for name, k := range kinds {
		t := int(event.TypeOf(name))
		for len(out) <= t {
			out = append(out, noteNone)
		}
		out[t] = k
	}
	return out
}()

// Note follows one event of root (hostID or a container's id): a
// successful rename, link, unlink or creating open that names a protected
// name makes it looked at again; a successful link of a protected file
// gets the file (ev.FD, with fd.identity) whatever either name is.
func (p *protector) Note(root string, ev *event.Event) {
	if len(p.pending) > 0 {
		p.drain()
	}
	kind := noteNone
	if int(ev.Type) < len(noteKinds) {
		kind = noteKinds[ev.Type]
	}
	if kind == noteNone || ev.Failed() || !ev.HasRes {
		return
	}
	switch kind {
	case noteOpen:
		fd := ev.FD
		if fd == nil || fd.Ino == 0 || fd.Identity != "" || fd.OutsideRoot {
			return
		}
		if a, ok := ev.ArgByName("flags"); !ok || a.Int&unix.O_CREAT == 0 || !p.isProtected(fd.Name) {
			return
		}
		// A new file under a protected name: the kernel gave its identity.
		p.update(nameKey{root, fd.Name}, inodeKey{uint32(fd.Dev), fd.Ino}, true, false)
		fd.Identity = p.Identify(uint32(fd.Dev), fd.Ino)
	case noteRename:
		// A file renamed from one protected name to another (dpkg's
		// x.dpkg-new to x) is let go by the old name and named by the new.
		oldp, newp := argStr(ev, "oldpath"), argStr(ev, "newpath")
		newProtected := p.isProtected(newp)
		if p.isProtected(oldp) {
			movedTo := newp
			if newProtected {
				movedTo = ""
			}
			p.refresh(root, rootPIDs(root, ev.Proc), oldp, movedTo)
		}
		if newProtected {
			p.refresh(root, rootPIDs(root, ev.Proc), newp, "")
		}
	case noteUnlink:
		name := argStr(ev, "path")
		if name == "" {
			name = argStr(ev, "name")
		}
		if p.isProtected(name) {
			p.refresh(root, rootPIDs(root, ev.Proc), name, "")
		}
	case noteLink:
		p.linked(root, ev)
	}
}

func argStr(ev *event.Event, name string) string {
	if a, ok := ev.ArgByName(name); ok {
		return a.Str
	}
	return ""
}

// linked gives a successful link of a protected file its file (ev.FD),
// known by identity: the new name is looked at, else the old one (as the
// call resolved it: a final symlink only with AT_SYMLINK_FOLLOW). Both
// are looked at in user space after the call, so a process that renames
// or removes both names before the agent reads the record goes without
// this alert; every open through a surviving link is still judged by the
// inode the kernel reports at the open.
func (p *protector) linked(root string, ev *event.Event) {
	newp, oldp := argStr(ev, "newpath"), argStr(ev, "oldpath")
	if p.isProtected(newp) {
		// A new name in a binary directory: protected from now on.
		p.refresh(root, rootPIDs(root, ev.Proc), newp, "")
	}
	fd, ok := p.openRoot(root, rootPIDs(root, ev.Proc))
	if !ok {
		return
	}
	defer unix.Close(fd)
	k, nlink, found := statIn(fd, newp, false)
	id := p.lookup(k, found)
	if id == "" && oldp != "" {
		follow := false
		if a, ok := ev.ArgByName("flags"); ok && a.Int&unix.AT_SYMLINK_FOLLOW != 0 {
			follow = true
		}
		k, nlink, found = statIn(fd, oldp, follow)
		id = p.lookup(k, found)
	}
	if id == "" {
		return
	}
	ev.FD = &event.FD{Num: -1, Type: event.FDFile, Name: newp, Dev: uint64(k.dev), Ino: k.ino, Nlink: nlink, Identity: id}
}

func (p *protector) lookup(k inodeKey, found bool) string {
	if !found {
		return ""
	}
	return p.Identify(k.dev, k.ino)
}

// procRoot is the root directory of a host process, as seen from the host.
func procRoot(pid int64) string { return "/proc/" + strconv.FormatInt(pid, 10) + "/root" }

// shedOpens are the opens the kernel may shed under pressure: only the
// read-only ones of unprotected inodes (and failed ones) go.
var shedOpens = []string{"open", "openat", "openat2"}

// shedStateOnly are state-only calls whose loss costs the state little: a
// missed close leaves an entry the next open of the number replaces, the
// others type pseudo files that no rule reads.
var shedStateOnly = []string{"close", "close_range", "fcntl", "epoll_create", "epoll_create1", "inotify_init",
	"inotify_init1", "timerfd_create", "eventfd", "eventfd2", "signalfd", "signalfd4"}

// ShedSet picks, from a capture set, the syscalls whose records the kernel
// drops first under pressure: the open family (read-only opens of
// unprotected files only), and the low-value state-only calls that no
// rule names. Everything a rule names otherwise (execve, connect, dup,
// ptrace, ...) is never shed.
func ShedSet(set []syscalls.Captured) []int {
	var out []int
	for _, c := range set {
		if contains(shedOpens, c.Name) || (!c.Rules && contains(shedStateOnly, c.Name)) {
			out = append(out, c.Nr)
		}
	}
	return out
}
