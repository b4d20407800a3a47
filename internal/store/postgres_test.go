package store

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// startPostgres runs a throwaway PostgreSQL cluster on 127.0.0.1 and a
// random port, in a temporary directory, as user nobody when the test runs
// as root (PostgreSQL refuses to run as root). It needs Debian's postgresql
// package; strict CI fails without it.
func startPostgres(t testing.TB) string {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(bins)
	if len(bins) > 0 {
		t.Setenv("PATH", bins[len(bins)-1]+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	initdb := testutil.RequireTool(t, "initdb")
	pgctl := testutil.RequireTool(t, "pg_ctl")

	dir, err := os.MkdirTemp("", "palisade-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run(initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=on", port, dir)
	run(pgctl, "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts, "-w", "-t", "60", "start")
	t.Cleanup(func() {
		cmd := exec.Command(pgctl, "-D", data, "-m", "immediate", "-w", "stop")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Run()
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

func TestPostgres(t *testing.T) {
	url := startPostgres(t)
	n := 0
	runSuite(t, func(t *testing.T) Store {
		// Each subtest gets its own database, so they start empty.
		n++
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		db := fmt.Sprintf("suite%d", n)
		if _, err := admin.(*sqlStore).db.ExecContext(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatal(err)
		}
		admin.Close()
		s, err := Open(ctx, strings.Replace(url, "/postgres?", "/"+db+"?", 1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// BenchmarkPostgresInsert measures batched inserts (512 alerts per
// transaction, multi-row INSERT) into a local throwaway cluster.
func BenchmarkPostgresInsert(b *testing.B) {
	url := startPostgres(b)
	s, err := Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := benchBatch()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j].Time = base.Add(time.Duration(i*len(batch)+j) * time.Millisecond)
		}
		if err := s.Insert(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "alerts/s")
}
