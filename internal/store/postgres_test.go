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
