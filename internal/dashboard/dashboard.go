package dashboard

import (
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/store"
)

// dashboardLimit caps the alerts one page shows.
const dashboardLimit = 500

// filterFromQuery reads the dashboard's filter from URL parameters; they
// mean what the `palisade alerts` flags of the same name mean.
func filterFromQuery(r *http.Request) (store.Filter, error) {
	q := r.URL.Query()
	f := store.Filter{Rules: q["rule"], Container: q.Get("container"), Image: q.Get("image"), Host: q.Get("host"), Limit: dashboardLimit}
	var err error
	now := time.Now()
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
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 || n > 10*dashboardLimit {
			return f, errors.New("limit: want 1 to 5000")
		}
		f.Limit = n
	}
	return f, nil
}

type dashboardRow struct {
	Time, Priority, Class, Rule, Host, Container, Image, Output string
}

type dashboardPage struct {
	Rows                                                 []dashboardRow
	Error                                                string
	Priority, Rule, Host, Container, Image, Since, Until string
	Limit                                                int
}

// The page is static HTML rendered by html/template, which escapes every
// value for its context; alert text is also passed through
// escape.Text so control characters show as visible escapes.
var dashboardTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Palisade alerts</title>
<meta http-equiv="refresh" content="30">
<style>
body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd;vertical-align:top}
td.out{font-family:monospace;word-break:break-all}.p-high{color:#b00;font-weight:bold}.p-mid{color:#a60}.p-low{color:#555}
form input,form select{margin-right:.6em}.err{color:#b00}
</style></head><body>
<h1>Palisade alerts</h1>
<form method="get" action="/">
<label>Priority ≥ <select name="priority"><option value="">any</option>
{{range $p := .PriorityNames}}<option{{if eq $p $.Priority}} selected{{end}}>{{$p}}</option>{{end}}</select></label>
<label>Rule <input name="rule" value="{{.Rule}}"></label>
<label>Host <input name="host" value="{{.Host}}"></label>
<label>Container <input name="container" value="{{.Container}}"></label>
<label>Image <input name="image" value="{{.Image}}"></label>
<label>Since <input name="since" value="{{.Since}}" placeholder="1h, 7d or RFC 3339" size="12"></label>
<label>Until <input name="until" value="{{.Until}}" size="12"></label>
<button type="submit">Filter</button></form>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
<p>{{len .Rows}} alerts (newest {{.Limit}} at most, newest first). <a href="/api/alerts">JSON</a></p>
<table><thead><tr><th>Time (UTC)</th><th>Priority</th><th>Rule</th><th>Host</th><th>Container</th><th>Image</th><th>Output</th></tr></thead><tbody>
{{range .Rows}}<tr><td>{{.Time}}</td><td class="{{.Class}}">{{.Priority}}</td><td>{{.Rule}}</td><td>{{.Host}}</td><td>{{.Container}}</td><td>{{.Image}}</td><td class="out">{{.Output}}</td></tr>
{{end}}</tbody></table></body></html>
`))

func (dashboardPage) PriorityNames() []string {
	names := make([]string, 0, 8)
	for p := alert.Emergency; p <= alert.Debug; p++ {
		names = append(names, p.String())
	}
	return names
}

func priorityClass(p alert.Priority) string {
	switch {
	case p <= alert.Error:
		return "p-high"
	case p == alert.Warning:
		return "p-mid"
	}
	return "p-low"
}

// Handler serves / (HTML) and /api/alerts (JSON) from st.
func Handler(st store.Store) http.Handler {
	mux := http.NewServeMux()
	secure := func(w http.ResponseWriter) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
	}
	mux.HandleFunc("/api/alerts", func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		f, err := filterFromQuery(r)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			writeIndented(w, map[string]string{"error": err.Error()})
			return
		}
		recs, err := st.Query(r.Context(), f)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			writeIndented(w, map[string]string{"error": err.Error()})
			return
		}
		WriteJSON(w, recs)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		q := r.URL.Query()
		page := dashboardPage{Priority: q.Get("priority"), Rule: q.Get("rule"), Host: q.Get("host"), Container: q.Get("container"),
			Image: q.Get("image"), Since: q.Get("since"), Until: q.Get("until"), Limit: dashboardLimit}
		f, err := filterFromQuery(r)
		if err == nil {
			page.Limit = f.Limit
			var recs []store.Record
			if recs, err = st.Query(r.Context(), f); err == nil {
				for i := len(recs) - 1; i >= 0; i-- {
					a := recs[i].Alert
					c, _ := a.OutputFields["container.name"].(string)
					img, _ := a.OutputFields["container.image.repository"].(string)
					page.Rows = append(page.Rows, dashboardRow{
						Time: a.Time.UTC().Format("2006-01-02 15:04:05"), Priority: a.Priority.String(),
						Class: priorityClass(a.Priority), Rule: escape.Text(a.Rule), Host: escape.Text(a.Hostname),
						Container: escape.Text(c), Image: escape.Text(img),
						Output: escape.Text(a.Output),
					})
				}
			}
		}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			page.Error = err.Error()
		}
		dashboardTmpl.Execute(w, page)
	})
	return mux
}

// WriteJSON writes {"alerts":[...]}, each alert in Falco's JSON shape: the
// document /api/alerts serves and palisade alerts -o json prints.
func WriteJSON(w io.Writer, recs []store.Record) error {
	doc := struct {
		Alerts []alert.Alert `json:"alerts"`
	}{Alerts: make([]alert.Alert, 0, len(recs))}
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
