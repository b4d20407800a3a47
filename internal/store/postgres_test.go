package store

import (
	"context"
	"fmt"
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
	pg := storetest.StartPostgres(b)
	s, err := Open(context.Background(), pg.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := benchBatch()
	// The machine is shared, so besides wall-clock alerts/s this reports
	// alerts per CPU-second of this process and the cluster together (what
	// one free core would sustain) and each side's CPU per alert.
	b.ResetTimer()
	start, own0, cluster0 := time.Now(), cpuTime(), pg.CPU(b)
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j].Time = base.Add(time.Duration(i*len(batch)+j) * time.Millisecond)
		}
		if err := s.Insert(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "alerts/s")
	own, cluster := cpuTime()-own0, pg.CPU(b)-cluster0
	b.ReportMetric(float64(b.N*len(batch))/(own+cluster).Seconds(), "alerts/cpu-s")
	b.ReportMetric(float64(own.Microseconds())/float64(b.N*len(batch)), "client-µs/alert")
	b.ReportMetric(float64(cluster.Microseconds())/float64(b.N*len(batch)), "server-µs/alert")
}
