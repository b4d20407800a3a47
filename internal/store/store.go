package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/palisade-sec/palisade/internal/alert"
)

// DefaultURL is the store used when none is given.
const DefaultURL = "sqlite:/var/lib/palisade/alerts.db"

// Record is a stored alert with its store-assigned, increasing ID.
type Record struct {
	ID    int64
	Alert alert.Alert
	// Doc is the alert's stored JSON document (Get only): keys this
	// version's alert.Alert does not know are kept in it.
	Doc []byte
}

// Filter selects alerts. Zero fields select everything.
type Filter struct {
	Since, Until time.Time // event time, inclusive bounds
	// MinPriority keeps alerts at least this severe (Falco's "priority >=
	// P"); nil keeps all.
	MinPriority *alert.Priority
	Priority    *alert.Priority // exactly this priority; nil: any
	Rules       []string        // exact rule names, any of
	Container   string          // output_fields container.name, exact
	Image       string          // output_fields container.image.repository, exact
	Host        string          // the agent's hostname, exact
	Tag         string          // one of the rule's tags, exact
	Namespace   string          // output_fields k8s.ns.name, exact
	Pod         string          // output_fields k8s.pod.name, exact
	// Text keeps alerts whose JSON document (output, fields, rule, tags)
	// contains it, ignoring ASCII case.
	Text string
	// Response keeps alerts with a response of this action (kill, stop,
	// pause, isolate, log), or with any response ("any").
	Response string
	AfterID  int64 // only records with a larger ID (for --follow)
	// Limit keeps the newest Limit matches (0 = no limit). Results are
	// always in ascending ID (insertion) order.
	Limit int
}

// Retention bounds the store. Zero fields disable that bound.
type Retention struct {
	MaxAge   time.Duration
	MaxCount int64
}

// Store is where alerts are kept.
type Store interface {
	// Insert commits the alerts durably in one transaction. An alert whose
	// ID is already stored is skipped, so a redelivered alert is kept once.
	Insert(ctx context.Context, alerts []alert.Alert) error
	Query(ctx context.Context, f Filter) ([]Record, error)
	Count(ctx context.Context) (int64, error)
	// CountMatching counts the alerts f selects (f.Limit is ignored), up
	// to upTo: a page can say "10,000 or more" without a full count.
	CountMatching(ctx context.Context, f Filter, upTo int64) (int64, error)
	// Page is one page of the alerts f selects, in the order and from the
	// cursor p names (keyset paging: as fast on the last page as the first).
	Page(ctx context.Context, f Filter, p PageRequest) (PageResult, error)
	// ScanFrom is where a newest-first scan of the alerts up to until
	// reads n of them: the n-th newest alert's time, or zero when there
	// are no more than n (free-text search bounds itself with it).
	ScanFrom(ctx context.Context, until time.Time, n int64) (time.Time, error)
	// Get is the alert with a store ID; ErrNotFound if none.
	Get(ctx context.Context, id int64) (Record, error)
	// Overview counts the alerts in [since, until) per bucket and
	// priority, and the n most frequent values of each of TopDims.
	Overview(ctx context.Context, since, until time.Time, bucket time.Duration, n int) (*Overview, error)
	// Prune deletes alerts older than now-MaxAge and all but the newest
	// MaxCount, returning how many went.
	Prune(ctx context.Context, r Retention, now time.Time) (int64, error)
	// UpsertHosts keeps each host's latest heartbeat (the fleet
	// collector's); Hosts lists them by name.
	UpsertHosts(ctx context.Context, hosts []Host) error
	Hosts(ctx context.Context) ([]Host, error)
	// PruneHosts deletes the hosts whose latest heartbeat is older than
	// before and whose window (WindowIntervals of their interval) had
	// ended by now, returning how many went.
	PruneHosts(ctx context.Context, before, now time.Time) (int64, error)
	Close() error
}

// ErrBadURL is wrapped by Open for a store URL it does not understand.
var ErrBadURL = errors.New("bad store URL")

// Open opens (creating the schema if needed) the store a URL names:
//
//	sqlite:PATH                  embedded SQLite file
//	postgres://USER@HOST/DB?...  PostgreSQL (postgresql:// too)
func Open(ctx context.Context, url string) (Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path, err := sqlitePath(url)
		if err != nil {
			return nil, err
		}
		return openSQLite(ctx, path)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	}
	return nil, fmt.Errorf("%w %q (want sqlite:PATH or postgres://...)", ErrBadURL, url)
}

// sqlitePath is the file a sqlite: URL names.
func sqlitePath(url string) (string, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
	if path == "" {
		return "", fmt.Errorf("%w %q: sqlite: needs a path (sqlite:/var/lib/palisade/alerts.db)", ErrBadURL, url)
	}
	return path, nil
}

// Redact hides a password in a store URL for messages.
func Redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return url
	}
	userinfo := url[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return url[:scheme+3] + userinfo[:i] + ":xxxxx" + url[at:]
	}
	return url
}

// Refused reports whether err is the database refusing the data itself (a
// value it cannot hold, a constraint, a size limit) rather than being
// unreachable or failing: inserting the same alert again fails the same
// way, so a caller should set it aside instead of retrying.
func Refused(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && len(pg.Code) >= 2 {
		switch pg.Code[:2] {
		case "22", "23", "54": // data exception, integrity, program limit
			return true
		}
	}
	return false
}
