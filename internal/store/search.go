package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Free text (Filter.Text) has no index: it reads each candidate alert's
// document. A search bounds what it reads with ScanFrom, newest first, and
// says how far back it went; an index (SQLite FTS5, PostgreSQL pg_trgm)
// would make every insert pay for searches (BENCHMARKS.md, "Free-text
// search over 1,000,000 alerts").

// ScanFrom is the event time of the n-th newest alert at or before until
// (zero: no bound), other filters aside: a scan of the alerts from it to
// until reads at most n (plus those sharing its time). It is the zero
// time when there are no more than n such alerts, so a scan from the
// beginning is already bounded. It walks the time index, not the
// documents.
func (s *sqlStore) ScanFrom(ctx context.Context, until time.Time, n int64) (time.Time, error) {
	if n <= 0 {
		return time.Time{}, fmt.Errorf("scan bound %d: want a positive count", n)
	}
	q := "SELECT time_ns FROM palisade_alerts"
	var args []any
	if !until.IsZero() {
		q += " WHERE time_ns <= " + s.d.placeholder(1)
		args = append(args, until.UnixNano())
	}
	q += " ORDER BY time_ns DESC LIMIT 1 OFFSET " + fmt.Sprint(n-1)
	var ns int64
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&ns)
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("query %s: %w", s.display, err)
	}
	return time.Unix(0, ns).UTC(), nil
}

func (l *lazyStore) ScanFrom(ctx context.Context, until time.Time, n int64) (time.Time, error) {
	st, err := l.get(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return st.ScanFrom(ctx, until, n)
}
