package dashboard

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/store"
)

// RuleInfo is what the detail page shows of the rule an alert came from.
type RuleInfo struct {
	Desc, Condition, Source string
	Priority                alert.Priority
	Tags                    []string
	Enabled                 bool
}

// Options are what Handler serves besides the store.
type Options struct {
	// Rules are the loaded rules by name; nil shows "rule not loaded".
	Rules map[string]RuleInfo
	// RulesFrom says where Rules came from (shown on the runtime page).
	RulesFrom string
	// Metrics reads the agent's Prometheus text metrics (nil: not
	// configured); AgentURL is shown with them.
	Metrics  func(r *http.Request) (io.ReadCloser, error)
	AgentURL string
	// Poll is how often /events checks the store for new alerts
	// (default 2s).
	Poll time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// SearchScan bounds what one free-text search (q=) reads: the newest
	// SearchScan alerts, and the page says how far back that was (default
	// DefaultSearchScan). Text has no index: each alert read costs about
	// 2 µs (BENCHMARKS.md, "Free-text search over 1,000,000 alerts").
	SearchScan int64
}

// DefaultSearchScan is Options.SearchScan's default.
const DefaultSearchScan = 100_000

// apiLimit caps the alerts one /api/alerts answer holds.
const apiLimit = 500

// filterFromQuery reads an alert filter from URL parameters; they mean
// what the `palisade alerts` flags of the same name mean, plus tag,
// namespace, pod, q (free text) and priority_eq (exactly one priority).
func filterFromQuery(q url.Values, now time.Time) (store.Filter, error) {
	f := store.Filter{Rules: nonEmpty(q["rule"]), Container: q.Get("container"), Image: q.Get("image"), Host: q.Get("host"),
		Tag: q.Get("tag"), Namespace: q.Get("namespace"), Pod: q.Get("pod"), Text: strings.TrimSpace(q.Get("q")), Limit: apiLimit}
	var err error
	if f.Since, err = store.ParseWhen(q.Get("since"), now); err != nil {
		return f, errors.New("since: " + err.Error())
	}
	if f.Until, err = store.ParseWhen(q.Get("until"), now); err != nil {
		return f, errors.New("until: " + err.Error())
	}
	if p := q.Get("priority"); p != "" {
		pr, ok := alert.ParsePriority(p)
		if !ok {
			return f, &alert.UnknownPriorityError{Value: p}
		}
		f.MinPriority = &pr
	}
	if p := q.Get("priority_eq"); p != "" {
		pr, ok := alert.ParsePriority(p)
		if !ok {
			return f, &alert.UnknownPriorityError{Value: p}
		}
		f.Priority = &pr
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 || n > 10*apiLimit {
			return f, errors.New("limit: want 1 to 5000")
		}
		f.Limit = n
	}
	return f, nil
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// csp allows the page's own stylesheet and script and nothing else: no
// inline script or style, no other origin, no framing.
const csp = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// Handler serves the dashboard from st: / (overview), /alerts (the list),
// /alert/ID (one alert), /alert/ID.json, /state (runtime), /events
// (server-sent events for the list), /api/alerts (JSON) and /static/.
// Every route is GET or HEAD; nothing writes to the store.
func Handler(st store.Store, o Options) http.Handler {
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SearchScan <= 0 {
		o.SearchScan = DefaultSearchScan
	}
	d := &dash{st: st, o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.overview)
	mux.HandleFunc("GET /alerts", d.list)
	mux.HandleFunc("GET /alert/{id}", d.detail)
	mux.HandleFunc("GET /alert/{id}/json", d.detailJSON)
	mux.HandleFunc("GET /state", d.state)
	mux.HandleFunc("GET /events", d.events)
	mux.HandleFunc("GET /static/{file}", serveStatic)
	mux.HandleFunc("GET /api/alerts", d.apiAlerts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		mux.ServeHTTP(w, r)
	})
}

type dash struct {
	st store.Store
	o  Options
}

func (d *dash) apiAlerts(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	f, err := filterFromQuery(r.URL.Query(), d.o.Now())
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		writeIndented(w, map[string]string{"error": err.Error()})
		return
	}
	from, err := d.boundSearch(r.Context(), &f)
	var recs []store.Record
	if err == nil {
		recs, err = d.st.Query(r.Context(), f)
	}
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		writeIndented(w, map[string]string{"error": err.Error()})
		return
	}
	writeAlerts(w, recs, from)
}

// WriteJSON writes {"alerts":[...]}, each alert in Falco's JSON shape: the
// document /api/alerts serves and palisade alerts -o json prints.
func WriteJSON(w io.Writer, recs []store.Record) error { return writeAlerts(w, recs, time.Time{}) }

// writeAlerts is WriteJSON with, after a bounded free-text search,
// "searched_since": the event time it read back to (older alerts were not
// searched; ask again with until before it).
func writeAlerts(w io.Writer, recs []store.Record, searched time.Time) error {
	doc := struct {
		Alerts        []alert.Alert `json:"alerts"`
		SearchedSince string        `json:"searched_since,omitempty"`
	}{Alerts: make([]alert.Alert, 0, len(recs))}
	if !searched.IsZero() {
		doc.SearchedSince = searched.UTC().Format(time.RFC3339Nano)
	}
	for _, r := range recs {
		doc.Alerts = append(doc.Alerts, outputs.FalcoShape(r.Alert))
	}
	return writeIndented(w, doc)
}

// writeIndented encodes v as indented JSON; HTML characters are escaped so
// attacker-controlled strings stay inert if the JSON lands in a page.
func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
