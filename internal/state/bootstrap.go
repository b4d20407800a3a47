package state

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/event"
)

// Bootstrap loads every running process from /proc, with its fds, so
// events from processes started before the agent have full context. With
// Options.Lazy it only counts them (Running): each is then read from /proc
// on its first record, with its ancestors.
func (t *Table) Bootstrap(ctx context.Context) error {
	ents, err := os.ReadDir(t.opts.ProcRoot)
	if err != nil {
		return err
	}
	if t.opts.Lazy {
		t.running = 0
		for _, e := range ents {
			if _, err := strconv.ParseUint(e.Name(), 10, 32); err == nil {
				t.running++
			}
		}
		return nil
	}
	var pids []uint32
	for _, e := range ents {
		n, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		if _, ok := t.procs[uint32(n)]; ok {
			continue
		}
		if pr := t.fromProc(ctx, uint32(n)); pr != nil {
			t.procs[uint32(n)] = pr
			pids = append(pids, uint32(n))
		}
	}
	t.running = len(pids)
	// Link parents once everyone is loaded.
	for _, pid := range pids {
		pr := t.procs[pid]
		if parent, ok := t.procs[uint32(pr.p.PPID)]; ok && parent != pr {
			pr.p.Parent = parent.p
			parent.parented = true
		}
	}
	return nil
}

// maxAncestors bounds how far load follows parents up the tree.
const maxAncestors = 64

// load reads pid from /proc into the table and links its parent, loading
// that the same way when the table does not hold it yet.
func (t *Table) load(ctx context.Context, pid uint32, depth int) *proc {
	pr := t.fromProc(ctx, pid)
	if pr == nil {
		return nil
	}
	t.procs[pid] = pr
	if t.lastPID == pid {
		t.last = nil
	}
	ppid := uint32(pr.p.PPID)
	if ppid == 0 || ppid == pid || depth >= maxAncestors {
		return pr
	}
	parent, ok := t.procs[ppid]
	if !ok {
		parent = t.load(ctx, ppid, depth+1)
	}
	if parent != nil {
		pr.p.Parent = parent.p
		parent.parented = true
	}
	return pr
}

// Running is how many processes were running at Bootstrap.
func (t *Table) Running() int { return t.running }

var bootTime = func() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n * 1e9
		}
	}
	return 0
}()

const clockTicks = 100 // USER_HZ on Linux

// fromProc reads one process from /proc; nil if it is gone.
func (t *Table) fromProc(ctx context.Context, pid uint32) *proc {
	dir := filepath.Join(t.opts.ProcRoot, strconv.FormatUint(uint64(pid), 10))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return nil
	}
	p := &event.Process{PID: int64(pid), TID: int64(pid), VPID: int64(pid), VTID: int64(pid), LoginUID: -1}
	// comm is in parentheses and may contain spaces or parentheses.
	s := string(stat)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return nil
	}
	p.Name = t.intern(s[open+1 : close])
	f := strings.Fields(s[close+1:])
	if len(f) > 19 {
		p.PPID, _ = strconv.ParseInt(f[1], 10, 64)
		p.VPGID, _ = strconv.ParseInt(f[2], 10, 64)
		p.SID, _ = strconv.ParseInt(f[3], 10, 64)
		p.TTY, _ = strconv.ParseInt(f[4], 10, 64)
		start, _ := strconv.ParseInt(f[19], 10, 64)
		p.StartTime = bootTime + start*int64(time.Second)/clockTicks
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(b) > 0 {
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		for i := range argv {
			argv[i] = t.intern(argv[i])
		}
		p.Exe, p.Args = argv[0], argv[1:]
	} else {
		p.Exe = p.Name
	}
	p.ExePath, _ = os.Readlink(filepath.Join(dir, "exe"))
	p.ExePath = t.intern(strings.TrimSuffix(p.ExePath, " (deleted)"))
	p.ExeFromMemfd = strings.HasPrefix(p.ExePath, "/memfd:")
	cwd, _ := os.Readlink(filepath.Join(dir, "cwd"))
	p.Cwd = t.intern(dirSlash(cwd))
	// The environment is not read from /proc: the kernel source captures it
	// at exec only when a rule reads proc.env (Options.Env), and it is most
	// of a process's memory. Processes running before the agent started have
	// none.
	if b, err := os.ReadFile(filepath.Join(dir, "loginuid")); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n != 4294967295 {
			p.LoginUID = n
		}
	}
	mntNS, pidNS := nsInode(dir, "mnt"), nsInode(dir, "pid")
	if b, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			fs := strings.Fields(v)
			if len(fs) == 0 {
				continue
			}
			switch k {
			case "Uid":
				if len(fs) > 1 {
					p.UID, _ = strconv.ParseInt(fs[1], 10, 64)
				}
			case "Gid":
				if len(fs) > 1 {
					p.GID, _ = strconv.ParseInt(fs[1], 10, 64)
				}
			case "CapEff":
				u, _ := strconv.ParseUint(fs[0], 16, 64)
				p.CapEffective = u
			case "CapPrm":
				u, _ := strconv.ParseUint(fs[0], 16, 64)
				p.CapPermitted = u
			case "CapInh":
				u, _ := strconv.ParseUint(fs[0], 16, 64)
				p.CapInheritable = u
			case "NSpid":
				p.VPID, _ = strconv.ParseInt(fs[len(fs)-1], 10, 64)
				p.VTID = p.VPID
			}
		}
	}
	// /proc/PID/status gives the ids as the agent's (the host's) user
	// namespace sees them.
	pr := &proc{p: p, mntNS: mntNS, pidNS: pidNS, named: true, namedUID: p.UID, namedGID: p.GID}
	t.users.fill(p, mntNS, pid, p.UID)
	t.users.fillGroup(p, mntNS, pid, p.GID)
	if b, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil {
		p.Container = event.Host
		if ref, ok := container.ParseProcCgroup(string(b)); ok {
			if p.Container = t.resolve(ctx, ref); !p.Container.IsHost() {
				pr.ctrKey = ref.ShortID() + ref.Runtime
			}
		} else {
			t.containerByNamespace(ctx, pr)
		}
	}
	// Open files (sockets are learned from later syscalls).
	if fds, err := os.ReadDir(filepath.Join(dir, "fd")); err == nil && len(fds) < 65536 {
		for _, fe := range fds {
			n, err := strconv.ParseInt(fe.Name(), 10, 64)
			if err != nil {
				continue
			}
			target, err := os.Readlink(filepath.Join(dir, "fd", fe.Name()))
			if err != nil {
				continue
			}
			fd := &event.FD{Num: n, Name: t.intern(target)}
			switch typ, pseudo := pseudoFDType(target); {
			case pseudo && typ == event.FDUnknown:
				continue
			case pseudo:
				fd.Type = typ
				fd.Ino = pseudoIno(fd)
			case strings.HasPrefix(target, "/"):
				fd.Type = event.FDFile
				if fi, err := os.Stat(filepath.Join(dir, "fd", fe.Name())); err == nil && fi.IsDir() {
					fd.Type = event.FDDirectory
				}
			case strings.HasPrefix(target, "socket:"):
				fd.Type = event.FDUnknown
			default:
				continue
			}
			pr.fds.set(n, fd)
		}
	}
	return pr
}

// maxInterned bounds the strings the table shares between processes.
const maxInterned = 1 << 16

// intern returns s, or an equal string already held: a host runs many
// copies of the same programs, with the same names, paths, arguments and
// descriptors, and a copy of each per process is most of the table's
// memory. It also detaches s from the larger buffer it may be cut from.
func (t *Table) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := t.strs[s]; ok {
		return v
	}
	s = strings.Clone(s)
	if len(t.strs) < maxInterned {
		t.strs[s] = s
	}
	return s
}

// nsInode is the inode of the namespace dir/ns/kind (dir is /proc/PID), 0
// when it cannot be read.
func nsInode(dir, kind string) uint32 {
	fi, err := os.Stat(filepath.Join(dir, "ns", kind))
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint32(st.Ino)
	}
	return 0
}
