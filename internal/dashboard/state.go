package dashboard

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/fleet"
	"github.com/palisade-sec/palisade/internal/store"
)

// sample is one line of Prometheus text: a metric name, its labels as
// written ("" when none) and its value.
type sample struct {
	name, labels string
	value        float64
}

// parseMetrics reads the Prometheus text format, enough of it for the
// agent's own metrics: comments skipped, no timestamps expected. Lines it
// cannot read are skipped; at most maxLines are read.
func parseMetrics(r io.Reader) []sample {
	const maxLines = 100000
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 0; sc.Scan() && n < maxLines; n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name, labels := line[:sp], ""
		if i := strings.IndexByte(name, '{'); i >= 0 && strings.HasSuffix(name, "}") {
			name, labels = name[:i], name[i+1:len(name)-1]
		}
		out = append(out, sample{name, labels, v})
	}
	return out
}

// label is one label's value from a sample's label text.
func label(labels, key string) string {
	for _, part := range splitLabels(labels) {
		k, v, ok := strings.Cut(part, "=")
		if ok && k == key {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
		}
	}
	return ""
}

// splitLabels splits a="x",b="y" at the commas outside quotes.
func splitLabels(s string) []string {
	var parts []string
	inQ, esc, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			inQ = !inQ
		case c == ',' && !inQ:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

type outputState struct {
	Name                              string
	Queue, Delivered, Failed, Dropped int64
}

type agentState struct {
	URL, Err, EventsPerSec, RateOver, Uptime string
	Events, Drops, Alerts, Suppressed, Rules int64
	Outputs                                  []outputState
}

type hostState struct {
	Name, Link, Silent, SilentLink string
	N                              int64
}

// fleetHost is one row of the heartbeat table: every string escaped.
type fleetHost struct {
	Name, Link, Version, Seen, SeenAt, EventsPerSec string
	Drops, Rules, Spooled                           int64
	Silent                                          bool
}

type stateData struct {
	Agent         *agentState
	Rules, Newest string
	Stored        int64
	Hosts         []hostState
	Fleet         []fleetHost
	FleetErr      string
}

// fleetHosts are the hosts whose heartbeats the collector stored; a host
// is silent when its last heartbeat is older than three intervals (the
// collector's own rule).
func fleetHosts(hosts []store.Host, now, since, until time.Time) []fleetHost {
	out := make([]fleetHost, 0, len(hosts))
	for _, h := range hosts {
		age := max(now.Sub(h.LastSeen), 0)
		out = append(out, fleetHost{Name: escape.Text(h.Name), Link: listLink(since, until, "host", h.Name),
			Version: escape.Text(h.Version), Seen: age.Round(time.Second).String() + " ago",
			SeenAt: h.LastSeen.UTC().Format(time.RFC3339), EventsPerSec: f1(h.EventsPerSec),
			Drops: h.Drops, Rules: h.RulesLoaded, Spooled: h.Spooled, Silent: h.Interval > 0 && age > 3*h.Interval})
	}
	return out
}

// rateMemo keeps the previous reading of the events counter, so the page
// shows events/s over the time since it was last viewed.
type rateMemo struct {
	mu     sync.Mutex
	at     time.Time
	events float64
}

var lastRate rateMemo

func (d *dash) agent(r *http.Request) *agentState {
	if d.o.Metrics == nil {
		return nil
	}
	a := &agentState{URL: escape.Text(d.o.AgentURL)}
	body, err := d.o.Metrics(r)
	if err != nil {
		a.Err = escape.Text(err.Error())
		return a
	}
	defer body.Close()
	outs := map[string]*outputState{}
	out := func(labels string) *outputState {
		name := label(labels, "output")
		if outs[name] == nil {
			outs[name] = &outputState{Name: escape.Text(name)}
		}
		return outs[name]
	}
	var events, start float64
	for _, s := range parseMetrics(io.LimitReader(body, 16<<20)) {
		v := int64(s.value)
		switch s.name {
		case "palisade_events_total":
			events = s.value
			a.Events = v
		case "palisade_events_dropped_total":
			a.Drops = v
		case "palisade_alerts_total":
			a.Alerts += v
		case "palisade_alerts_suppressed_total":
			a.Suppressed += v
		case "palisade_rules_loaded":
			a.Rules = v
		case "palisade_start_time_seconds":
			start = s.value
		case "palisade_output_queue_depth":
			out(s.labels).Queue = v
		case "palisade_output_delivered_total":
			out(s.labels).Delivered = v
		case "palisade_output_failures_total":
			out(s.labels).Failed = v
		case "palisade_output_dropped_total":
			out(s.labels).Dropped = v
		}
	}
	now := d.o.Now()
	if start > 0 {
		up := now.Sub(time.Unix(int64(start), 0)).Round(time.Second)
		a.Uptime = up.String()
		lastRate.mu.Lock()
		if dt := now.Sub(lastRate.at).Seconds(); !lastRate.at.IsZero() && dt >= 1 && events >= lastRate.events {
			a.EventsPerSec = strconv.FormatFloat((events-lastRate.events)/dt, 'f', 1, 64)
			a.RateOver = fmt.Sprintf("(last %s)", time.Duration(dt*float64(time.Second)).Round(time.Second))
		} else if up > 0 {
			a.EventsPerSec = strconv.FormatFloat(events/up.Seconds(), 'f', 1, 64)
			a.RateOver = "(since start)"
		}
		lastRate.at, lastRate.events = now, events
		lastRate.mu.Unlock()
	}
	for _, o := range outs {
		a.Outputs = append(a.Outputs, *o)
	}
	sort.Slice(a.Outputs, func(i, j int) bool { return a.Outputs[i].Name < a.Outputs[j].Name })
	return a
}

func (d *dash) state(w http.ResponseWriter, r *http.Request) {
	data := &stateData{Agent: d.agent(r)}
	page := pageData{Title: "Runtime", Nav: "state", Data: data}
	if d.o.Rules == nil {
		data.Rules = "No rules loaded by serve: the detail pages cannot show rule descriptions."
	} else {
		data.Rules = fmt.Sprintf("%d rules loaded from %s.", len(d.o.Rules), escape.Text(d.o.RulesFrom))
	}
	// The store's size from its daily counts (a COUNT(*) reads every row
	// on PostgreSQL): every alert dated before the end of today.
	epoch, end := time.Unix(0, 0).UTC(), d.o.Now().UTC().Truncate(24*time.Hour).Add(24*time.Hour)
	all, err := d.st.Overview(r.Context(), epoch, end, end.Sub(epoch), 1)
	if err != nil {
		page.Error = escape.Text(err.Error())
		render(w, http.StatusInternalServerError, "state", page)
		return
	}
	data.Stored = all.Total
	data.Newest = "none"
	if recs, err := d.st.Query(r.Context(), store.Filter{Limit: 1}); err == nil && len(recs) == 1 {
		data.Newest = recs[0].Alert.Time.UTC().Format(time.RFC3339)
	}
	since, until := viewRanges[2].window(d.o.Now())
	o, err := d.st.Overview(r.Context(), since, until, time.Hour, 100)
	if err != nil {
		page.Error = escape.Text(err.Error())
		render(w, http.StatusInternalServerError, "state", page)
		return
	}
	silent := map[string]string{}
	if recs, err := d.st.Query(r.Context(), store.Filter{Rules: []string{fleet.SilentRule}, Since: since, Limit: 200}); err == nil {
		for _, rec := range recs {
			silent[rec.Alert.Hostname] = rec.Alert.Time.UTC().Format("Jan 2 15:04") // the newest wins: ascending order
		}
	}
	for _, c := range o.Top["host"] {
		h := hostState{Name: escape.Text(c.Value), N: c.N, Link: listLink(since, until, "host", c.Value)}
		if at, ok := silent[c.Value]; ok {
			h.Silent, h.SilentLink = "since "+at, listLink(since, until, "host", c.Value, "rule", fleet.SilentRule)
		}
		data.Hosts = append(data.Hosts, h)
	}
	if hosts, err := d.st.Hosts(r.Context()); err != nil {
		data.FleetErr = escape.Text(err.Error())
	} else {
		data.Fleet = fleetHosts(hosts, d.o.Now(), since, until)
	}
	render(w, http.StatusOK, "state", page)
}
