package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// runHostsSuite: heartbeats are upserted per host, the newest wins, the
// first-seen time stays, and hostile names are data (cleaned, bounded).
func runHostsSuite(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Hosts", func(t *testing.T) {
		ctx := context.Background()
		s := open(t)
		if hs, err := s.Hosts(ctx); err != nil || len(hs) != 0 {
			t.Fatalf("empty store: %v, %v", hs, err)
		}
		t0 := base
		beat := func(name string, at time.Time, events int64, version string) Host {
			return Host{Name: name, LastSeen: at, Sent: at.Add(-time.Millisecond), Interval: 10 * time.Second,
				EventsPerSec: 12.5, Events: events, Drops: 3, RulesLoaded: 61, Version: version, Spooled: 2}
		}
		hostile := "<script>alert(1)</script>\x00\xff'; DROP TABLE palisade_hosts;--"
		if err := s.UpsertHosts(ctx, []Host{beat("node-b", t0, 100, "v1"), beat("node-a", t0, 50, "v1"), beat(hostile, t0, 1, strings.Repeat("é", 100))}); err != nil {
			t.Fatal(err)
		}
		// A newer heartbeat replaces the stored one; an older one arriving
		// late (another collector's) does not.
		if err := s.UpsertHosts(ctx, []Host{beat("node-b", t0.Add(20*time.Second), 300, "v2")}); err != nil {
			t.Fatal(err)
		}
		if err := s.UpsertHosts(ctx, []Host{beat("node-b", t0.Add(10*time.Second), 200, "v1")}); err != nil {
			t.Fatal(err)
		}
		hs, err := s.Hosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != 3 {
			t.Fatalf("%d hosts, want 3: %+v", len(hs), hs)
		}
		byName := map[string]Host{}
		for _, h := range hs {
			byName[h.Name] = h
		}
		b := byName["node-b"]
		if b.Events != 300 || b.Version != "v2" || !b.LastSeen.Equal(t0.Add(20*time.Second)) || !b.FirstSeen.Equal(t0) {
			t.Errorf("node-b: %+v, want the newest heartbeat (300 events, v2) first seen at %v", b, t0)
		}
		if b.Interval != 10*time.Second || b.EventsPerSec != 12.5 || b.Drops != 3 || b.RulesLoaded != 61 || b.Spooled != 2 ||
			!b.Sent.Equal(t0.Add(20*time.Second-time.Millisecond)) {
			t.Errorf("node-b fields: %+v", b)
		}
		if hs[0].Name != "<script>alert(1)</script>\uFFFD\uFFFD'; DROP TABLE palisade_hosts;--" {
			t.Errorf("hostile name stored as %q", hs[0].Name)
		}
		if v := hs[0].Version; len(v) > MaxHostVersion || !strings.HasPrefix(v, "éé") || strings.ContainsRune(v, '\uFFFD') {
			t.Errorf("long version stored as %q (%d bytes, limit %d)", v, len(v), MaxHostVersion)
		}
		// Refused: no name, a name past the bound, no time; nothing of
		// the batch is stored.
		for _, bad := range []Host{beat("", t0, 1, "v"), beat(strings.Repeat("x", MaxHostName+1), t0, 1, "v"), {Name: "node-c"}} {
			if err := s.UpsertHosts(ctx, []Host{beat("node-c", t0, 1, "v"), bad}); !errors.Is(err, ErrBadHost) {
				t.Errorf("host %.20q: %v, want ErrBadHost", bad.Name, err)
			}
		}
		if hs, _ := s.Hosts(ctx); len(hs) != 3 {
			t.Errorf("refused batches stored something: %d hosts", len(hs))
		}
		// Pruning deletes the hosts last seen before the cut: node-a and
		// the hostile one (t0), not node-b (t0+20s); a second run finds
		// nothing more.
		for _, want := range []int64{2, 0} {
			if n, err := s.PruneHosts(ctx, t0.Add(10*time.Second), t0.Add(time.Hour)); err != nil || n != want {
				t.Errorf("PruneHosts: %d, %v; want %d", n, err, want)
			}
		}
		if hs, _ := s.Hosts(ctx); len(hs) != 1 || hs[0].Name != "node-b" {
			t.Errorf("after pruning: %+v, want node-b only", hs)
		}
		// A host past the cut but still inside its window (three of its
		// 10 s intervals after t0+20s) stays, so its silence can still be
		// alerted on; once the window is over it goes.
		if n, err := s.PruneHosts(ctx, t0.Add(30*time.Second), t0.Add(45*time.Second)); err != nil || n != 0 {
			t.Errorf("PruneHosts within node-b's window: %d, %v; want 0", n, err)
		}
		if n, err := s.PruneHosts(ctx, t0.Add(30*time.Second), t0.Add(51*time.Second)); err != nil || n != 1 {
			t.Errorf("PruneHosts after node-b's window: %d, %v; want 1", n, err)
		}
	})
}
