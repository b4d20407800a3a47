package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/store/storetest"
)

// BenchmarkSQLiteInsertTrigramIndex is BenchmarkSQLiteInsert with what an
// index for free text would add: an FTS5 trigram table over each alert's
// document (external content), filled by a trigger in the insert's
// transaction. It is not in the schema; the figure is why (BENCHMARKS.md,
// "Free-text search over 1,000,000 alerts"). Run both side by side:
//
//	go test -run '^$' -bench 'Insert$|InsertTrigramIndex' -benchtime 3s ./internal/store/
func BenchmarkSQLiteInsertTrigramIndex(b *testing.B) {
	ctx := context.Background()
	st, err := Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	db := st.(*sqlStore).db
	for _, q := range []string{
		`CREATE VIRTUAL TABLE palisade_alerts_text USING fts5(doc, content='palisade_alerts', content_rowid='id', tokenize='trigram')`,
		`CREATE TRIGGER palisade_alerts_text_ins AFTER INSERT ON palisade_alerts BEGIN
			INSERT INTO palisade_alerts_text(rowid, doc) VALUES (new.id, new.doc); END`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	batch := benchBatch()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j].Time = base.Add(time.Duration(i*len(batch)+j) * time.Millisecond)
		}
		if err := st.Insert(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "alerts/s")
	b.ReportMetric(float64(b.N*len(batch))/(cpuTime()-cpu0).Seconds(), "alerts/cpu-s")
	b.StopTimer()
	// The index answers: a needle in every alert, and one in none.
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM palisade_alerts_text WHERE doc LIKE '%terminal shell%'`).Scan(&n); err != nil || n != int64(b.N*len(batch)) {
		b.Fatalf("trigram search found %d of %d, %v", n, b.N*len(batch), err)
	}
}

// BenchmarkPostgresInsertTrigramIndex is BenchmarkPostgresInsert with
// PostgreSQL's equivalent: a GIN pg_trgm index on the lower-cased document
// (pg_trgm ships with Debian's postgresql package), which strpos(lower(doc))
// cannot use but LIKE '%…%' on lower(doc) can.
func BenchmarkPostgresInsertTrigramIndex(b *testing.B) {
	ctx := context.Background()
	pg := storetest.StartPostgres(b)
	st, err := Open(ctx, pg.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	db := st.(*sqlStore).db
	for _, q := range []string{
		`CREATE EXTENSION IF NOT EXISTS pg_trgm`,
		`CREATE INDEX palisade_alerts_text ON palisade_alerts USING gin (lower(doc) gin_trgm_ops)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	batch := benchBatch()
	b.ResetTimer()
	start, own0, cluster0 := time.Now(), cpuTime(), pg.CPU(b)
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j].Time = base.Add(time.Duration(i*len(batch)+j) * time.Millisecond)
		}
		if err := st.Insert(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "alerts/s")
	own, cluster := cpuTime()-own0, pg.CPU(b)-cluster0
	b.ReportMetric(float64(b.N*len(batch))/(own+cluster).Seconds(), "alerts/cpu-s")
	b.StopTimer()
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM palisade_alerts WHERE lower(doc) LIKE '%terminal shell%'`).Scan(&n); err != nil || n != int64(b.N*len(batch)) {
		b.Fatalf("trigram search found %d of %d, %v", n, b.N*len(batch), err)
	}
}
