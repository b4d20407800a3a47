package state

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

// credRec is a syscall exit of tid in process 40 with the given real and
// effective uid.
func credRec(t *testing.T, name string, tid, uid, euid uint32, ret int64) ebpf.Record {
	return ebpf.Record{Kind: ebpf.KindSyscall, PID: 40, TID: tid, PPID: 1, Comm: "app", Nr: nr(t, name), UID: uid, EUID: euid, GID: uid, EGID: euid, Ret: ret, LoginUID: 1000}
}

func execRec(tid, uid, euid uint32) ebpf.Record {
	return ebpf.Record{Kind: ebpf.KindExec, PID: 40, TID: tid, PPID: 1, Comm: "sh", UID: uid, EUID: euid, LoginUID: 1000,
		Exec: &ebpf.ExecInfo{Filename: "/bin/sh", Argv: []string{"sh"}, Exe: "/bin/sh"}}
}

// applyCreds runs records through an empty table and reports whether the
// last event's process is marked, and its proc.prev_uid.
func applyCreds(t *testing.T, recs []ebpf.Record) (bool, int64) {
	t.Helper()
	tab := New(Options{ProcRoot: t.TempDir(), NativeArc: "x86_64"})
	ctx := context.Background()
	var e event.Event
	var last *event.Process
	for i := range recs {
		if tab.Apply(ctx, &recs[i], &e) {
			last = e.Proc
		}
	}
	if last == nil {
		t.Fatal("no event")
	}
	return last.CredUnexplained, last.PrevHostUID
}

func TestCredsUnexplained(t *testing.T) {
	cases := []struct {
		name string
		recs func(t *testing.T) []ebpf.Record
		want bool
	}{
		{"uid 1000 to 0 between two calls", func(t *testing.T) []ebpf.Record {
			return []ebpf.Record{credRec(t, "openat", 40, 1000, 1000, 3), credRec(t, "ioctl", 40, 0, 0, 0), credRec(t, "openat", 40, 0, 0, 3)}
		}, true},
		{"euid only, to 0, no call", func(t *testing.T) []ebpf.Record {
			return []ebpf.Record{credRec(t, "openat", 40, 1000, 1000, 3), credRec(t, "openat", 40, 1000, 0, 3)}
		}, true},
		{"root gained then exec of a shell: the real uid changed", func(t *testing.T) []ebpf.Record {
			return []ebpf.Record{credRec(t, "openat", 40, 1000, 1000, 3), execRec(40, 0, 0), credRec(t, "execve", 40, 0, 0, 0)}
		}, true},
		{"setuid(0) that succeeded", func(t *testing.T) []ebpf.Record {
			return []ebpf.Record{credRec(t, "openat", 40, 1000, 0, 3), credRec(t, "setuid", 40, 0, 0, 0), credRec(t, "openat", 40, 0, 0, 3)}
		}, false},
		{"setresuid that failed does not explain a later change", func(t *testing.T) []ebpf.Record {
			return []ebpf.Record{credRec(t, "openat", 40, 1000, 1000, 3), credRec(t, "setresuid", 40, 1000, 1000, -1), credRec(t, "openat", 40, 0, 0, 3)}
		}, true},
		{"exec of a set-user-id binary (su): euid 0, real uid kept", func(t *testing.T) []ebpf.Record {
			return []ebpf.Record{credRec(t, "openat", 40, 1000, 1000, 3), execRec(40, 1000, 0), credRec(t, "execve", 40, 1000, 0, 0),
				credRec(t, "setresuid", 40, 0, 0, 0), credRec(t, "openat", 40, 0, 0, 3)}
		}, false},
		{"a sibling thread's set*id explains this thread's change (setxid broadcast)", func(t *testing.T) []ebpf.Record {
			return []ebpf.Record{credRec(t, "openat", 40, 1000, 0, 3), credRec(t, "openat", 41, 1000, 0, 3),
				credRec(t, "setresuid", 40, 0, 0, 0), credRec(t, "openat", 41, 0, 0, 3)}
		}, false},
		{"threads with different ids (raw setuid in one thread) are each their own", func(t *testing.T) []ebpf.Record {
			return []ebpf.Record{credRec(t, "openat", 40, 0, 0, 3), credRec(t, "openat", 41, 0, 0, 3),
				credRec(t, "setuid", 41, 1000, 1000, 0), credRec(t, "openat", 40, 0, 0, 3), credRec(t, "openat", 41, 1000, 1000, 3), credRec(t, "openat", 40, 0, 0, 3)}
		}, false},
		{"a new thread starts with its creator's ids", func(t *testing.T) []ebpf.Record {
			return []ebpf.Record{credRec(t, "openat", 40, 1000, 1000, 3), credRec(t, "openat", 42, 0, 0, 3)}
		}, false},
		{"a forked child starts with the ids it was forked with", func(t *testing.T) []ebpf.Record {
			f := credRec(t, "clone", 40, 0, 0, 0)
			f.Kind, f.Fork = ebpf.KindFork, &ebpf.ForkInfo{TID: 50, PID: 50, VTID: 50, VPID: 50}
			c := credRec(t, "openat", 50, 0, 0, 3)
			c.PID = 50
			return []ebpf.Record{credRec(t, "setuid", 40, 0, 0, 0), f, c}
		}, false},
		{"a drop from root is not a gain", func(t *testing.T) []ebpf.Record {
			return []ebpf.Record{credRec(t, "openat", 40, 0, 0, 3), credRec(t, "openat", 40, 1000, 1000, 3)}
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, prev := applyCreds(t, tc.recs(t))
			if got != tc.want {
				t.Errorf("proc.cred_unexplained = %v, want %v", got, tc.want)
			}
			if got && prev != 1000 {
				t.Errorf("proc.prev_uid = %d, want 1000", prev)
			}
		})
	}
}

// The mark follows the process into the children it forks and the images
// it execs.
func TestCredsMarkInherited(t *testing.T) {
	f := credRec(t, "clone", 40, 0, 0, 0)
	f.Kind, f.Fork = ebpf.KindFork, &ebpf.ForkInfo{TID: 50, PID: 50, VTID: 50, VPID: 50}
	x := execRec(50, 0, 0)
	x.PID = 50
	c := credRec(t, "execve", 50, 0, 0, 0)
	c.PID = 50
	got, prev := applyCreds(t, []ebpf.Record{credRec(t, "openat", 40, 1000, 1000, 3), credRec(t, "openat", 40, 0, 0, 3), f, x, c})
	if !got || prev != 1000 {
		t.Errorf("child's exec: cred_unexplained %v prev_uid %d, want true 1000", got, prev)
	}
}

// TestCredsRecordedExploit replays testdata/creds/exploit.jsonl: kernel
// records, one JSON object each (ebpf.Record), of a process that becomes
// root between two syscalls and then runs a shell. The recording is
// SYNTHETIC: it was written by hand in the shape the capture produces,
// since no kernel exploit is run on this machine. The same file has a
// process that becomes root through su (exec of a set-user-id binary,
// then setresuid), which must not be marked.
func TestCredsRecordedExploit(t *testing.T) {
	f, err := os.Open("testdata/creds/exploit.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab := New(Options{ProcRoot: t.TempDir(), NativeArc: "x86_64"})
	ctx := context.Background()
	marked := map[int64]bool{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		var r ebpf.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("exploit.jsonl:%d: %v", line, err)
		}
		var e event.Event
		if tab.Apply(ctx, &r, &e) && e.Type == event.TypeOf("execve") && e.Res == 0 {
			marked[e.Proc.PID] = e.Proc.CredUnexplained
		}
	}
	if len(marked) != 2 {
		t.Fatalf("execs seen of %d processes, want 2: %v", len(marked), marked)
	}
	if !marked[700] {
		t.Error("pid 700 (uid 1000 to 0 with no call, then execve /bin/sh) not marked")
	}
	if marked[800] {
		t.Error("pid 800 (su: set-user-id exec, setresuid, execve /bin/sh) marked")
	}
}
