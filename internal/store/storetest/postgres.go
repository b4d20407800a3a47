package storetest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// Postgres is a running throwaway cluster.
type Postgres struct {
	URL   string // postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
	pgctl string
	data  string
	opts  string
	cred  *syscall.Credential
	dir   string
}

// StartPostgres runs a cluster on 127.0.0.1 and a random port, in a
// temporary directory, as user nobody when the test runs as root
// (PostgreSQL refuses to run as root); it is stopped at cleanup. It needs
// Debian's postgresql package; strict CI fails without it.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(bins)
	if len(bins) > 0 {
		t.Setenv("PATH", bins[len(bins)-1]+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	initdb := testutil.RequireTool(t, "initdb")
	p := &Postgres{pgctl: testutil.RequireTool(t, "pg_ctl")}
	dir, err := os.MkdirTemp("", "palisade-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		p.cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	p.data = filepath.Join(dir, "data")
	p.run(t, initdb, "-D", p.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p.opts = fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=on", port, dir)
	p.Start(t)
	t.Cleanup(func() {
		cmd := exec.Command(p.pgctl, "-D", p.data, "-m", "immediate", "-w", "stop")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
		cmd.Run()
	})
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return p
}

// Start starts the (stopped) cluster and waits until it accepts
// connections.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	p.run(t, p.pgctl, "-D", p.data, "-l", filepath.Join(p.dir, "log"), "-o", p.opts, "-w", "-t", "60", "start")
}

// Crash stops the cluster the way a power cut would (immediate mode: no
// checkpoint); committed transactions survive, as fsync is on.
func (p *Postgres) Crash(t testing.TB) {
	t.Helper()
	p.run(t, p.pgctl, "-D", p.data, "-m", "immediate", "-w", "stop")
}

func (p *Postgres) run(t testing.TB, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

// CPU is the CPU time the running cluster has used so far: the
// postmaster's, its live children's and that of the children it has
// reaped (connections closed). Benchmarks on a shared machine report work
// per CPU-second with it.
func (p *Postgres) CPU(t testing.TB) time.Duration {
	t.Helper()
	pidFile, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	postmaster, _, _ := strings.Cut(string(pidFile), "\n")
	// Fields 14-17 of /proc/PID/stat: utime, stime, cutime, cstime (in
	// USER_HZ, 100 a second on Linux).
	ticks := func(f []string, from, to int) (n int64) {
		for i := from; i <= to && i < len(f); i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			n += v
		}
		return n
	}
	f := procStat(postmaster)
	if len(f) < 15 {
		t.Fatalf("postmaster %s: no /proc stat", postmaster)
	}
	total := ticks(f, 11, 14)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if f := procStat(e.Name()); len(f) > 12 && f[1] == postmaster {
			total += ticks(f, 11, 12)
		}
	}
	return time.Duration(total) * time.Second / 100
}

// procStat is the fields of /proc/PID/stat after the command name (state
// first, then the parent's PID), or nil.
func procStat(pid string) []string {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(raw[i+1:]))
}

// ProcessCPU is this process's user and system CPU time.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
