package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/store"
)

// pageSize is how many alerts a list page shows; countCap bounds the
// "N matching" count so it stays cheap on a large store.
const (
	pageSize = 50
	countCap = 10000
)

// boundSearch narrows f, when it has free text, to the newest SearchScan
// alerts at or before f.Until, and returns where that window starts (zero
// when f.Since already bounds it or the store holds fewer).
func (d *dash) boundSearch(ctx context.Context, f *store.Filter) (time.Time, error) {
	if f.Text == "" {
		return time.Time{}, nil
	}
	from, err := d.st.ScanFrom(ctx, f.Until, d.o.SearchScan)
	if err != nil || from.IsZero() || !from.After(f.Since) {
		return time.Time{}, err
	}
	f.Since = from
	return from, nil
}

// filterParams are the URL parameters that are filters; the list keeps
// them in its links and live query.
var filterParams = []string{"priority", "priority_eq", "rule", "tag", "container", "image", "namespace", "pod", "host", "since", "until", "q"}

type listRow struct {
	ID                            int64
	P                             int
	Time, Priority                string
	Rule, Host, Container, Output clip
}

type listData struct {
	Q                    map[string]string
	Priorities, Sorts    []string
	Sort, Count, APILink string
	// ScannedFrom is where a bounded free-text search stopped reading
	// (empty: it read everything the filters allow); OlderLink searches
	// the alerts before it.
	ScannedFrom, ScanCount, OlderLink string
	LiveQuery, NewestLink             string
	PrevLink, NextLink, FirstLink     string
	Rows                              []listRow
}

func priorityNames() []string {
	var names []string
	for p := alert.Emergency; p <= alert.Debug; p++ {
		names = append(names, p.String())
	}
	return names
}

// pinned makes relative since/until ("1h") absolute, so that paging and
// the live count keep meaning the same window.
func pinned(q url.Values, now time.Time) url.Values {
	out := url.Values{}
	for _, k := range filterParams {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	for _, k := range []string{"since", "until"} {
		if t, err := store.ParseWhen(out.Get(k), now); err == nil && !t.IsZero() {
			out.Set(k, t.UTC().Format(time.RFC3339Nano))
		}
	}
	return out
}

func (d *dash) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := &listData{Q: map[string]string{}, Priorities: priorityNames(),
		Sorts: []string{store.SortNewest, store.SortOldest, store.SortPriority}, Sort: q.Get("sort")}
	for _, k := range filterParams {
		data.Q[k] = q.Get(k)
	}
	if data.Sort == "" {
		data.Sort = store.SortNewest
	}
	page := pageData{Title: "Alerts", Nav: "alerts", Script: true, Data: data}
	fail := func(status int, err error) {
		page.Error = escape.Text(err.Error())
		render(w, status, "list", page)
	}
	now := d.o.Now()
	f, err := filterFromQuery(q, now)
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	keep := pinned(q, now)
	from, err := d.boundSearch(r.Context(), &f)
	if err != nil {
		fail(http.StatusInternalServerError, err)
		return
	}
	if !from.IsZero() {
		data.ScannedFrom = from.Format("2006-01-02 15:04:05.000")
		data.ScanCount = strconv.FormatInt(d.o.SearchScan, 10)
		older := url.Values{}
		for k, vs := range keep {
			older[k] = vs
		}
		older.Set("until", from.Add(-time.Nanosecond).Format(time.RFC3339Nano))
		older.Set("sort", data.Sort)
		data.OlderLink = "/alerts?" + older.Encode()
	}
	link := func(extra ...string) string {
		v := url.Values{}
		for k, vs := range keep {
			v[k] = vs
		}
		if !from.IsZero() && v.Get("until") == "" {
			// The other pages search the same window: alerts arriving
			// meanwhile would move it.
			v.Set("until", now.UTC().Format(time.RFC3339Nano))
		}
		v.Set("sort", data.Sort)
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return "/alerts?" + v.Encode()
	}
	res, err := d.st.Page(r.Context(), f, store.PageRequest{Sort: data.Sort, Size: pageSize, Cursor: q.Get("cursor")})
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, store.ErrBadCursor) || data.Sort != store.SortNewest && data.Sort != store.SortOldest && data.Sort != store.SortPriority {
			status = http.StatusBadRequest
		}
		fail(status, err)
		return
	}
	// A first page with no next one holds every match: no second scan
	// (for a rare search text, the one that reads the whole window).
	n := int64(len(res.Records))
	if q.Get("cursor") != "" || res.Next != "" {
		n, err = d.st.CountMatching(r.Context(), f, countCap)
		if err != nil {
			fail(http.StatusInternalServerError, err)
			return
		}
	}
	data.Count = strconv.FormatInt(n, 10)
	if n >= countCap {
		data.Count = fmt.Sprintf("%d or more", countCap)
	}
	var newest int64
	for _, rec := range res.Records {
		a := rec.Alert
		newest = max(newest, rec.ID)
		c, _ := a.OutputFields["container.name"].(string)
		data.Rows = append(data.Rows, listRow{ID: rec.ID, P: int(a.Priority), Time: a.Time.UTC().Format("2006-01-02 15:04:05"),
			Priority: a.Priority.String(), Rule: clipText(a.Rule, 60), Host: clipText(a.Hostname, 40),
			Container: clipText(c, 40), Output: clipText(a.Output, 160)})
	}
	if res.Prev != "" {
		data.PrevLink = link("cursor", res.Prev)
		data.FirstLink = link()
	}
	if res.Next != "" {
		data.NextLink = link("cursor", res.Next)
	}
	// Live counts start after the newest alert stored now, not the newest
	// on this page, so alerts already on later pages are not "new".
	if latest, err := d.st.Query(r.Context(), store.Filter{Limit: 1}); err == nil && len(latest) == 1 {
		newest = max(newest, latest[0].ID)
	}
	live := url.Values{}
	for k, vs := range keep {
		live[k] = vs
	}
	live.Set("after", strconv.FormatInt(newest, 10))
	data.LiveQuery = live.Encode()
	unpinned := url.Values{}
	for k, vs := range keep {
		unpinned[k] = vs
	}
	unpinned.Set("sort", data.Sort)
	data.NewestLink = "/alerts?" + unpinned.Encode()
	api := url.Values{}
	for k, vs := range keep {
		api[k] = vs
	}
	data.APILink = "/api/alerts?" + api.Encode()
	render(w, http.StatusOK, "list", page)
}

// events streams, as server-sent events named "count", how many alerts
// matching the list's filters have an ID above after; it checks every
// Poll and sends only changes (and a comment every 30 s to keep proxies
// from closing the stream).
func (d *dash) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := filterFromQuery(q, d.o.Now())
	if err != nil {
		http.Error(w, escape.Text(err.Error()), http.StatusBadRequest)
		return
	}
	f.Limit = 0
	if f.AfterID, err = strconv.ParseInt(q.Get("after"), 10, 64); err != nil || f.AfterID < 0 {
		http.Error(w, "after: want an alert ID", http.StatusBadRequest)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 5000\n\n")
	fl.Flush()
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	last := int64(-1)
	idle := 0
	for {
		n, err := d.st.CountMatching(r.Context(), f, 1000)
		if err != nil {
			return
		}
		if n != last {
			fmt.Fprintf(w, "event: count\ndata: %d\n\n", n)
			last, idle = n, 0
			fl.Flush()
		} else if idle++; time.Duration(idle)*d.o.Poll >= 30*time.Second {
			fmt.Fprint(w, ": keep-alive\n\n")
			idle = 0
			fl.Flush()
		}
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}
