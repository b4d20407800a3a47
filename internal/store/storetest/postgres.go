package storetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

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
