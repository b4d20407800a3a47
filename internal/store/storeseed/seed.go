// Package storeseed fills a fresh SQLite alert store with the small,
// partly hostile set of alerts the command and dashboard tests share. It
// is apart from storetest because store's own tests import storetest,
// which therefore cannot import store.
package storeseed

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/store"
)

// Seed opens a new SQLite store in a test directory (closed at cleanup)
// holding four alerts, oldest first: a Notice shell in web 3 h ago, an
// Error write in db on node-2 30 min ago, a Notice shell in web 10 min
// ago, and a Critical alert 1 min ago whose rule, container and output
// carry terminal escapes, a bidi override, a NUL, invalid UTF-8 and
// <script>.
func Seed(t testing.TB) (url string, st store.Store) {
	t.Helper()
	url = "sqlite:" + filepath.Join(t.TempDir(), "alerts.db")
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	mk := func(ago time.Duration, rule string, p alert.Priority, container, image, output string) alert.Alert {
		return alert.Alert{Time: now.Add(-ago), Rule: rule, Priority: p, Output: output,
			OutputFields: map[string]any{"container.name": container, "container.image.repository": image, "proc.name": "sh"},
			Source:       "syscall", Tags: []string{"container"}, Hostname: "node-1"}
	}
	other := mk(30*time.Minute, "Write below etc", alert.Error, "db", "postgres", "etc write in db")
	other.Hostname = "node-2"
	err = st.Insert(context.Background(), []alert.Alert{
		mk(3*time.Hour, "Terminal shell in container", alert.Notice, "web", "nginx", "old shell in web"),
		other,
		mk(10*time.Minute, "Terminal shell in container", alert.Notice, "web", "nginx", "shell in web"),
		mk(time.Minute, "Evil\x1b[2J\trule\u202e", alert.Critical, "x\x1b]0;pwn\x07\ny", "evil", "cmd=<script>\x00\xff\n FAKE LINE"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return url, st
}
