package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/store/storetest"
)

// startPostgres runs a throwaway cluster (storetest.StartPostgres) and
// returns its URL.
func startPostgres(t testing.TB) string { return storetest.StartPostgres(t).URL }

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
	// The machine is shared, so besides wall-clock alerts/s this reports
	// alerts per CPU-second of this process and the whole cluster
	// together (what two free cores would sustain, about).
	var backend int
	if err := s.(*sqlStore).db.QueryRowContext(context.Background(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		b.Fatal(err)
	}
	postmaster := procPPid(b, backend)
	b.ResetTimer()
	start, own0, cluster0 := time.Now(), cpuTime(), clusterCPU(b, postmaster)
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j].Time = base.Add(time.Duration(i*len(batch)+j) * time.Millisecond)
		}
		if err := s.Insert(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "alerts/s")
	own, cluster := cpuTime()-own0, clusterCPU(b, postmaster)-cluster0
	b.ReportMetric(float64(b.N*len(batch))/(own+cluster).Seconds(), "alerts/cpu-s")
	b.ReportMetric(float64(own.Microseconds())/float64(b.N*len(batch)), "client-µs/alert")
	b.ReportMetric(float64(cluster.Microseconds())/float64(b.N*len(batch)), "server-µs/alert")
}

// procStat is the fields of /proc/PID/stat after the command name.
func procStat(pid int) ([]string, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	return strings.Fields(string(raw[i+1:])), nil
}

func procPPid(b *testing.B, pid int) int {
	f, err := procStat(pid)
	if err != nil || len(f) < 2 {
		b.Fatalf("parent of %d: %v", pid, err)
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// clusterCPU is the CPU time of the postmaster, its live children and
// those it has reaped.
func clusterCPU(b *testing.B, postmaster int) time.Duration {
	ticks := func(f []string, from, to int) (n int64) {
		for i := from; i <= to; i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			n += v
		}
		return n
	}
	// Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 here.
	f, err := procStat(postmaster)
	if err != nil || len(f) < 15 {
		b.Fatalf("postmaster %d: %v", postmaster, err)
	}
	total := ticks(f, 11, 14)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, err := procStat(pid); err == nil && len(f) > 12 && f[1] == strconv.Itoa(postmaster) {
			total += ticks(f, 11, 12)
		}
	}
	return time.Duration(total) * time.Second / 100 // USER_HZ
}
