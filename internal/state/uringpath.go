package state

import (
	"time"

	"github.com/palisade-sec/palisade/internal/event"
)

// An io_uring open submitted with IOSQE_CQE_SKIP_SUCCESS is recorded at
// its submission (Record.IOUringSubmit) with the path as the process wrote
// it and no file identity: the file is not open yet. resolveSubmitted
// looks the path up as that process would (its dfd or cwd, inside its
// root, /proc/self meaning that process) and names the file it reaches:
// fd.dev, fd.ino and fd.identity, and fd.name the file's path in the
// process's root. Such records are rare; a budget (uringResolveRate a
// second, uringResolveBurst at once) bounds the lookups a flood of them
// can cost. A process already gone leaves the fd as the record named it.

const (
	uringResolveRate  = 100.0
	uringResolveBurst = 100.0
)

// uringBudget paces resolveSubmitted; only the event loop touches it.
type uringBudget struct {
	tokens float64
	filled time.Time
	now    func() time.Time // time.Now unless testing
	// Skipped counts the lookups left out over the budget.
	skipped uint64
}

func (b *uringBudget) take() bool {
	now := time.Now
	if b.now != nil {
		now = b.now
	}
	t := now()
	if b.filled.IsZero() {
		b.tokens = uringResolveBurst
	} else if d := t.Sub(b.filled).Seconds(); d > 0 {
		b.tokens = min(uringResolveBurst, b.tokens+d*uringResolveRate)
	}
	b.filled = t
	if b.tokens < 1 {
		b.skipped++
		return false
	}
	b.tokens--
	return true
}

// resolveSubmitted fills fd (from an open recorded at submission by
// process pid, with dfd and the path name as written) with the file the
// name reaches in that process, when the budget allows and it is found.
func (t *Table) resolveSubmitted(fd *event.FD, pid uint32, dfd int32, name string, nofollow bool) {
	if name == "" || fd.Ino != 0 || !t.uringBudget.take() {
		return
	}
	f, ok := resolveInProc(t.opts.ProcRoot, pid, dfd, name, nofollow)
	if !ok {
		return
	}
	fd.Dev, fd.Ino, fd.Nlink = uint64(f.dev), f.ino, f.nlink
	if f.name != "" {
		fd.Name = f.name
	}
	if t.opts.Identify != nil {
		fd.Identity = t.opts.Identify(f.dev, f.ino)
	}
}

// resolvedFile is what resolveInProc found: the kernel's dev_t, inode
// and link count of a regular file and its path in the process's root
// ("" when not known).
type resolvedFile struct {
	dev   uint32
	ino   uint64
	nlink uint32
	name  string
}
