package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// Pre-aggregated counts make the dashboard's overview independent of how
// many alerts are stored: palisade_alert_counts holds, per hour and per
// day (span), how many alerts each priority, rule, container, image, host
// and pod had. Insert adds to them in the same transaction; Prune rebuilds
// the days it touched from the alerts that remain.

// Dimensions an overview counts by.
const (
	DimPriority  = "priority" // value: the priority's number, 0 (Emergency) to 7
	DimRule      = "rule"
	DimContainer = "container"
	DimImage     = "image"
	DimHost      = "host"
	DimPod       = "pod" // value: namespace/pod
)

// TopDims are the dimensions Overview returns top lists for.
var TopDims = []string{DimRule, DimContainer, DimImage, DimPod, DimHost}

var spans = []time.Duration{time.Hour, 24 * time.Hour}

func countsTable(suffix string) string {
	return `CREATE TABLE IF NOT EXISTS palisade_alert_counts (
		span BIGINT NOT NULL,
		dim TEXT NOT NULL,
		bucket_ns BIGINT NOT NULL,
		value TEXT NOT NULL,
		n BIGINT NOT NULL,
		PRIMARY KEY (span, dim, bucket_ns, value))` + suffix
}

type countKey struct {
	span   int64
	dim    string
	bucket int64
	value  string
}

// tally collects counts for the rows of one transaction.
type tally map[countKey]int64

func (t *tally) add(timeNS, prio int64, rule, container, image, host, ns, pod string) {
	if *t == nil {
		*t = tally{}
	}
	for _, sp := range spans {
		span := int64(sp)
		b := floorDiv(timeNS, span) * span
		(*t)[countKey{span, DimPriority, b, strconv.FormatInt(prio, 10)}]++
		(*t)[countKey{span, DimRule, b, rule}]++
		for _, kv := range [...][2]string{{DimContainer, container}, {DimImage, image}, {DimHost, host}} {
			if kv[1] != "" {
				(*t)[countKey{span, kv[0], b, kv[1]}]++
			}
		}
		if pod != "" {
			(*t)[countKey{span, DimPod, b, ns + "/" + pod}]++
		}
	}
}

// addRow tallies one rowArgs row.
func (t *tally) addRow(a []any) {
	t.add(a[0].(int64), a[1].(int64), a[2].(string), a[3].(string), a[4].(string), a[5].(string), a[8].(string), a[9].(string))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// addCounts upserts a tally, in chunks.
func (s *sqlStore) addCounts(ctx context.Context, tx execer, t tally) error {
	keys := make([]countKey, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	// A fixed order keeps concurrent writers from deadlocking on PostgreSQL.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.span != b.span {
			return a.span < b.span
		}
		if a.dim != b.dim {
			return a.dim < b.dim
		}
		if a.bucket != b.bucket {
			return a.bucket < b.bucket
		}
		return a.value < b.value
	})
	const chunk = 200
	var q strings.Builder
	for start := 0; start < len(keys); start += chunk {
		part := keys[start:min(start+chunk, len(keys))]
		q.Reset()
		q.WriteString("INSERT INTO palisade_alert_counts (span, dim, bucket_ns, value, n) VALUES ")
		args := make([]any, 0, 5*len(part))
		for i, k := range part {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('(')
			for c := 1; c <= 5; c++ {
				if c > 1 {
					q.WriteByte(',')
				}
				q.WriteString(s.d.placeholder(len(args) + c))
			}
			q.WriteByte(')')
			args = append(args, k.span, k.dim, k.bucket, k.value, t[k])
		}
		q.WriteString(" ON CONFLICT (span, dim, bucket_ns, value) DO UPDATE SET n = palisade_alert_counts.n + excluded.n")
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("count alerts in %s: %w", s.display, err)
		}
	}
	return nil
}

// initCounts creates the counts table; a store that had alerts before it
// existed gets them counted now.
func (s *sqlStore) initCounts(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, "SELECT n FROM palisade_alert_counts LIMIT 0"); err == nil {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate schema in %s: %w", s.display, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, countsTable(s.d.countsSuffix)); err != nil {
		return fmt.Errorf("migrate schema in %s: %w", s.display, err)
	}
	if err := s.rebuildCounts(ctx, tx, minTime, maxTime); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate schema in %s: %w", s.display, err)
	}
	return nil
}

const (
	minTime = -1 << 62
	maxTime = 1 << 62
)

// rebuildCounts recounts the whole days holding times from..to (ns) from
// the alerts stored.
func (s *sqlStore) rebuildCounts(ctx context.Context, tx execer, from, to int64) error {
	day := int64(24 * time.Hour)
	lo := floorDiv(from, day) * day
	hi := int64(maxTime)
	if to < maxTime-day {
		hi = floorDiv(to, day)*day + day
	}
	p := s.d.placeholder
	// On PostgreSQL a concurrent Insert must neither add to counts being
	// rebuilt nor be counted twice: the lock makes it wait for this
	// transaction (or this one for it), so what it inserts is counted once,
	// by it or by the SELECT below. SQLite serializes writers already.
	if s.d.name == "postgres" {
		if _, err := tx.ExecContext(ctx, "LOCK TABLE palisade_alert_counts IN EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("recount alerts in %s: %w", s.display, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM palisade_alert_counts WHERE bucket_ns >= "+p(1)+" AND bucket_ns < "+p(2), lo, hi); err != nil {
		return fmt.Errorf("recount alerts in %s: %w", s.display, err)
	}
	for _, sp := range spans {
		span := strconv.FormatInt(int64(sp), 10)
		// Integer division truncates toward zero: alerts before 1970 would
		// land one bucket late, which only a broken clock produces.
		bucket := "(time_ns / " + span + ") * " + span
		for _, d := range [...]struct{ dim, expr, where string }{
			{DimPriority, "CAST(priority AS TEXT)", ""},
			{DimRule, "rule", ""},
			{DimContainer, "container_name", " AND container_name <> ''"},
			{DimImage, "image", " AND image <> ''"},
			{DimHost, "hostname", " AND hostname <> ''"},
			{DimPod, "namespace || '/' || pod", " AND pod <> ''"},
		} {
			q := "INSERT INTO palisade_alert_counts (span, dim, bucket_ns, value, n) SELECT " + span + ", '" + d.dim + "', " +
				bucket + ", " + d.expr + ", COUNT(*) FROM palisade_alerts WHERE time_ns >= " + p(1) + " AND time_ns < " + p(2) + d.where +
				" GROUP BY " + bucket + ", " + d.expr
			if _, err := tx.ExecContext(ctx, q, lo, hi); err != nil {
				return fmt.Errorf("recount alerts in %s: %w", s.display, err)
			}
		}
	}
	return nil
}

// Count is one value of a dimension and how many alerts had it.
type Count struct {
	Value string
	N     int64
}

// Point is how many alerts of one priority fell in the bucket starting at
// Start.
type Point struct {
	Start    time.Time
	Priority alert.Priority
	N        int64
}

// Overview is what the dashboard's front page shows for [Since, Until).
type Overview struct {
	Since, Until time.Time
	Bucket       time.Duration
	Total        int64
	Series       []Point            // non-zero points, by start then priority
	Top          map[string][]Count // by TopDims entry, most alerts first
	// Source says where the counts came from: "hour", "day" (the
	// pre-aggregated counts) or "alerts" (counted from the alerts table).
	Source string
}

// Overview counts the alerts in [since, until) per bucket and priority,
// and the top n values of each of TopDims. With since, until and bucket
// whole hours (or days) it reads the pre-aggregated counts; otherwise it
// counts the alerts themselves, which an index on time bounds.
func (s *sqlStore) Overview(ctx context.Context, since, until time.Time, bucket time.Duration, n int) (*Overview, error) {
	if bucket <= 0 || !until.After(since) {
		return nil, fmt.Errorf("overview: want since < until and a positive bucket")
	}
	o := &Overview{Since: since, Until: until, Bucket: bucket, Top: map[string][]Count{}}
	lo, hi := since.UnixNano(), until.UnixNano()
	span := int64(0)
	for _, sp := range spans {
		if lo%int64(sp) == 0 && hi%int64(sp) == 0 && int64(bucket)%int64(sp) == 0 {
			span = int64(sp)
		}
	}
	p := s.d.placeholder
	type pt struct {
		b int64
		p alert.Priority
	}
	series := map[pt]int64{}
	var err error
	if span > 0 {
		o.Source = map[int64]string{int64(time.Hour): "hour", int64(24 * time.Hour): "day"}[span]
		err = s.each(ctx, func(sc func(...any) error) error {
			var b, n int64
			var v string
			if err := sc(&b, &v, &n); err != nil {
				return err
			}
			pr, _ := strconv.Atoi(v)
			series[pt{floorDiv(b-lo, int64(bucket)), alert.Priority(pr)}] += n
			return nil
		}, "SELECT bucket_ns, value, n FROM palisade_alert_counts WHERE span = "+p(1)+" AND dim = '"+DimPriority+"' AND bucket_ns >= "+p(2)+" AND bucket_ns < "+p(3), span, lo, hi)
		for _, dim := range TopDims {
			if err != nil {
				break
			}
			o.Top[dim], err = s.counts(ctx, "SELECT value, SUM(n) FROM palisade_alert_counts WHERE span = "+p(1)+" AND dim = '"+dim+"' AND bucket_ns >= "+p(2)+" AND bucket_ns < "+p(3)+
				" GROUP BY value ORDER BY SUM(n) DESC, value LIMIT "+strconv.Itoa(n), span, lo, hi)
		}
	} else {
		o.Source = "alerts"
		rng := " FROM palisade_alerts WHERE time_ns >= " + p(1) + " AND time_ns < " + p(2)
		err = s.each(ctx, func(sc func(...any) error) error {
			var b, pr, n int64
			if err := sc(&b, &pr, &n); err != nil {
				return err
			}
			series[pt{b, alert.Priority(pr)}] += n
			return nil
		}, "SELECT (time_ns - "+p(1)+") / "+strconv.FormatInt(int64(bucket), 10)+", priority, COUNT(*) FROM palisade_alerts WHERE time_ns >= "+p(2)+" AND time_ns < "+p(3)+" GROUP BY 1, 2", lo, lo, hi)
		for _, d := range [...]struct{ dim, expr, where string }{
			{DimRule, "rule", ""},
			{DimContainer, "container_name", " AND container_name <> ''"},
			{DimImage, "image", " AND image <> ''"},
			{DimPod, "namespace || '/' || pod", " AND pod <> ''"},
			{DimHost, "hostname", " AND hostname <> ''"},
		} {
			if err != nil {
				break
			}
			o.Top[d.dim], err = s.counts(ctx, "SELECT "+d.expr+", COUNT(*)"+rng+d.where+" GROUP BY "+d.expr+" ORDER BY COUNT(*) DESC, "+d.expr+" LIMIT "+strconv.Itoa(n), lo, hi)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("overview of %s: %w", s.display, err)
	}
	for k, n := range series {
		o.Total += n
		o.Series = append(o.Series, Point{Start: time.Unix(0, lo+k.b*int64(bucket)).UTC(), Priority: k.p, N: n})
	}
	sort.Slice(o.Series, func(i, j int) bool {
		a, b := o.Series[i], o.Series[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.Priority < b.Priority
	})
	return o, nil
}

// counts runs q, whose rows are (value, count), and returns them in order.
func (s *sqlStore) counts(ctx context.Context, q string, args ...any) ([]Count, error) {
	var top []Count
	err := s.each(ctx, func(sc func(...any) error) error {
		var c Count
		if err := sc(&c.Value, &c.N); err != nil {
			return err
		}
		top = append(top, c)
		return nil
	}, q, args...)
	return top, err
}

// each runs a query and calls row for each result row with its Scan.
func (s *sqlStore) each(ctx context.Context, row func(scan func(...any) error) error, q string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
