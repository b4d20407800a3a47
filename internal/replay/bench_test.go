package replay

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
)

// synthWorkload is a host as the state table presents it: a process tree
// (init, a daemon, login shells, commands) whose processes share pointers,
// exec into new values, change uid and cwd in place, and produce mostly
// opens (96% of the events of a real recording), some dup2, exec, connect.
func synthWorkload(n int) []*event.Event {
	rng := rand.New(rand.NewPCG(1, 2))
	initP := &event.Process{PID: 1, TID: 1, VPID: 1, VTID: 1, Name: "systemd", Exe: "/sbin/init", ExePath: "/usr/lib/systemd/systemd",
		Args: []string{"--system", "--deserialize", "31"}, Cwd: "/", LoginUID: -1, UserName: "root", UserHome: "/root", GroupName: "root",
		StartTime: 1764200000000000000, CapPermitted: 1<<41 - 1, CapEffective: 1<<41 - 1, Container: event.Host}
	daemon := &event.Process{PID: 800, TID: 800, VPID: 800, VTID: 800, PPID: 1, SID: 800, VPGID: 800, Name: "sshd", Exe: "sshd:", ExePath: "/usr/sbin/sshd",
		Args: []string{"/usr/sbin/sshd", "-D", "[listener]", "0", "of", "10-100", "startups"}, Cwd: "/", LoginUID: -1, UserName: "root",
		UserHome: "/root", UserShell: "/bin/bash", GroupName: "root", StartTime: 1764200001000000000, Parent: initP, Container: event.Host}
	var shells []*event.Process
	for i := 0; i < 4; i++ {
		shells = append(shells, &event.Process{PID: int64(2000 + i), TID: int64(2000 + i), VPID: int64(2000 + i), VTID: int64(2000 + i),
			PPID: 800, SID: int64(2000 + i), VPGID: int64(2000 + i), Name: "bash", Exe: "-bash", ExePath: "/usr/bin/bash", Cwd: "/home/user/",
			TTY: 34816 + int64(i), UID: 1000, GID: 1000, LoginUID: 1000, UserName: "user", UserHome: "/home/user", UserShell: "/bin/bash",
			LoginName: "user", GroupName: "user", StartTime: 1764200002000000000, CapPermitted: 0, Parent: daemon, Container: event.Host,
			Env: []string{"HOME=/home/user", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "TERM=xterm-256color", "SHELL=/bin/bash"}})
	}
	cmds := [][]string{{"ls", "-la", "/etc"}, {"cat", "/etc/passwd"}, {"grep", "-r", "TODO", "src"}, {"find", "/usr/share/doc", "-name", "*.gz"},
		{"ps", "aux"}, {"tar", "-cf", "-", "/etc/ssl"}, {"go", "build", "./..."}, {"git", "status"}, {"python3", "script.py"}}
	dirs := []string{"/etc/", "/usr/lib/x86_64-linux-gnu/", "/usr/share/locale/", "/proc/self/", "/home/user/src/", "/tmp/", "/usr/bin/", "/sys/fs/cgroup/"}
	var paths []string
	for _, d := range dirs {
		for j := 0; j < 200; j++ {
			paths = append(paths, fmt.Sprintf("%sfile-%03d.so.%d", d, j, j%7))
		}
	}
	var live []*event.Process
	nextPID := int64(10000)
	spawn := func() *event.Process {
		sh := shells[rng.IntN(len(shells))]
		c := cmds[rng.IntN(len(cmds))]
		nextPID++
		p := &event.Process{PID: nextPID, TID: nextPID, VPID: nextPID, VTID: nextPID, PPID: sh.PID, SID: sh.SID, VPGID: nextPID,
			Name: c[0], Exe: c[0], ExePath: "/usr/bin/" + c[0], Args: c[1:], Cwd: sh.Cwd, TTY: sh.TTY, UID: sh.UID, GID: sh.GID,
			LoginUID: sh.LoginUID, UserName: sh.UserName, UserHome: sh.UserHome, UserShell: sh.UserShell, LoginName: sh.LoginName,
			GroupName: sh.GroupName, StartTime: 1764200003000000000 + nextPID, SessionLeaderName: "bash", Parent: sh, Container: event.Host}
		live = append(live, p)
		if len(live) > 12 {
			live = live[1:]
		}
		return p
	}
	for i := 0; i < 6; i++ {
		spawn()
	}
	open, dup2, execve, connect := event.TypeOf("openat"), event.TypeOf("dup2"), event.TypeOf("execve"), event.TypeOf("connect")
	t := int64(1764200004000000000)
	out := make([]*event.Event, 0, n)
	for i := 0; i < n; i++ {
		t += int64(rng.IntN(200000))
		p := live[rng.IntN(len(live))]
		e := &event.Event{Num: uint64(i*3 + 1), Time: t, CPU: int32(rng.IntN(2)), Dir: event.DirExit, Proc: p, Hostname: "vm", HasRes: true}
		switch r := rng.IntN(1000); {
		case r < 8: // exec: a new process value
			e.Type, e.Proc = execve, spawn()
			e.Args = []event.Arg{{Name: "filename", Str: e.Proc.ExePath}}
		case r < 10: // setuid and chdir change a process in place
			p.UID, p.Cwd = int64(rng.IntN(3)), dirs[rng.IntN(len(dirs))]
			fallthrough
		case r < 30:
			e.Type = dup2
			e.Args = []event.Arg{{Name: "oldfd", Str: "3", Int: 3, HasInt: true}, {Name: "newfd", Str: "1", Int: 1, HasInt: true}}
			e.FD = &event.FD{Num: 1, Type: event.FDPipe, Name: "pipe:[123456]"}
		case r < 37:
			e.Type = connect
			e.Res = 0
			e.Args = []event.Arg{{Name: "fd", Str: "5", Int: 5, HasInt: true}, {Name: "addr", Str: "/run/systemd/private"}}
			e.FD = &event.FD{Num: 5, Type: event.FDUnix, Name: "/run/systemd/private", Connected: true}
		default:
			path := paths[rng.IntN(len(paths))]
			fd := int64(3 + rng.IntN(5))
			e.Type, e.Res = open, fd
			e.Args = []event.Arg{{Name: "fd", Str: decimal(fd), Int: fd, HasInt: true}, {Name: "dirfd", Str: "-100", Int: -100, HasInt: true},
				{Name: "name", Str: path}, {Name: "flags", Str: "O_RDONLY|O_CLOEXEC", Int: 0x80000, HasInt: true}, {Name: "mode", Str: "0", Int: 0, HasInt: true}}
			e.FD = &event.FD{Num: fd, Type: event.FDFile, Name: path, NameRaw: path, Dev: 0x803, Ino: uint64(rng.IntN(1 << 20))}
		}
		out = append(out, e)
	}
	return out
}

// perEventBytes records events with w and reports the bytes each event added
// (its own record and any state records written for it).
func perEventBytes(tb testing.TB, evs []*event.Event) (rec []byte, sizes []int) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Flush()
	last := buf.Len()
	for _, e := range evs {
		if err := w.Write(e); err != nil {
			tb.Fatal(err)
		}
		w.Flush()
		sizes = append(sizes, buf.Len()-last)
		last = buf.Len()
	}
	return buf.Bytes(), sizes
}

func median(xs []int) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return float64(s[len(s)/2])
}

func mean(xs []int) float64 {
	t := 0
	for _, x := range xs {
		t += x
	}
	return float64(t) / float64(max(1, len(xs)))
}

// BenchmarkWrite records the synthetic workload: writer speed and bytes per
// event.
func BenchmarkWrite(b *testing.B) {
	evs := synthWorkload(100000)
	_, sizes := perEventBytes(b, evs)
	b.ResetTimer()
	for b.Loop() {
		w := NewWriter(io.Discard)
		for _, e := range evs {
			w.Write(e)
		}
		w.Flush()
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(mean(sizes), "B/event")
	b.ReportMetric(median(sizes), "median-B/event")
}

// BenchmarkReplay reads the synthetic workload back from the binary format
// on one goroutine.
func BenchmarkReplay(b *testing.B) {
	rec, _ := perEventBytes(b, synthWorkload(100000))
	benchReplay(b, rec)
}

// BenchmarkReplayJSONL reads the same workload from the JSONL export.
func BenchmarkReplayJSONL(b *testing.B) {
	var buf bytes.Buffer
	w := NewJSONLWriter(&buf)
	evs := synthWorkload(20000)
	for _, e := range evs {
		w.Write(e)
	}
	w.Flush()
	benchReplay(b, buf.Bytes(), float64(buf.Len())/float64(len(evs)), "B/event")
}

// benchReplay replays rec b.N times and reports events/s and the metrics
// given (after the timer resets, which drop metrics reported before).
func benchReplay(b *testing.B, rec []byte, metrics ...any) {
	n := 0
	b.ResetTimer()
	for b.Loop() {
		r := NewReader(bytes.NewReader(rec), "bench")
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	for i := 0; i+1 < len(metrics); i += 2 {
		b.ReportMetric(metrics[i].(float64), metrics[i+1].(string))
	}
}

// BenchmarkRecordingFile measures a real recording: PALISADE_RECORDING names
// a JSONL file written by `watch --record` before the binary format. It
// reports the JSONL's bytes per event and replay rate, converts the same
// events to the binary format, and reports its bytes per event and replay
// rate (run with -benchtime=1x for the JSONL pass; it is slow).
func BenchmarkRecordingFile(b *testing.B) {
	path := os.Getenv("PALISADE_RECORDING")
	if path == "" {
		b.Skip("set PALISADE_RECORDING to a JSONL recording")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var lines []int
	for _, l := range bytes.Split(bytes.TrimRight(raw, "\n"), []byte("\n")) {
		lines = append(lines, len(l)+1)
	}
	// The binary recording, with the bytes each event added.
	var bin bytes.Buffer
	w := NewWriter(&bin)
	r := NewReader(bytes.NewReader(raw), path)
	var sizes []int
	w.Flush()
	last := bin.Len()
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		w.Write(e)
		w.Flush()
		sizes = append(sizes, bin.Len()-last)
		last = bin.Len()
	}
	b.Run("jsonl", func(b *testing.B) {
		benchReplay(b, raw, float64(len(raw))/float64(len(lines)), "B/event", median(lines), "median-B/event",
			float64(len(raw)), "file-bytes", float64(len(lines)), "events")
	})
	b.Run("binary", func(b *testing.B) {
		benchReplay(b, bin.Bytes(), float64(bin.Len())/float64(len(sizes)), "B/event", median(sizes), "median-B/event",
			float64(bin.Len()), "file-bytes", float64(len(sizes)), "events")
	})
	if out := os.Getenv("PALISADE_RECORDING_OUT"); out != "" {
		if err := os.WriteFile(out, bin.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
	}
}
