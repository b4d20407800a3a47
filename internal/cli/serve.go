package cli

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/endpoint"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/spf13/cobra"
)

func newServeCmd(s streams) *cobra.Command {
	var storeURL, listen string
	var auth endpoint.Options
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Alert dashboard",
		Long: "Serve a read-only HTML dashboard of the alert store, with filters by\n" +
			"priority, rule, container, image and time, and the same data as JSON at\n" +
			"/api/alerts ({\"alerts\":[...]} in Falco's shape). It listens on loopback\n" +
			"by default; every string in an alert is escaped, and the page runs no\n" +
			"script (Content-Security-Policy: default-src 'none').\n\n" +
			"Off loopback it refuses to start unless given a credential (--token-file or\n" +
			"$" + serveTokenEnv + ": a bearer token of 16 characters or more; and/or --client-ca)\n" +
			"and either TLS (--tls-cert, --tls-key) or --insecure-no-tls behind a TLS proxy.\n" +
			"Requests without the token get 401; a browser logs in at /login once and\n" +
			"keeps a session cookie.",
		Example: "  palisade serve\n" +
			"  palisade serve --store postgres://palisade@db/palisade --listen 127.0.0.1:8080\n" +
			"  palisade serve --listen 0.0.0.0:9377 --token-file /etc/palisade/token --tls-cert srv.crt --tls-key srv.key",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			auth.FromEnv()
			if err := auth.Check(listen); err != nil {
				return exitf(2, "serve: %v", err)
			}
			st, err := openStoreForQuery(cmd.Context(), storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			srv, err := endpoint.Listen(listen, auth, dashboardHandler(st))
			if err != nil {
				return exitf(3, "serve on %s: %v", listen, err)
			}
			go func() {
				<-cmd.Context().Done()
				srv.Shutdown()
			}()
			how := "loopback only"
			if lo, _ := endpoint.Loopback(listen); !lo {
				how = "token or client certificate required"
			}
			s.err.Write([]byte("palisade: serving alerts on " + srv.URL() + " (" + how + ")\n"))
			if err := srv.Serve(); err != nil {
				return exitf(3, "serve: %v", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&storeURL, "store", store.DefaultURL, "alert store: sqlite:PATH or postgres://...")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9377", "address to serve on (loopback by default; elsewhere needs a credential and TLS)")
	auth.Register(cmd.Flags(), "", serveTokenEnv)
	auth.Login = true
	return cmd
}

// serveTokenEnv holds the dashboard's bearer token when no file is named.
const serveTokenEnv = "PALISADE_SERVE_TOKEN"

// dashboardLimit caps the alerts one page shows.
const dashboardLimit = 500

// filterFromQuery reads the dashboard's filter from URL parameters; they
// mean what the `palisade alerts` flags of the same name mean.
func filterFromQuery(r *http.Request) (store.Filter, error) {
	q := r.URL.Query()
	f := store.Filter{Rules: q["rule"], Container: q.Get("container"), Image: q.Get("image"), Limit: dashboardLimit}
	var err error
	now := time.Now()
	if f.Since, err = parseWhen(q.Get("since"), now); err != nil {
		return f, errors.New("since: " + err.Error())
	}
	if f.Until, err = parseWhen(q.Get("until"), now); err != nil {
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
	Time, Priority, Class, Rule, Container, Image, Output string
}

type dashboardPage struct {
	Rows                                           []dashboardRow
	Error                                          string
	Priority, Rule, Container, Image, Since, Until string
	Limit                                          int
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
<label>Container <input name="container" value="{{.Container}}"></label>
<label>Image <input name="image" value="{{.Image}}"></label>
<label>Since <input name="since" value="{{.Since}}" placeholder="1h, 7d or RFC 3339" size="12"></label>
<label>Until <input name="until" value="{{.Until}}" size="12"></label>
<button type="submit">Filter</button></form>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
<p>{{len .Rows}} alerts (newest {{.Limit}} at most, newest first). <a href="/api/alerts">JSON</a></p>
<table><thead><tr><th>Time (UTC)</th><th>Priority</th><th>Rule</th><th>Container</th><th>Image</th><th>Output</th></tr></thead><tbody>
{{range .Rows}}<tr><td>{{.Time}}</td><td class="{{.Class}}">{{.Priority}}</td><td>{{.Rule}}</td><td>{{.Container}}</td><td>{{.Image}}</td><td class="out">{{.Output}}</td></tr>
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

// dashboardHandler serves / (HTML) and /api/alerts (JSON) from st.
func dashboardHandler(st store.Store) http.Handler {
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
			writeJSON(w, map[string]string{"error": err.Error()})
			return
		}
		recs, err := st.Query(r.Context(), f)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			writeJSON(w, map[string]string{"error": err.Error()})
			return
		}
		renderAlerts(w, "json", recs)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		q := r.URL.Query()
		page := dashboardPage{Priority: q.Get("priority"), Rule: q.Get("rule"), Container: q.Get("container"),
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
						Class: priorityClass(a.Priority), Rule: escape.Text(a.Rule),
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
