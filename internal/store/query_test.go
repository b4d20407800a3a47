package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"2h":                   now.Add(-2 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"1.5d":                 now.Add(-36 * time.Hour),
		"2026-11-01T00:00:00Z": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, err := ParseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"soon", "-1h", "d", "xd", "2026-13-01"} {
		if _, err := ParseWhen(bad, now); err == nil {
			t.Errorf("ParseWhen(%q) accepted", bad)
		}
	}
}

func TestOpenExisting(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope", "alerts.db")
	_, err := OpenExisting(context.Background(), "sqlite:"+missing)
	if err == nil || !strings.Contains(err.Error(), "no alert store at "+missing) || !strings.Contains(err.Error(), "--store sqlite:"+missing) {
		t.Fatalf("missing store: %v", err)
	}
	url := "sqlite:" + filepath.Join(t.TempDir(), "alerts.db")
	st, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = OpenExisting(context.Background(), url)
	if err != nil {
		t.Fatalf("existing store: %v", err)
	}
	st.Close()
}

// TestFollow: records already matched first, then only newer matches, once
// each, until the context ends.
func TestFollow(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mk := func(rule string) alert.Alert {
		return alert.Alert{Time: time.Now(), Rule: rule, Priority: alert.Warning, Output: rule, Source: "syscall"}
	}
	if err := st.Insert(ctx, []alert.Alert{mk("a"), mk("b")}); err != nil {
		t.Fatal(err)
	}
	f := Filter{Rules: []string{"a", "c"}}
	first, err := st.Query(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, st, f, first, 10*time.Millisecond, func(recs []Record) error {
			for _, r := range recs {
				got = append(got, r.Alert.Rule)
				if r.Alert.Rule == "c" {
					cancel()
				}
			}
			return nil
		})
	}()
	time.Sleep(50 * time.Millisecond)
	if err := st.Insert(context.Background(), []alert.Alert{mk("b"), mk("c")}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil || strings.Join(got, ",") != "a,c" {
			t.Errorf("Follow: %v, got %v", err, got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not see the new alert")
	}
}
