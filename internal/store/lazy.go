package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// OpenLazy is Open for an agent that may never raise an alert: an SQLite
// store is checked now (the URL, and that its file can be created and
// written) but opened on first use, so an idle agent does not carry the
// database engine in memory. Other stores are opened at once (their errors,
// such as a refused connection, belong at start-up).
func OpenLazy(ctx context.Context, url string) (Store, error) {
	if !strings.HasPrefix(url, "sqlite:") {
		return Open(ctx, url)
	}
	path, err := sqlitePath(url)
	if err != nil {
		return nil, err
	}
	if err := makeDir(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	f.Close()
	return &lazyStore{url: url}, nil
}

// lazyStore opens its store on first use; a failed open is retried on the
// next use.
type lazyStore struct {
	url    string
	mu     sync.Mutex
	st     Store
	closed bool
}

// Opened reports whether the store has been opened.
func (l *lazyStore) Opened() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st != nil
}

func (l *lazyStore) get(ctx context.Context) (Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("store %s: closed", l.url)
	}
	if l.st == nil {
		st, err := Open(ctx, l.url)
		if err != nil {
			return nil, err
		}
		l.st = st
	}
	return l.st, nil
}

func (l *lazyStore) Insert(ctx context.Context, alerts []alert.Alert) error {
	st, err := l.get(ctx)
	if err != nil {
		return err
	}
	return st.Insert(ctx, alerts)
}

func (l *lazyStore) Query(ctx context.Context, f Filter) ([]Record, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return st.Query(ctx, f)
}

func (l *lazyStore) Count(ctx context.Context) (int64, error) {
	st, err := l.get(ctx)
	if err != nil {
		return 0, err
	}
	return st.Count(ctx)
}

func (l *lazyStore) CountMatching(ctx context.Context, f Filter, upTo int64) (int64, error) {
	st, err := l.get(ctx)
	if err != nil {
		return 0, err
	}
	return st.CountMatching(ctx, f, upTo)
}

func (l *lazyStore) Page(ctx context.Context, f Filter, p PageRequest) (PageResult, error) {
	st, err := l.get(ctx)
	if err != nil {
		return PageResult{}, err
	}
	return st.Page(ctx, f, p)
}

func (l *lazyStore) Get(ctx context.Context, id int64) (Record, error) {
	st, err := l.get(ctx)
	if err != nil {
		return Record{}, err
	}
	return st.Get(ctx, id)
}

func (l *lazyStore) Overview(ctx context.Context, since, until time.Time, bucket time.Duration, n int) (*Overview, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return st.Overview(ctx, since, until, bucket, n)
}

// Prune leaves a store not opened yet alone: nothing was written to it
// since start, and retention runs on its first tick after the first alert.
func (l *lazyStore) Prune(ctx context.Context, r Retention, now time.Time) (int64, error) {
	if !l.Opened() {
		return 0, nil
	}
	st, err := l.get(ctx)
	if err != nil {
		return 0, err
	}
	return st.Prune(ctx, r, now)
}

func (l *lazyStore) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.st == nil {
		return nil
	}
	return l.st.Close()
}
