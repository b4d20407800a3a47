package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// dashSet is 400 alerts, one every 7 minutes from base (so they span two
// days and cross hour and day bounds), with rules, priorities, containers,
// pods, hosts and tags varied; alert 5 is delivered twice.
func dashSet() []alert.Alert {
	var as []alert.Alert
	for i := 0; i < 400; i++ {
		a := mkAlert(0, fmt.Sprintf("rule %d", i%7), alert.Priority(i%8), fmt.Sprintf("c%d", i%11), fmt.Sprintf("img%d", i%5))
		a.Time = base.Add(time.Duration(i) * 7 * time.Minute)
		a.Hostname = fmt.Sprintf("node-%d", i%3)
		a.ID = fmt.Sprintf("id-%d", i)
		a.Output = fmt.Sprintf("event %d Needle%d", i, i%13)
		if i%4 == 0 {
			a.OutputFields["k8s.ns.name"] = "ns" + strconv.Itoa(i%2)
			a.OutputFields["k8s.pod.name"] = "pod" + strconv.Itoa(i%6)
		}
		if i%10 == 0 {
			a.Tags = []string{"mitre_execution"}
		}
		if i%9 == 0 {
			a.OutputFields["container.name"] = ""
		}
		as = append(as, a)
	}
	return as
}

// expectOverview counts as in Go, as Overview should.
func expectOverview(as []alert.Alert, since, until time.Time, bucket time.Duration, n int) (int64, map[[2]int64]int64, map[string][]Count) {
	series := map[[2]int64]int64{}
	tops := map[string]map[string]int64{}
	var total int64
	for _, a := range as {
		if a.Time.Before(since) || !a.Time.Before(until) {
			continue
		}
		total++
		series[[2]int64{int64(a.Time.Sub(since) / bucket), int64(a.Priority)}]++
		c, _ := a.OutputFields["container.name"].(string)
		img, _ := a.OutputFields["container.image.repository"].(string)
		ns, _ := a.OutputFields["k8s.ns.name"].(string)
		pod, _ := a.OutputFields["k8s.pod.name"].(string)
		for dim, v := range map[string]string{DimRule: a.Rule, DimContainer: c, DimImage: img, DimHost: a.Hostname, DimPod: ns + "/" + pod} {
			if v == "" || v == "/" {
				continue
			}
			if tops[dim] == nil {
				tops[dim] = map[string]int64{}
			}
			tops[dim][v]++
		}
	}
	top := map[string][]Count{}
	for _, dim := range TopDims {
		var cs []Count
		for v, k := range tops[dim] {
			cs = append(cs, Count{v, k})
		}
		sort.Slice(cs, func(i, j int) bool {
			if cs[i].N != cs[j].N {
				return cs[i].N > cs[j].N
			}
			return cs[i].Value < cs[j].Value
		})
		if len(cs) > n {
			cs = cs[:n]
		}
		top[dim] = cs
	}
	return total, series, top
}

func checkOverview(t *testing.T, s Store, as []alert.Alert, since, until time.Time, bucket time.Duration, source string) {
	t.Helper()
	o, err := s.Overview(context.Background(), since, until, bucket, 4)
	if err != nil {
		t.Fatal(err)
	}
	if o.Source != source {
		t.Errorf("%v..%v/%v: source %q, want %q", since, until, bucket, o.Source, source)
	}
	total, series, top := expectOverview(as, since, until, bucket, 4)
	got := map[[2]int64]int64{}
	for _, p := range o.Series {
		got[[2]int64{int64(p.Start.Sub(since) / bucket), int64(p.Priority)}] += p.N
	}
	if o.Total != total || !reflect.DeepEqual(got, series) {
		t.Errorf("%s: total %d want %d; series %v want %v", source, o.Total, total, got, series)
	}
	for _, dim := range TopDims {
		if len(o.Top[dim]) != len(top[dim]) || (len(top[dim]) > 0 && !reflect.DeepEqual(o.Top[dim], top[dim])) {
			t.Errorf("%s: top %s %v, want %v", source, dim, o.Top[dim], top[dim])
		}
	}
}

func runDashboardSuite(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	t.Run("ScanFrom", func(t *testing.T) {
		// Newest first by id, so an order by id would be wrong.
		s := open(t)
		as := dashSet()
		slices.Reverse(as)
		if err := s.Insert(ctx, as); err != nil {
			t.Fatal(err)
		}
		checkScanFrom(t, s, as)
	})
	t.Run("DashOverview", func(t *testing.T) {
		s := open(t)
		as := dashSet()
		if err := s.Insert(ctx, as[:200]); err != nil {
			t.Fatal(err)
		}
		// A redelivery of alerts already stored must not count twice.
		if err := s.Insert(ctx, as[5:300]); err != nil {
			t.Fatal(err)
		}
		if err := s.Insert(ctx, as[300:]); err != nil {
			t.Fatal(err)
		}
		day := base.Truncate(24 * time.Hour)
		checkOverview(t, s, as, day, day.Add(3*24*time.Hour), 24*time.Hour, "day")
		checkOverview(t, s, as, day.Add(5*time.Hour), day.Add(29*time.Hour), time.Hour, "hour")
		checkOverview(t, s, as, day.Add(5*time.Hour), day.Add(29*time.Hour), 6*time.Hour, "hour")
		checkOverview(t, s, as, base.Add(90*time.Minute), base.Add(7*time.Hour), 10*time.Minute, "alerts")
		// Pruning rebuilds the counts of the days it touched.
		if n, err := s.Prune(ctx, Retention{MaxAge: 24 * time.Hour}, base.Add(30*time.Hour)); err != nil || n == 0 {
			t.Fatalf("prune: %d, %v", n, err)
		}
		var kept []alert.Alert
		for _, a := range as {
			if !a.Time.Before(base.Add(6 * time.Hour)) {
				kept = append(kept, a)
			}
		}
		checkOverview(t, s, kept, day, day.Add(3*24*time.Hour), 24*time.Hour, "day")
		checkOverview(t, s, kept, day, day.Add(48*time.Hour), time.Hour, "hour")
		if n, err := s.Prune(ctx, Retention{MaxCount: 50}, base); err != nil || n == 0 {
			t.Fatalf("prune: %d, %v", n, err)
		}
		checkOverview(t, s, kept[len(kept)-50:], day, day.Add(3*24*time.Hour), time.Hour, "hour")
		if _, err := s.Overview(ctx, day, day, time.Hour, 4); err == nil {
			t.Error("empty range accepted")
		}
	})
	t.Run("DashDuplicatesInBatch", func(t *testing.T) {
		s := open(t)
		as := dashSet()
		if err := s.Insert(ctx, as[:100]); err != nil {
			t.Fatal(err)
		}
		// One batch holding new alerts, alerts already stored (redelivered)
		// and repeats of both within itself: each alert is stored and
		// counted once, and the batch's order gives the ids.
		batch := append([]alert.Alert(nil), as[50:150]...)
		batch = append(batch, as[120], as[0], as[149], as[60], as[120])
		// Alerts without an ID never collide: both are stored and counted.
		noID := as[150]
		noID.ID = ""
		batch = append(batch, noID, noID)
		want := append(as[:150:150], noID, noID)
		if err := s.Insert(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Count(ctx); err != nil || n != int64(len(want)) {
			t.Fatalf("count %d, %v; want %d", n, err, len(want))
		}
		got, err := s.Query(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if r.Alert.ID != want[i].ID {
				t.Fatalf("alert %d (id %d) is %s, want %s", i, r.ID, r.Alert.ID, want[i].ID)
			}
		}
		day := base.Truncate(24 * time.Hour)
		checkOverview(t, s, want, day, day.Add(3*24*time.Hour), 24*time.Hour, "day")
		checkOverview(t, s, want, day, day.Add(48*time.Hour), time.Hour, "hour")
	})
	t.Run("DashPage", func(t *testing.T) {
		s := open(t)
		as := dashSet()
		// Equal times (paging must still be total) and insertion out of
		// time order.
		as[10].Time, as[11].Time, as[12].Time = as[20].Time, as[20].Time, as[20].Time
		as[0], as[399] = as[399], as[0]
		if err := s.Insert(ctx, as); err != nil {
			t.Fatal(err)
		}
		all, err := s.Query(ctx, Filter{})
		if err != nil || len(all) != len(as) {
			t.Fatalf("%d, %v", len(all), err)
		}
		for _, sortName := range []string{SortNewest, SortOldest, SortPriority} {
			want := append([]Record(nil), all...)
			sort.SliceStable(want, func(i, j int) bool {
				a, b := want[i], want[j]
				switch sortName {
				case SortOldest:
					if !a.Alert.Time.Equal(b.Alert.Time) {
						return a.Alert.Time.Before(b.Alert.Time)
					}
					return a.ID < b.ID
				case SortPriority:
					if a.Alert.Priority != b.Alert.Priority {
						return a.Alert.Priority < b.Alert.Priority
					}
				}
				if !a.Alert.Time.Equal(b.Alert.Time) {
					return a.Alert.Time.After(b.Alert.Time)
				}
				return a.ID > b.ID
			})
			var got []int64
			var pages []PageResult
			cur := ""
			for i := 0; i < 100; i++ {
				p, err := s.Page(ctx, Filter{}, PageRequest{Sort: sortName, Size: 30, Cursor: cur})
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, p)
				for _, r := range p.Records {
					got = append(got, r.ID)
				}
				if cur = p.Next; cur == "" {
					break
				}
			}
			var wantIDs []int64
			for _, r := range want {
				wantIDs = append(wantIDs, r.ID)
			}
			if !reflect.DeepEqual(got, wantIDs) {
				t.Fatalf("%s: pages give %v\nwant %v", sortName, got, wantIDs)
			}
			if len(pages) != 14 || pages[0].Prev != "" {
				t.Errorf("%s: %d pages, first has prev %q", sortName, len(pages), pages[0].Prev)
			}
			// Walking back from the last page gives the same pages.
			cur = pages[len(pages)-1].Prev
			for i := len(pages) - 2; i >= 0; i-- {
				p, err := s.Page(ctx, Filter{}, PageRequest{Sort: sortName, Size: 30, Cursor: cur})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(ids(p.Records), ids(pages[i].Records)) || (i == 0) != (p.Prev == "") {
					t.Fatalf("%s: back to page %d: %v, want %v (prev %q)", sortName, i, ids(p.Records), ids(pages[i].Records), p.Prev)
				}
				cur = p.Prev
			}
		}
		for _, bad := range []string{"x", "n.1", "n.a.b", "q.1.2"} {
			if _, err := s.Page(ctx, Filter{}, PageRequest{Cursor: bad}); err == nil {
				t.Errorf("cursor %q accepted", bad)
			}
		}
		if _, err := s.Page(ctx, Filter{}, PageRequest{Sort: "sideways"}); err == nil {
			t.Error("unknown sort accepted")
		}
	})
	t.Run("DashFilters", func(t *testing.T) {
		s := open(t)
		as := dashSet()
		as[7].Output = `quote " and <b>Mixed</b> Case`
		if err := s.Insert(ctx, as); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			f    Filter
			want func(i int, a alert.Alert) bool
		}{
			{Filter{Tag: "mitre_execution"}, func(i int, _ alert.Alert) bool { return i%10 == 0 }},
			{Filter{Namespace: "ns1"}, func(i int, _ alert.Alert) bool { return i%4 == 0 && i%2 == 1 }},
			{Filter{Pod: "pod2"}, func(i int, _ alert.Alert) bool { return i%4 == 0 && i%6 == 2 }},
			{Filter{Text: "needle12"}, func(i int, _ alert.Alert) bool { return i%13 == 12 }},
			{Filter{Text: `QUOTE " AND <B>`}, func(i int, _ alert.Alert) bool { return i == 7 }},
			{Filter{Text: "needle3", Host: "node-1"}, func(i int, _ alert.Alert) bool { return i%13 == 3 && i%3 == 1 }},
		} {
			var want []int64
			for i, a := range as {
				if tc.want(i, a) {
					want = append(want, int64(i+1))
				}
			}
			got, err := s.Query(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), want) {
				t.Errorf("%+v: %v, want %v", tc.f, ids(got), want)
			}
			if n, err := s.CountMatching(ctx, tc.f, 0); err != nil || n != int64(len(want)) {
				t.Errorf("%+v: count %d, %v; want %d", tc.f, n, err, len(want))
			}
		}
		if n, err := s.CountMatching(ctx, Filter{}, 100); err != nil || n != 100 {
			t.Errorf("capped count %d, %v", n, err)
		}

		r, err := s.Get(ctx, 8)
		if err != nil || r.Alert.Output != as[7].Output || len(r.Doc) == 0 {
			t.Errorf("get: %+v, %v", r, err)
		}
		if _, err := s.Get(ctx, 100000); !errors.Is(err, ErrNotFound) {
			t.Errorf("get missing: %v", err)
		}
	})
}

// checkScanFrom: ScanFrom is the n-th newest alert's time at or before
// until, whatever order the alerts were inserted in, and zero when there
// are no more than n.
func checkScanFrom(t *testing.T, s Store, as []alert.Alert) {
	ctx := context.Background()
	times := make([]time.Time, len(as))
	for i, a := range as {
		times[i] = a.Time.UTC()
	}
	sort.Slice(times, func(i, j int) bool { return times[i].After(times[j]) })
	for _, tc := range []struct {
		until time.Time
		n     int64
	}{{time.Time{}, 1}, {time.Time{}, 7}, {time.Time{}, int64(len(as))}, {time.Time{}, int64(len(as)) + 1},
		{times[10], 1}, {times[10], 5}, {times[10].Add(-time.Nanosecond), 5}, {times[len(times)-1].Add(-time.Second), 1}} {
		var older []time.Time
		for _, tm := range times {
			if tc.until.IsZero() || !tm.After(tc.until) {
				older = append(older, tm)
			}
		}
		var want time.Time
		if tc.n <= int64(len(older)) {
			want = older[tc.n-1]
		}
		got, err := s.ScanFrom(ctx, tc.until, tc.n)
		if err != nil || !got.Equal(want) {
			t.Errorf("ScanFrom(%v, %d) = %v, %v; want %v", tc.until, tc.n, got, err, want)
		}
	}
	if _, err := s.ScanFrom(ctx, time.Time{}, 0); err == nil {
		t.Error("ScanFrom with n=0: no error")
	}
}

func ids(rs []Record) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
