package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Host is the latest heartbeat the fleet collector stored for one agent.
type Host struct {
	Name string // the agent's hostname (cleaned like alert hostnames)
	// FirstSeen and LastSeen are when NATS stored the first and the
	// latest heartbeat kept (the server's clock, not the agent's).
	FirstSeen, LastSeen time.Time
	Sent                time.Time     // the heartbeat's own time (the agent's clock)
	Interval            time.Duration // the agent's heartbeat interval
	EventsPerSec        float64
	Events, Drops       int64
	RulesLoaded         int64
	Version             string // at most MaxHostVersion bytes
	Spooled             int64  // alerts waiting in the agent's spool
}

// Bounds on what one heartbeat may put in the store: a name longer than
// MaxHostName bytes is refused (a DNS name is at most 253), a longer
// version is cut, and Hosts returns at most MaxHosts rows.
const (
	MaxHostName    = 255
	MaxHostVersion = 64
	MaxHosts       = 10000
)

// ErrBadHost is wrapped by UpsertHosts for a host it refuses.
var ErrBadHost = errors.New("bad host")

// hostsTable holds one row per host; the same text suits both databases.
const hostsTable = `CREATE TABLE IF NOT EXISTS palisade_hosts (
	hostname TEXT PRIMARY KEY,
	first_seen_ns BIGINT NOT NULL,
	last_seen_ns BIGINT NOT NULL,
	sent_ns BIGINT NOT NULL,
	interval_ms BIGINT NOT NULL,
	events_per_s DOUBLE PRECISION NOT NULL,
	events BIGINT NOT NULL,
	drops BIGINT NOT NULL,
	rules_loaded BIGINT NOT NULL,
	version TEXT NOT NULL,
	spooled BIGINT NOT NULL)`

const hostCols = "hostname, first_seen_ns, last_seen_ns, sent_ns, interval_ms, events_per_s, events, drops, rules_loaded, version, spooled"

// checkHost cleans a host for storing or says why it cannot be stored.
func checkHost(h Host) (Host, error) {
	switch {
	case h.Name == "":
		return h, fmt.Errorf("%w: empty hostname", ErrBadHost)
	case len(h.Name) > MaxHostName:
		return h, fmt.Errorf("%w: hostname of %d bytes (limit %d)", ErrBadHost, len(h.Name), MaxHostName)
	case h.LastSeen.IsZero():
		return h, fmt.Errorf("%w %q: no last-seen time", ErrBadHost, h.Name)
	}
	h.Name = cleanText(h.Name)
	h.Version = cleanText(h.Version)
	if len(h.Version) > MaxHostVersion {
		cut := MaxHostVersion
		for cut > 0 && !utf8.RuneStart(h.Version[cut]) {
			cut--
		}
		h.Version = h.Version[:cut]
	}
	if math.IsNaN(h.EventsPerSec) || math.IsInf(h.EventsPerSec, 0) || h.EventsPerSec < 0 {
		h.EventsPerSec = 0
	}
	for _, v := range []*int64{&h.Events, &h.Drops, &h.RulesLoaded, &h.Spooled} {
		*v = max(*v, 0)
	}
	h.Interval = max(h.Interval, 0)
	if h.FirstSeen.IsZero() || h.FirstSeen.After(h.LastSeen) {
		h.FirstSeen = h.LastSeen
	}
	return h, nil
}

// UpsertHosts stores each host's heartbeat in one transaction: a new host
// is added, a known one is updated when the heartbeat is newer (by
// LastSeen) than the one stored, keeping its first-seen time.
func (s *sqlStore) UpsertHosts(ctx context.Context, hosts []Host) error {
	if len(hosts) == 0 {
		return nil
	}
	clean := make([]Host, 0, len(hosts))
	for _, h := range hosts {
		c, err := checkHost(h)
		if err != nil {
			return err
		}
		clean = append(clean, c)
	}
	p := s.d.placeholder
	marks := ""
	for i := 1; i <= 11; i++ {
		if i > 1 {
			marks += ","
		}
		marks += p(i)
	}
	q := "INSERT INTO palisade_hosts (" + hostCols + ") VALUES (" + marks + ") ON CONFLICT (hostname) DO UPDATE SET " +
		"last_seen_ns = excluded.last_seen_ns, sent_ns = excluded.sent_ns, interval_ms = excluded.interval_ms, " +
		"events_per_s = excluded.events_per_s, events = excluded.events, drops = excluded.drops, " +
		"rules_loaded = excluded.rules_loaded, version = excluded.version, spooled = excluded.spooled " +
		"WHERE excluded.last_seen_ns > palisade_hosts.last_seen_ns"
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store hosts in %s: %w", s.display, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return fmt.Errorf("store hosts in %s: %w", s.display, err)
	}
	defer stmt.Close()
	for _, h := range clean {
		if _, err := stmt.ExecContext(ctx, h.Name, timeNS(h.FirstSeen), timeNS(h.LastSeen), timeNS(h.Sent),
			h.Interval.Milliseconds(), h.EventsPerSec, h.Events, h.Drops, h.RulesLoaded, h.Version, h.Spooled); err != nil {
			return fmt.Errorf("store host %q in %s: %w", h.Name, s.display, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store hosts in %s: %w", s.display, err)
	}
	return nil
}

// Hosts are the stored hosts by name, at most MaxHosts.
func (s *sqlStore) Hosts(ctx context.Context) ([]Host, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+hostCols+" FROM palisade_hosts ORDER BY hostname LIMIT "+strconv.Itoa(MaxHosts))
	if err != nil {
		return nil, fmt.Errorf("query hosts in %s: %w", s.display, err)
	}
	defer rows.Close()
	var out []Host
	for rows.Next() {
		var h Host
		var first, last, sent, interval int64
		if err := rows.Scan(&h.Name, &first, &last, &sent, &interval, &h.EventsPerSec, &h.Events, &h.Drops,
			&h.RulesLoaded, &h.Version, &h.Spooled); err != nil {
			return nil, fmt.Errorf("query hosts in %s: %w", s.display, err)
		}
		h.FirstSeen, h.LastSeen, h.Sent = fromNS(first), fromNS(last), fromNS(sent)
		h.Interval = time.Duration(interval) * time.Millisecond
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query hosts in %s: %w", s.display, err)
	}
	return out, nil
}

// WindowIntervals is how many of its heartbeat intervals a host may stay
// silent before it is alerted on (one late or lost heartbeat is not an
// alert).
const WindowIntervals = 3

// PruneHosts deletes the hosts last seen before before whose window had
// ended by now.
func (s *sqlStore) PruneHosts(ctx context.Context, before, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM palisade_hosts WHERE last_seen_ns < "+s.d.placeholder(1)+
		" AND last_seen_ns + interval_ms * "+s.d.placeholder(2)+" < "+s.d.placeholder(3),
		before.UnixNano(), int64(WindowIntervals*time.Millisecond), now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("prune hosts in %s: %w", s.display, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func fromNS(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// UpsertHosts opens the store: heartbeats come only to a collector's.
func (l *lazyStore) UpsertHosts(ctx context.Context, hosts []Host) error {
	st, err := l.get(ctx)
	if err != nil {
		return err
	}
	return st.UpsertHosts(ctx, hosts)
}

func (l *lazyStore) Hosts(ctx context.Context) ([]Host, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return st.Hosts(ctx)
}

func (l *lazyStore) PruneHosts(ctx context.Context, before, now time.Time) (int64, error) {
	st, err := l.get(ctx)
	if err != nil {
		return 0, err
	}
	return st.PruneHosts(ctx, before, now)
}
