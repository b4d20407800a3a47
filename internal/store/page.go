package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sort orders of a page.
const (
	SortNewest   = "newest"   // time, newest first (the default)
	SortOldest   = "oldest"   // time, oldest first
	SortPriority = "priority" // most severe first, then newest
)

// PageRequest names one page: its order, its size and where it starts.
type PageRequest struct {
	Sort string
	Size int
	// Cursor is a PageResult's Next or Prev; empty is the first page.
	Cursor string
}

// PageResult is one page of records in the requested order, and the
// cursors of the pages after and before it ("" when there is none).
type PageResult struct {
	Records    []Record
	Next, Prev string
}

// ErrNotFound is returned by Get for an ID not stored.
var ErrNotFound = errors.New("no such alert")

// ErrBadCursor is wrapped for a cursor Page cannot read.
var ErrBadCursor = errors.New("bad page cursor")

// keyset is a sort order: columns, each ascending or not, ending in id so
// that the order is total.
type keyset struct {
	cols []string
	asc  []bool
}

var keysets = map[string]keyset{
	SortNewest:   {[]string{"time_ns", "id"}, []bool{false, false}},
	SortOldest:   {[]string{"time_ns", "id"}, []bool{true, true}},
	SortPriority: {[]string{"priority", "time_ns", "id"}, []bool{true, false, false}},
}

// A cursor is "n" (next: rows after) or "p" (previous: rows before) and
// the key values of the row it is relative to, dot-separated.
func encodeCursor(dir byte, vals []int64) string {
	var b strings.Builder
	b.WriteByte(dir)
	for _, v := range vals {
		b.WriteByte('.')
		b.WriteString(strconv.FormatInt(v, 10))
	}
	return b.String()
}

func decodeCursor(c string, n int) (byte, []int64, error) {
	parts := strings.Split(c, ".")
	if len(parts) != n+1 || (parts[0] != "n" && parts[0] != "p") {
		return 0, nil, fmt.Errorf("%w %q", ErrBadCursor, c)
	}
	vals := make([]int64, n)
	for i, p := range parts[1:] {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return 0, nil, fmt.Errorf("%w %q", ErrBadCursor, c)
		}
		vals[i] = v
	}
	return parts[0][0], vals, nil
}

// after is the condition "the row comes after vals in order ks" (or
// before, with reversed), as OR-ed prefixes: (a > x) OR (a = x AND b > y)...
func (s *sqlStore) after(ks keyset, vals []int64, reversed bool, args []any) (string, []any) {
	var ors []string
	for i := range ks.cols {
		var ands []string
		for j := 0; j < i; j++ {
			args = append(args, vals[j])
			ands = append(ands, ks.cols[j]+" = "+s.d.placeholder(len(args)))
		}
		op := "<"
		if ks.asc[i] != reversed {
			op = ">"
		}
		args = append(args, vals[i])
		ands = append(ands, ks.cols[i]+" "+op+" "+s.d.placeholder(len(args)))
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

func (s *sqlStore) Page(ctx context.Context, f Filter, p PageRequest) (PageResult, error) {
	var res PageResult
	if p.Sort == "" {
		p.Sort = SortNewest
	}
	ks, ok := keysets[p.Sort]
	if !ok {
		return res, fmt.Errorf("unknown sort %q (want %s, %s or %s)", p.Sort, SortNewest, SortOldest, SortPriority)
	}
	if p.Size <= 0 {
		p.Size = 50
	}
	where, args := s.where(f, nil)
	var dir byte = 'n'
	if p.Cursor != "" {
		var vals []int64
		var err error
		if dir, vals, err = decodeCursor(p.Cursor, len(ks.cols)); err != nil {
			return res, err
		}
		var cond string
		cond, args = s.after(ks, vals, dir == 'p', args)
		if where == "" {
			where = " WHERE " + cond
		} else {
			where += " AND " + cond
		}
	}
	order := make([]string, len(ks.cols))
	for i, c := range ks.cols {
		asc := ks.asc[i] != (dir == 'p')
		order[i] = c + map[bool]string{true: " ASC", false: " DESC"}[asc]
	}
	q := "SELECT id, doc, " + strings.Join(ks.cols, ", ") + " FROM palisade_alerts" + where +
		" ORDER BY " + strings.Join(order, ", ") + " LIMIT " + strconv.Itoa(p.Size+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return res, fmt.Errorf("query %s: %w", s.display, err)
	}
	defer rows.Close()
	var keys [][]int64
	for rows.Next() {
		var r Record
		var doc string
		key := make([]int64, len(ks.cols))
		dest := []any{&r.ID, &doc}
		for i := range key {
			dest = append(dest, &key[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return res, fmt.Errorf("query %s: %w", s.display, err)
		}
		if err := json.Unmarshal([]byte(doc), &r.Alert); err != nil {
			return res, fmt.Errorf("query %s: alert %d: %w", s.display, r.ID, err)
		}
		res.Records = append(res.Records, r)
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("query %s: %w", s.display, err)
	}
	more := len(res.Records) > p.Size
	if more {
		res.Records, keys = res.Records[:p.Size], keys[:p.Size]
	}
	if dir == 'p' {
		reverse(res.Records)
		for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
			keys[i], keys[j] = keys[j], keys[i]
		}
	}
	if len(keys) == 0 {
		return res, nil
	}
	// Going forward there is a previous page when we came from a cursor;
	// going back there is a next page (the one we came from).
	if (dir == 'n' && more) || dir == 'p' {
		res.Next = encodeCursor('n', keys[len(keys)-1])
	}
	if (dir == 'p' && more) || (dir == 'n' && p.Cursor != "") {
		res.Prev = encodeCursor('p', keys[0])
	}
	return res, nil
}

func (s *sqlStore) CountMatching(ctx context.Context, f Filter, upTo int64) (int64, error) {
	where, args := s.where(f, nil)
	q := "SELECT COUNT(*) FROM (SELECT 1 FROM palisade_alerts" + where
	if upTo > 0 {
		q += " LIMIT " + strconv.FormatInt(upTo, 10)
	}
	q += ") AS m"
	var n int64
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", s.display, err)
	}
	return n, nil
}

func (s *sqlStore) Get(ctx context.Context, id int64) (Record, error) {
	r := Record{ID: id}
	var doc string
	err := s.db.QueryRowContext(ctx, "SELECT doc FROM palisade_alerts WHERE id = "+s.d.placeholder(1), id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("alert %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("query %s: %w", s.display, err)
	}
	if err := json.Unmarshal([]byte(doc), &r.Alert); err != nil {
		return r, fmt.Errorf("query %s: alert %d: %w", s.display, id, err)
	}
	r.Doc = []byte(doc)
	return r, nil
}
