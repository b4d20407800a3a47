package state

import (
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

// The credential-change check (proc.cred_unexplained). A kernel exploit's
// usual end is a thread whose credentials were overwritten (commit_creds of
// a root cred, or a write to its struct cred): the uid becomes 0 with no
// call that grants it. Every record carries its thread's uid and euid, so
// the table remembers, per thread, the ids its last record carried, and
// asks of every change whether something explains it:
//
//   - a successful set*id or capset call: of the thread itself, or of any
//     thread of its process since the thread's last record (glibc's and Go's
//     setxid broadcast make every thread call set*id itself, but a sibling's
//     call is accepted too, so a record order across CPUs cannot mislead);
//   - an exec, for the euid only: a set-user-id binary changes the euid and
//     saved uid, never the real uid, and file capabilities change neither;
//   - a new thread or process starts with the ids of the one that made it.
//
// A change to uid or euid 0 that nothing explains marks the process, and
// the processes it forks and the images it execs, for its lifetime.
// Capabilities are not checked: unshare(CLONE_NEWUSER) legitimately gives
// a full set in the new namespace.

// thrCred is what a thread's last record said of its ids.
type thrCred struct {
	tid, uid, euid uint32
	grants         uint32 // the process's grants when this was seen
}

// maxThreads bounds the threads remembered per process: beyond it the
// list restarts (a thread first seen is trusted), so memory stays bounded
// for processes that churn threads without their exits being seen.
const maxThreads = 4096

func (pr *proc) thread(tid uint32) int {
	for i := range pr.thr {
		if pr.thr[i].tid == tid {
			return i
		}
	}
	return -1
}

func (pr *proc) dropThread(tid uint32) {
	if i := pr.thread(tid); i >= 0 {
		last := len(pr.thr) - 1
		pr.thr[i] = pr.thr[last]
		pr.thr = pr.thr[:last]
	}
}

// checkCreds compares a record's ids with those its thread had; granted is
// set when the record is the exit of a successful set*id or capset call.
func (t *Table) checkCreds(pr *proc, r *ebpf.Record, granted bool) {
	if granted {
		pr.grants++
	}
	// Most records: the same thread as the last, with the same ids.
	if len(pr.thr) > 0 && pr.thr[0].tid == r.TID && pr.thr[0].uid == r.UID && pr.thr[0].euid == r.EUID {
		pr.thr[0].grants = pr.grants
		return
	}
	i := pr.thread(r.TID)
	if i < 0 {
		if len(pr.thr) >= maxThreads {
			pr.thr = pr.thr[:0]
		}
		pr.thr = append(pr.thr, thrCred{tid: r.TID, uid: r.UID, euid: r.EUID, grants: pr.grants})
		return
	}
	tc := &pr.thr[i]
	if (tc.uid != r.UID || tc.euid != r.EUID) && !granted && tc.grants == pr.grants {
		if gainsRoot(tc.uid, r.UID) || gainsRoot(tc.euid, r.EUID) {
			markCreds(pr.p, tc.uid)
		}
	}
	tc.uid, tc.euid, tc.grants = r.UID, r.EUID, pr.grants
	if i != 0 { // keep the thread seen last first
		pr.thr[0], pr.thr[i] = pr.thr[i], pr.thr[0]
	}
}

// execCreds checks an exec record: np is the new image's process. Only
// the real uid must be unchanged (see above); the threads other than the
// one that exec'd are gone.
func (t *Table) execCreds(pr *proc, np *event.Process, r *ebpf.Record) {
	if i := pr.thread(r.TID); i >= 0 && pr.thr[i].grants == pr.grants {
		if old := pr.thr[i].uid; old != r.UID && gainsRoot(old, r.UID) {
			markCreds(np, old)
		}
	}
	pr.thr = append(pr.thr[:0], thrCred{tid: r.TID, uid: r.UID, euid: r.EUID, grants: pr.grants})
}

func gainsRoot(old, now uint32) bool { return now == 0 && old != 0 }

func markCreds(p *event.Process, prev uint32) {
	if !p.CredUnexplained {
		p.CredUnexplained, p.PrevHostUID = true, int64(prev)
	}
}
