package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// dialect holds what differs between SQLite and PostgreSQL.
type dialect struct {
	name   string
	schema []string
	// placeholder returns the n-th (1-based) bind marker.
	placeholder func(n int) string
	// arrays inserts a whole batch in one statement that takes each
	// column as an array parameter (PostgreSQL: one round trip, one small
	// prepared statement); otherwise one prepared statement runs per row,
	// which is fastest for embedded SQLite.
	arrays bool
	// insert and onConflict wrap an INSERT so a row whose alert_id is
	// already stored is skipped: redelivered alerts are stored once.
	insert, onConflict string
	// countsSuffix ends the counts table's CREATE TABLE.
	countsSuffix string
	// tagCond is the condition "the alert has the tag ?".
	tagCond string
	// textCond is the condition "the lower-cased document contains ?".
	textCond string
}

// sqlStore is the Store for both databases. Each alert is kept whole as
// its JSON document (so it reads back exactly as the JSON outputs wrote it)
// plus the columns queries filter on.
type sqlStore struct {
	db      *sql.DB
	d       dialect
	display string
}

const insertCols = "(time_ns, priority, rule, container_name, image, hostname, doc, alert_id, namespace, pod, response)"

// migrations run in order after the schema, on new and existing databases
// alike; each is safe to repeat. alert_id (alert.Alert.ID) came with fleet
// fan-in: NULL for alerts stored before it, unique otherwise.
var migrations = []struct{ check, apply string }{
	{"SELECT alert_id FROM palisade_alerts LIMIT 0", "ALTER TABLE palisade_alerts ADD COLUMN alert_id TEXT"},
	{"", "CREATE UNIQUE INDEX IF NOT EXISTS palisade_alerts_alert_id ON palisade_alerts (alert_id)"},
	{"", "CREATE INDEX IF NOT EXISTS palisade_alerts_host_time ON palisade_alerts (hostname, time_ns, id)"},
	{"", "DROP INDEX IF EXISTS palisade_alerts_hostname"},
	// The dashboard's columns and indexes: Kubernetes namespace and pod
	// (empty for alerts stored before them), and the filters and orders
	// the alert list offers.
	{"SELECT namespace FROM palisade_alerts LIMIT 0", "ALTER TABLE palisade_alerts ADD COLUMN namespace TEXT NOT NULL DEFAULT ''"},
	{"SELECT pod FROM palisade_alerts LIMIT 0", "ALTER TABLE palisade_alerts ADD COLUMN pod TEXT NOT NULL DEFAULT ''"},
	// Each filter column leads an index that continues with (time, id), so
	// a filtered page is read in order and stops after one page; the
	// priority order is most severe, then newest, so its index says DESC.
	// The DROPs remove the single-column indexes of earlier versions.
	{"", "CREATE INDEX IF NOT EXISTS palisade_alerts_priority_time ON palisade_alerts (priority, time_ns DESC, id DESC)"},
	{"", "CREATE INDEX IF NOT EXISTS palisade_alerts_rule_time ON palisade_alerts (rule, time_ns, id)"},
	{"", "CREATE INDEX IF NOT EXISTS palisade_alerts_container_time ON palisade_alerts (container_name, time_ns, id)"},
	{"", "CREATE INDEX IF NOT EXISTS palisade_alerts_image_time ON palisade_alerts (image, time_ns, id)"},
	{"", "DROP INDEX IF EXISTS palisade_alerts_priority"},
	{"", "DROP INDEX IF EXISTS palisade_alerts_rule"},
	{"", "DROP INDEX IF EXISTS palisade_alerts_container"},
	{"", "DROP INDEX IF EXISTS palisade_alerts_image"},
	// Paging by (time, id) needs no index of its own: SQLite's time index
	// ends in the rowid (id), and PostgreSQL sorts the few equal times.
	{"", "DROP INDEX IF EXISTS palisade_alerts_time_id"},
	// response is alert.Response.Short() ("kill done"), NULL for alerts
	// without a response (and all stored before responses existed); the
	// doc keeps the whole response.
	{"SELECT response FROM palisade_alerts LIMIT 0", "ALTER TABLE palisade_alerts ADD COLUMN response TEXT"},
	// The latest heartbeat of each fleet host (hosts.go).
	{"", hostsTable},
}

func (s *sqlStore) init(ctx context.Context) error {
	for _, q := range s.d.schema {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create schema in %s: %w", s.display, err)
		}
	}
	for _, m := range migrations {
		if m.check != "" {
			if _, err := s.db.ExecContext(ctx, m.check); err == nil {
				continue // already applied
			}
		}
		if _, err := s.db.ExecContext(ctx, m.apply); err != nil {
			return fmt.Errorf("migrate schema in %s: %w", s.display, err)
		}
	}
	return s.initCounts(ctx)
}

// cleanText makes a string storable in a PostgreSQL TEXT column (no NUL,
// valid UTF-8); the JSON document keeps the full value.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

func fieldString(a *alert.Alert, key string) string {
	if v, ok := a.OutputFields[key].(string); ok {
		return cleanText(v)
	}
	return ""
}

func timeNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (s *sqlStore) Insert(ctx context.Context, alerts []alert.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", s.display, err)
	}
	defer tx.Rollback()
	// Only the rows actually inserted (not skipped as redelivered) are
	// added to the pre-aggregated counts.
	var counts tally
	if s.d.arrays {
		if err := s.insertArrays(ctx, tx, alerts, &counts); err != nil {
			return err
		}
	} else {
		stmt, err := tx.PrepareContext(ctx, s.d.insert+" INTO palisade_alerts "+insertCols+" VALUES (?,?,?,?,?,?,?,?,?,?,?)"+s.d.onConflict)
		if err != nil {
			return fmt.Errorf("insert into %s: %w", s.display, err)
		}
		defer stmt.Close()
		for i := range alerts {
			args, err := rowArgs(&alerts[i])
			if err != nil {
				return err
			}
			res, err := stmt.ExecContext(ctx, args...)
			if err != nil {
				return fmt.Errorf("insert into %s: %w", s.display, err)
			}
			if n, err := res.RowsAffected(); err == nil && n == 1 {
				counts.addRow(args)
			}
		}
	}
	if err := s.addCounts(ctx, tx, counts); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit to %s: %w", s.display, err)
	}
	return nil
}

// insertArraysSQL inserts the rows given as one array per column, in the
// arrays' order (so ids ascend as the batch does), skipping alert_ids
// already stored or earlier in the same batch, and returns the alert_id of
// each row inserted. The conflict target is alert_id alone: the id comes
// from a sequence and cannot conflict, so PostgreSQL checks one unique
// index before each row instead of two.
const insertArraysSQL = "INSERT INTO palisade_alerts " + insertCols +
	" SELECT t, p, r, c, i, h, d, a, n, o, s FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])" +
	" WITH ORDINALITY AS u(t, p, r, c, i, h, d, a, n, o, s, k) ORDER BY k ON CONFLICT (alert_id) DO NOTHING RETURNING alert_id"

// insertArrays inserts a batch with insertArraysSQL in tx and tallies the
// rows inserted: every row without an alert_id (NULLs never conflict) and,
// of the rows with one, the first in the batch with each alert_id returned.
func (s *sqlStore) insertArrays(ctx context.Context, tx *sql.Tx, alerts []alert.Alert, counts *tally) error {
	n := len(alerts)
	var (
		times          = make([]int64, n)
		prios          = make([]int16, n)
		rules, conts   = make([]string, n), make([]string, n)
		images, hosts  = make([]string, n), make([]string, n)
		docs           = make([]string, n)
		ids, responses = make([]*string, n), make([]*string, n)
		nss, pods      = make([]string, n), make([]string, n)
	)
	buf := make([]byte, 0, 1024)
	for i := range alerts {
		a := &alerts[i]
		var err error
		if buf, err = encodeDoc(buf[:0], a); err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		times[i], prios[i], rules[i] = timeNS(a.Time), int16(a.Priority), cleanText(a.Rule)
		conts[i], images[i] = fieldString(a, "container.name"), fieldString(a, "container.image.repository")
		hosts[i], docs[i] = cleanText(a.Hostname), string(buf)
		nss[i], pods[i] = fieldString(a, "k8s.ns.name"), fieldString(a, "k8s.pod.name")
		if a.ID != "" {
			id := cleanText(a.ID)
			ids[i] = &id
		}
		if a.Response != nil {
			r := cleanText(a.Response.Short())
			responses[i] = &r
		}
	}
	rows, err := tx.QueryContext(ctx, insertArraysSQL, times, prios, rules, conts, images, hosts, docs, ids, nss, pods, responses)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", s.display, err)
	}
	defer rows.Close()
	inserted := make(map[string]bool, n)
	for rows.Next() {
		var id sql.NullString
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("insert into %s: %w", s.display, err)
		}
		if id.Valid {
			inserted[id.String] = true
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("insert into %s: %w", s.display, err)
	}
	for i := range alerts {
		if ids[i] != nil {
			if !inserted[*ids[i]] {
				continue
			}
			delete(inserted, *ids[i]) // a later copy in the batch was skipped
		}
		counts.add(times[i], int64(prios[i]), rules[i], conts[i], images[i], hosts[i], nss[i], pods[i])
	}
	return nil
}

// rowArgs are the insertCols values of one alert.
func rowArgs(a *alert.Alert) ([]any, error) {
	doc, err := encodeDoc(make([]byte, 0, 1024), a)
	if err != nil {
		return nil, fmt.Errorf("encode alert: %w", err)
	}
	return []any{timeNS(a.Time), int64(a.Priority), cleanText(a.Rule),
		fieldString(a, "container.name"), fieldString(a, "container.image.repository"),
		cleanText(a.Hostname), string(doc), alertID(a),
		fieldString(a, "k8s.ns.name"), fieldString(a, "k8s.pod.name"), responseColumn(a)}, nil
}

// responseColumn is the response column: NULL without a response.
func responseColumn(a *alert.Alert) any {
	if a.Response == nil {
		return nil
	}
	return cleanText(a.Response.Short())
}

// alertID is the alert_id column: NULL when the alert has no ID, so alerts
// without one never collide.
func alertID(a *alert.Alert) any {
	if a.ID == "" {
		return nil
	}
	return cleanText(a.ID)
}

// where is the WHERE clause (with a leading " WHERE ", or empty) for f,
// with its arguments after those already in args.
func (s *sqlStore) where(f Filter, args []any) (string, []any) {
	var where []string
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", s.d.placeholder(len(args))))
	}
	if !f.Since.IsZero() {
		add("time_ns >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("time_ns <= ?", f.Until.UnixNano())
	}
	if f.MinPriority != nil {
		add("priority <= ?", int64(*f.MinPriority))
	}
	if f.Priority != nil {
		add("priority = ?", int64(*f.Priority))
	}
	if len(f.Rules) > 0 {
		var ors []string
		for _, r := range f.Rules {
			args = append(args, r)
			ors = append(ors, "rule = "+s.d.placeholder(len(args)))
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if f.Container != "" {
		add("container_name = ?", f.Container)
	}
	if f.Image != "" {
		add("image = ?", f.Image)
	}
	if f.Host != "" {
		add("hostname = ?", f.Host)
	}
	if f.Namespace != "" {
		add("namespace = ?", f.Namespace)
	}
	if f.Pod != "" {
		add("pod = ?", f.Pod)
	}
	if f.Tag != "" {
		add(s.d.tagCond, f.Tag)
	}
	if f.Text != "" {
		// The document holds strings JSON-escaped, so the needle is too.
		needle := appendString(nil, asciiLower(f.Text))
		add(s.d.textCond, string(needle[1:len(needle)-1]))
	}
	switch f.Response {
	case "":
	case "any":
		where = append(where, "response IS NOT NULL")
	default:
		add("response LIKE ?", f.Response+" %")
	}
	if f.AfterID > 0 {
		add("id > ?", f.AfterID)
	}
	if len(where) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (s *sqlStore) Query(ctx context.Context, f Filter) ([]Record, error) {
	where, args := s.where(f, nil)
	q := "SELECT id, doc FROM palisade_alerts" + where
	desc := f.Limit > 0
	if desc {
		q += " ORDER BY id DESC LIMIT " + strconv.Itoa(f.Limit)
	} else {
		q += " ORDER BY id"
	}
	out, err := s.records(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	if desc {
		reverse(out)
	}
	return out, nil
}

func reverse(out []Record) {
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
}

// records runs a query selecting id, doc.
func (s *sqlStore) records(ctx context.Context, q string, args ...any) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", s.display, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var doc string
		if err := rows.Scan(&r.ID, &doc); err != nil {
			return nil, fmt.Errorf("query %s: %w", s.display, err)
		}
		if err := json.Unmarshal([]byte(doc), &r.Alert); err != nil {
			return nil, fmt.Errorf("query %s: alert %d: %w", s.display, r.ID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query %s: %w", s.display, err)
	}
	return out, nil
}

func (s *sqlStore) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM palisade_alerts").Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", s.display, err)
	}
	return n, nil
}

func (s *sqlStore) Prune(ctx context.Context, r Retention, now time.Time) (int64, error) {
	var total int64
	p := s.d.placeholder
	prune := func(what, where string, arg any) error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("prune %s by %s: %w", s.display, what, err)
		}
		defer tx.Rollback()
		// The counts of the days the deleted alerts were in are rebuilt
		// from what remains.
		var lo, hi sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT MIN(time_ns), MAX(time_ns) FROM palisade_alerts WHERE "+where, arg).Scan(&lo, &hi); err != nil {
			return fmt.Errorf("prune %s by %s: %w", s.display, what, err)
		}
		if !lo.Valid {
			return nil
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM palisade_alerts WHERE "+where, arg)
		if err != nil {
			return fmt.Errorf("prune %s by %s: %w", s.display, what, err)
		}
		n, _ := res.RowsAffected()
		if err := s.rebuildCounts(ctx, tx, lo.Int64, hi.Int64); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("prune %s by %s: %w", s.display, what, err)
		}
		total += n
		return nil
	}
	if r.MaxAge > 0 {
		if err := prune("age", "time_ns < "+p(1), now.Add(-r.MaxAge).UnixNano()); err != nil {
			return total, err
		}
	}
	if r.MaxCount > 0 {
		if err := prune("count", "id <= (SELECT id FROM palisade_alerts ORDER BY id DESC LIMIT 1 OFFSET "+p(1)+")", r.MaxCount); err != nil {
			return total, err
		}
	}
	return total, nil
}

func (s *sqlStore) Close() error { return s.db.Close() }
