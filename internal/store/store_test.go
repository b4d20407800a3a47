package store

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/palisade-sec/palisade/internal/alert"
)

var base = time.Date(2026, 11, 27, 4, 0, 0, 123456789, time.UTC)

func mkAlert(i int, rule string, p alert.Priority, container, image string) alert.Alert {
	return alert.Alert{
		Time: base.Add(time.Duration(i) * time.Second), Rule: rule, Priority: p,
		Output: fmt.Sprintf("event %d in %s", i, container),
		OutputFields: map[string]any{
			"container.name": container, "container.image.repository": image,
			"proc.pid": float64(1000 + i), "fd.name": nil,
		},
		Source: "syscall", Tags: []string{"container", "shell"}, Hostname: "node-1",
	}
}

// runSuite is the behaviour every Store must have; SQLite and PostgreSQL
// both run it.
func runSuite(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	runDashboardSuite(t, open)
	runHostsSuite(t, open)
	t.Run("Response", func(t *testing.T) {
		s := open(t)
		killed := mkAlert(0, "Read sensitive file untrusted", alert.Warning, "web", "busybox")
		killed.Response = &alert.Response{Action: "kill", Target: "pid 4242 (cat) in container 3f2a9c1d0e4b (web)", Result: "done", LatencyUS: 850}
		paused := mkAlert(1, "Crypto miner", alert.Critical, "batch", "busybox")
		paused.Response = &alert.Response{Action: "pause", Target: "container 77aa00bb11cc (batch)", Result: "dry_run", DryRun: true}
		if err := s.Insert(ctx, []alert.Alert{killed, paused, mkAlert(2, "Other", alert.Notice, "web", "busybox")}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			filter string
			want   []string
		}{{"kill", []string{"Read sensitive file untrusted"}}, {"pause", []string{"Crypto miner"}}, {"stop", nil},
			{"any", []string{"Read sensitive file untrusted", "Crypto miner"}}, {"", []string{"Read sensitive file untrusted", "Crypto miner", "Other"}}} {
			got, err := s.Query(ctx, Filter{Response: c.filter})
			if err != nil {
				t.Fatal(err)
			}
			var rules []string
			for _, r := range got {
				rules = append(rules, r.Alert.Rule)
			}
			if fmt.Sprint(rules) != fmt.Sprint(c.want) {
				t.Errorf("--response %q: %v, want %v", c.filter, rules, c.want)
			}
			if c.filter == "kill" && len(got) == 1 && !reflect.DeepEqual(got[0].Alert.Response, killed.Response) {
				t.Errorf("response read back %+v, want %+v", got[0].Alert.Response, killed.Response)
			}
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		in := []alert.Alert{
			mkAlert(0, "Terminal shell in container", alert.Notice, "web", "nginx"),
			mkAlert(1, "Write below etc", alert.Error, "db", "postgres"),
		}
		if err := s.Insert(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.Query(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID >= got[1].ID {
			t.Fatalf("got %d records %+v", len(got), got)
		}
		for i := range in {
			if !got[i].Alert.Time.Equal(in[i].Time) {
				t.Errorf("time %v != %v", got[i].Alert.Time, in[i].Time)
			}
			got[i].Alert.Time = in[i].Time
			if !reflect.DeepEqual(got[i].Alert, in[i]) {
				t.Errorf("record %d:\n got %#v\nwant %#v", i, got[i].Alert, in[i])
			}
		}
	})
	t.Run("Filters", func(t *testing.T) {
		s := open(t)
		var in []alert.Alert
		for i := 0; i < 30; i++ {
			p := []alert.Priority{alert.Critical, alert.Warning, alert.Notice}[i%3]
			rule := []string{"A", "B"}[i%2]
			c := []string{"web", "db", "cache", "job", "api"}[i%5]
			in = append(in, mkAlert(i, rule, p, c, "img-"+c))
		}
		if err := s.Insert(ctx, in); err != nil {
			t.Fatal(err)
		}
		warn := alert.Warning
		all, _ := s.Query(ctx, Filter{})
		for _, tc := range []struct {
			name string
			f    Filter
			keep func(i int, a alert.Alert) bool
		}{
			{"all", Filter{}, func(int, alert.Alert) bool { return true }},
			{"since", Filter{Since: base.Add(10 * time.Second)}, func(i int, _ alert.Alert) bool { return i >= 10 }},
			{"until", Filter{Until: base.Add(5 * time.Second)}, func(i int, _ alert.Alert) bool { return i <= 5 }},
			{"window", Filter{Since: base.Add(3 * time.Second), Until: base.Add(7 * time.Second)}, func(i int, _ alert.Alert) bool { return i >= 3 && i <= 7 }},
			{"priority>=warning", Filter{MinPriority: &warn}, func(_ int, a alert.Alert) bool { return a.Priority <= alert.Warning }},
			{"rule", Filter{Rules: []string{"B"}}, func(_ int, a alert.Alert) bool { return a.Rule == "B" }},
			{"rules", Filter{Rules: []string{"A", "B"}}, func(int, alert.Alert) bool { return true }},
			{"container", Filter{Container: "db"}, func(i int, _ alert.Alert) bool { return i%5 == 1 }},
			{"image", Filter{Image: "img-api"}, func(i int, _ alert.Alert) bool { return i%5 == 4 }},
			{"combined", Filter{Rules: []string{"A"}, Container: "web"}, func(i int, _ alert.Alert) bool { return i%10 == 0 }},
			{"after", Filter{AfterID: all[24].ID}, func(i int, _ alert.Alert) bool { return i > 24 }},
			{"limit", Filter{Limit: 4}, func(i int, _ alert.Alert) bool { return i >= 26 }},
			{"limit+rule", Filter{Limit: 2, Rules: []string{"A"}}, func(i int, _ alert.Alert) bool { return i == 26 || i == 28 }},
		} {
			got, err := s.Query(ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var want []string
			for i, a := range in {
				if tc.keep(i, a) {
					want = append(want, a.Output)
				}
			}
			var have []string
			for _, r := range got {
				have = append(have, r.Alert.Output)
			}
			if !reflect.DeepEqual(have, want) {
				t.Errorf("%s: got %q\nwant %q", tc.name, have, want)
			}
		}
	})
	t.Run("HostileStrings", func(t *testing.T) {
		s := open(t)
		huge := strings.Repeat("A", 1<<20)
		hostile := "\x00nul \x1b[31mred\x1b[0m\nnewline \xff\xfe bad utf8 <script>alert(1)</script> '; DROP TABLE palisade_alerts; --"
		a := mkAlert(0, hostile, alert.Critical, hostile, hostile)
		a.Output = hostile + huge
		a.OutputFields["proc.cmdline"] = huge
		if err := s.Insert(ctx, []alert.Alert{a}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Query(ctx, Filter{})
		if err != nil || len(got) != 1 {
			t.Fatalf("query: %v, %d records", err, len(got))
		}
		// JSON replaces each invalid byte with U+FFFD, as the JSON outputs do.
		var clean string
		b, _ := json.Marshal(hostile)
		json.Unmarshal(b, &clean)
		if got[0].Alert.Rule != clean || got[0].Alert.Output != clean+huge || got[0].Alert.OutputFields["proc.cmdline"] != huge {
			t.Errorf("hostile alert did not round-trip: rule %q", got[0].Alert.Rule)
		}
		byRule, err := s.Query(ctx, Filter{Container: cleanText(hostile)})
		if err != nil || len(byRule) != 1 {
			t.Errorf("filter on hostile container name: %v, %d records", err, len(byRule))
		}
	})
	t.Run("Retention", func(t *testing.T) {
		s := open(t)
		var in []alert.Alert
		for i := 0; i < 100; i++ {
			in = append(in, mkAlert(i, "R", alert.Notice, "c", "i"))
		}
		if err := s.Insert(ctx, in); err != nil {
			t.Fatal(err)
		}
		now := base.Add(100 * time.Second)
		n, err := s.Prune(ctx, Retention{MaxAge: 50 * time.Second}, now)
		if err != nil || n != 50 {
			t.Fatalf("prune by age: %d, %v; want 50", n, err)
		}
		n, err = s.Prune(ctx, Retention{MaxCount: 20}, now)
		if err != nil || n != 30 {
			t.Fatalf("prune by count: %d, %v; want 30", n, err)
		}
		got, _ := s.Query(ctx, Filter{})
		if len(got) != 20 || got[0].Alert.Output != in[80].Output || got[19].Alert.Output != in[99].Output {
			t.Fatalf("after prune: %d records, first %q", len(got), got[0].Alert.Output)
		}
		if c, err := s.Count(ctx); err != nil || c != 20 {
			t.Fatalf("count %d, %v", c, err)
		}
		if n, err := s.Prune(ctx, Retention{MaxCount: 20, MaxAge: time.Hour}, now); err != nil || n != 0 {
			t.Fatalf("prune within bounds removed %d, %v", n, err)
		}
		// IDs keep increasing after a prune, so --follow never misses one.
		last := got[19].ID
		if err := s.Insert(ctx, in[:1]); err != nil {
			t.Fatal(err)
		}
		newer, _ := s.Query(ctx, Filter{AfterID: last})
		if len(newer) != 1 {
			t.Fatalf("insert after prune: %d new records", len(newer))
		}
	})
	t.Run("IdempotentByID", func(t *testing.T) {
		s := open(t)
		var in []alert.Alert
		for i := 0; i < 600; i++ {
			a := mkAlert(i, "R", alert.Notice, "c", "i")
			a.ID = alert.NewID(a.Time)
			a.Hostname = []string{"node-1", "node-2", "node-3"}[i%3]
			in = append(in, a)
		}
		noID := mkAlert(1000, "R", alert.Notice, "c", "i")
		// A redelivered batch, a batch holding its own duplicate, and alerts
		// without an ID (which never collide) are each stored once per ID.
		for _, batch := range [][]alert.Alert{in[:400], in[200:], {in[5], in[5], noID, noID}} {
			if err := s.Insert(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		if c, err := s.Count(ctx); err != nil || c != 602 {
			t.Fatalf("count %d, %v; want 600 alerts once each and 2 without an ID", c, err)
		}
		got, err := s.Query(ctx, Filter{Host: "node-2"})
		if err != nil || len(got) != 200 {
			t.Fatalf("host filter: %d records, %v; want 200", len(got), err)
		}
		for _, r := range got {
			if r.Alert.Hostname != "node-2" || r.Alert.ID == "" {
				t.Fatalf("host filter returned %q with ID %q", r.Alert.Hostname, r.Alert.ID)
			}
		}
		if got[0].Alert.ID != in[1].ID {
			t.Errorf("first node-2 alert has ID %q, want %q", got[0].Alert.ID, in[1].ID)
		}
	})
	t.Run("BigBatch", func(t *testing.T) {
		s := open(t)
		var in []alert.Alert
		for i := 0; i < 2000; i++ {
			in = append(in, mkAlert(i, "R", alert.Notice, "c", "i"))
		}
		if err := s.Insert(ctx, in); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Count(ctx); err != nil || c != 2000 {
			t.Fatalf("count %d, %v", c, err)
		}
	})
}

func TestSQLite(t *testing.T) {
	runSuite(t, func(t *testing.T) Store {
		s, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "sub", "alerts.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// A database written before alert IDs existed is migrated in place: its
// alerts stay, new ones carry IDs and are de-duplicated by them.
func TestSQLiteMigratesOldSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	db := s.(*sqlStore).db
	// Rebuild the table as the schema before alert_id had it, with no
	// counts table.
	for _, q := range []string{"DROP TABLE palisade_alerts", "DROP TABLE palisade_alert_counts", sqliteDialect.schema[0],
		`INSERT INTO palisade_alerts (time_ns, priority, rule, container_name, image, hostname, doc) VALUES (1, 4, 'old', '', '', 'h', '{"time":"2026-01-01T00:00:00Z","rule":"old","priority":"Warning","output":"o","output_fields":null,"source":"syscall","tags":null,"hostname":"h"}')`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	for i := 0; i < 2; i++ { // the migration runs once, then is a no-op
		s, err = Open(ctx, "sqlite:"+path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		a := mkAlert(1, "new", alert.Warning, "c", "i")
		a.ID = "0193a4d2-0000-7000-8000-000000000001"
		if err := s.Insert(ctx, []alert.Alert{a, a}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Query(ctx, Filter{})
		if err != nil || len(got) != 2 || got[0].Alert.Rule != "old" || got[1].Alert.ID != a.ID {
			t.Fatalf("open %d: %d records, %v", i, len(got), err)
		}
		// The old alert was counted when the counts table was created,
		// the new one by its insert, the redelivery not at all.
		day := 24 * time.Hour
		o, err := s.Overview(ctx, time.Unix(0, 0), base.Truncate(day).Add(day), base.Truncate(day).Add(day).Sub(time.Unix(0, 0)), 5)
		if err != nil || o.Source != "day" || o.Total != 2 || len(o.Top[DimRule]) != 2 {
			t.Fatalf("open %d: overview %+v, %v", i, o, err)
		}
		s.Close()
	}
}

// Refused tells the database refusing a value from it being away.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("insert: %w", &pgconn.PgError{Code: "22021"}), true}, // invalid byte sequence
		{&pgconn.PgError{Code: "23505"}, true},                           // unique violation
		{&pgconn.PgError{Code: "54000"}, true},                           // program limit
		{&pgconn.PgError{Code: "57P01"}, false},                          // admin shutdown
		{&pgconn.PgError{Code: "08006"}, false},                          // connection failure
		{errors.New("dial tcp: connection refused"), false},
		{nil, false},
	} {
		if got := Refused(tc.err); got != tc.want {
			t.Errorf("Refused(%v) = %v", tc.err, got)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	for _, u := range []string{"", "mysql://x", "sqlite:", "/tmp/x.db"} {
		if _, err := Open(context.Background(), u); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
	if got := Redact("postgres://u:secret@h/db"); got != "postgres://u:xxxxx@h/db" {
		t.Errorf("Redact = %q", got)
	}
}

func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := "sqlite:" + filepath.Join(t.TempDir(), "a.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, []alert.Alert{mkAlert(1, "R", alert.Warning, "c", "i")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, _ := s.Count(ctx); c != 1 {
		t.Fatalf("after reopen: %d alerts", c)
	}
}

// TestSQLiteCrashSafety kills a writer with SIGKILL mid-stream and checks
// that every batch it had been told was committed is in the database.
func TestSQLiteCrashSafety(t *testing.T) {
	// Right everywhere: in the child process this test is its own parent.
	if os.Getenv("PALISADE_STORE_CRASH_CHILD") != "" {
		t.Skip("child")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "PALISADE_STORE_CRASH_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	acked := 0
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked, _ = strconv.Atoi(n)
			if acked >= 3000 {
				break
			}
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if acked < 3000 {
		t.Fatalf("child acknowledged only %d alerts", acked)
	}
	s, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c < int64(acked) {
		t.Fatalf("after kill -9: %d alerts in store, %d were acknowledged", c, acked)
	}
	t.Logf("acknowledged %d, found %d after SIGKILL", acked, c)
}

// TestCrashChild is the writer TestSQLiteCrashSafety kills.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("PALISADE_STORE_CRASH_CHILD")
	// Right everywhere: this is a helper process, not a test of its own.
	if path == "" {
		t.Skip("only run as TestSQLiteCrashSafety's child")
	}
	s, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		batch := make([]alert.Alert, 100)
		for i := range batch {
			batch[i] = mkAlert(n+i, "R", alert.Notice, "c", "i")
		}
		if err := s.Insert(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		n += len(batch)
		fmt.Printf("acked %d\n", n)
	}
}

// BenchmarkSQLiteInsert measures batched inserts (512 alerts per
// transaction, fsync per commit) and reports alerts/s.
func BenchmarkSQLiteInsert(b *testing.B) {
	s, err := Open(context.Background(), "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := benchBatch()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		// Alerts arrive in time order, as they do from watch.
		for j := range batch {
			batch[j].Time = base.Add(time.Duration(i*len(batch)+j) * time.Millisecond)
		}
		if err := s.Insert(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "alerts/s")
	// The machine is shared; alerts per CPU-second is what one free core
	// would sustain.
	b.ReportMetric(float64(b.N*len(batch))/(cpuTime()-cpu0).Seconds(), "alerts/cpu-s")
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchBatch is 512 alerts shaped like a real Falco "Terminal shell in
// container" alert.
func benchBatch() []alert.Alert {
	batch := make([]alert.Alert, 512)
	for i := range batch {
		batch[i] = mkAlert(i, "Terminal shell in container", alert.Notice, "web", "nginx")
		batch[i].Output = "A shell was spawned in a container with an attached terminal (user=root user_loginuid=-1 container_id=3f2a1b container_name=web shell=bash parent=runc cmdline=bash -i terminal=34816)"
		batch[i].OutputFields["proc.cmdline"] = "bash -i"
		batch[i].OutputFields["user.name"] = "root"
	}
	return batch
}
