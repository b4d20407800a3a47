package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ParseWhen reads a since/until bound: "" (no bound), a duration back from
// now (Go syntax plus a "d" day unit: 90m, 2h, 7d) or an RFC 3339 time.
func ParseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n float64
		if _, err := fmt.Sscanf(days, "%g", &n); err == nil && n >= 0 && fmt.Sprint(n) == days {
			return now.Add(-time.Duration(n * 24 * float64(time.Hour))), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither a duration (90m, 2h, 7d) nor an RFC 3339 time", s)
	}
	return now.Add(-d), nil
}

// OpenExisting opens a store to query it: unlike Open it never creates a
// SQLite file, so a mistyped path is an error naming it.
func OpenExisting(ctx context.Context, url string) (Store, error) {
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		path = strings.TrimPrefix(path, "//")
		st, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("no alert store at %s (has palisade watch run with --store %s?)", path, url)
			}
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		// Opening an empty file would make it a database; a query must
		// never write to a file it was merely pointed at.
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: %w (not a regular file); left untouched", path, ErrNotStore)
		}
		if err := checkSQLiteHeader(path); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return Open(ctx, url)
}

// Follow hands emit the records already matched (first), then polls st
// every interval for newer matches of f and hands them over, until ctx
// ends (then it returns nil) or a query or emit fails. With nothing matched
// yet it starts after the newest record of any kind.
func Follow(ctx context.Context, st Store, f Filter, first []Record, interval time.Duration, emit func([]Record) error) error {
	var last int64
	send := func(recs []Record) error {
		for _, r := range recs {
			last = max(last, r.ID)
		}
		return emit(recs)
	}
	if err := send(first); err != nil {
		return err
	}
	if last == 0 {
		if newest, err := st.Query(ctx, Filter{Limit: 1}); err == nil && len(newest) == 1 {
			last = newest[0].ID
		}
	}
	f.Limit = 0
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		f.AfterID = last
		recs, err := st.Query(ctx, f)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := send(recs); err != nil {
			return err
		}
	}
}

// ErrNotStore says a file named as an alert store is not a SQLite database.
var ErrNotStore = errors.New("not an alert store")

// checkSQLiteHeader reads the 16-byte header every SQLite database starts
// with.
func checkSQLiteHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	defer f.Close()
	var hdr [16]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || string(hdr[:]) != "SQLite format 3\x00" {
		return fmt.Errorf("%s: %w (empty or not a SQLite database); left untouched", path, ErrNotStore)
	}
	return nil
}
