package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

var postgresDialect = dialect{
	name: "postgres",
	schema: []string{
		`CREATE TABLE IF NOT EXISTS palisade_alerts (
			id BIGSERIAL PRIMARY KEY,
			time_ns BIGINT NOT NULL,
			priority SMALLINT NOT NULL,
			rule TEXT NOT NULL,
			container_name TEXT NOT NULL,
			image TEXT NOT NULL,
			hostname TEXT NOT NULL,
			doc TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS palisade_alerts_time ON palisade_alerts (time_ns)`,
	},
	placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	arrays:      true,
	insert:      "INSERT",
	onConflict:  " ON CONFLICT DO NOTHING",
	tagCond:     "(doc::jsonb -> 'tags') @> jsonb_build_array(?::text)",
	textCond:    "strpos(lower(doc), ?) > 0",
}

// openPostgres connects with pgx. Commits are durable with PostgreSQL's
// default synchronous_commit=on.
func openPostgres(ctx context.Context, url string) (Store, error) {
	display := Redact(url)
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", display, err)
	}
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", display, err)
	}
	s := &sqlStore{db: db, d: postgresDialect, display: display}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
