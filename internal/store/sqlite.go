package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver; pure Go
)

var sqliteDialect = dialect{
	name: "sqlite",
	schema: []string{
		`CREATE TABLE IF NOT EXISTS palisade_alerts (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			time_ns INTEGER NOT NULL,
			priority INTEGER NOT NULL,
			rule TEXT NOT NULL,
			container_name TEXT NOT NULL,
			image TEXT NOT NULL,
			hostname TEXT NOT NULL,
			doc TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS palisade_alerts_time ON palisade_alerts (time_ns)`,
	},
	placeholder:  func(int) string { return "?" },
	insert:       "INSERT OR IGNORE",
	countsSuffix: " WITHOUT ROWID",
	tagCond:      "EXISTS (SELECT 1 FROM json_each(doc, '$.tags') WHERE value = ?)",
	textCond:     "instr(lower(doc), ?) > 0",
}

// openSQLite opens the file in WAL mode with synchronous=FULL: a committed
// transaction is on disk before Insert returns, and readers (palisade
// alerts --follow) never block the writer.
func openSQLite(ctx context.Context, path string) (Store, error) {
	if err := makeDir(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(0)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	s := &sqlStore{db: db, d: sqliteDialect, display: path}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// makeDir creates the directory an SQLite store file goes in.
func makeDir(path string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("open store %s: %w", path, err)
		}
	}
	return nil
}
