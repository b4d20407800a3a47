package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/fleet"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/palisade-sec/palisade/internal/store/storeseed"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestDashboardEscapesAndFilters(t *testing.T) {
	_, st := storeseed.Seed(t)
	srv := httptest.NewServer(Handler(st, Options{}))
	defer srv.Close()

	for _, path := range []string{"/", "/alerts", "/state", "/alert/4"} {
		resp, page := get(t, srv.URL+path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: status %d, type %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if strings.Contains(page, "<script>") || strings.ContainsAny(page, "\x1b\x00\x07\u202e") {
			t.Fatalf("%s: hostile alert text reached the page raw", path)
		}
		if strings.Contains(page, "<style") || regexp.MustCompile(`<script>|<script [^s]|\son[a-z]+=`).MatchString(page) {
			t.Errorf("%s: inline style or script", path)
		}
	}
	_, page := get(t, srv.URL+"/alerts")
	for _, want := range []string{"cmd=&lt;script&gt;", `x\x1b]0;pwn\x07\ny`, `Evil\x1b[2J\trule\u202e`, ">4</span> matching"} {
		if !strings.Contains(page, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	if strings.Index(page, "shell in web") > strings.Index(page, "old shell in web") {
		t.Error("rows not newest first")
	}
	_, page = get(t, srv.URL+"/alerts?sort=oldest")
	if strings.Index(page, "shell in web") < strings.Index(page, "old shell in web") {
		t.Error("sort=oldest not oldest first")
	}
	_, page = get(t, srv.URL+"/alerts?priority=error&container=db")
	if !strings.Contains(page, ">1</span> matching") || !strings.Contains(page, "etc write in db") {
		t.Errorf("filtered page wrong")
	}
	_, page = get(t, srv.URL+"/alerts?host=node-2")
	if !strings.Contains(page, ">1</span> matching") || !strings.Contains(page, `name="host" value="node-2"`) {
		t.Errorf("host-filtered page wrong")
	}
	for _, bad := range []string{"/alerts?priority=%3Cscript%3Ealert(1)%3C/script%3E", "/alerts?since=soon", "/alerts?cursor=zz", "/alerts?sort=up", "/?range=2y", "/alert/x", "/api/alerts?since=soon"} {
		resp, page := get(t, srv.URL+bad)
		if resp.StatusCode != 400 || strings.Contains(page, "<script>alert") {
			t.Errorf("%s: status %d, reflected raw: %v", bad, resp.StatusCode, strings.Contains(page, "<script>alert"))
		}
	}
	for _, missing := range []string{"/alert/99", "/nope", "/static/x.html", "/static/../dashboard.go"} {
		if resp, _ := get(t, srv.URL+missing); resp.StatusCode != 404 {
			t.Errorf("%s: %d", missing, resp.StatusCode)
		}
	}
	resp, err := http.Post(srv.URL+"/alerts", "text/plain", strings.NewReader("x"))
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", resp.StatusCode, err)
	}

	resp, body := get(t, srv.URL+"/api/alerts?rule=Write+below+etc")
	var doc struct {
		Alerts []map[string]any `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != 200 || len(doc.Alerts) != 1 || doc.Alerts[0]["priority"] != "Error" {
		t.Fatalf("api: %d %v %s", resp.StatusCode, err, body)
	}
	// The export is the stored document, as a download.
	resp, body = get(t, srv.URL+"/alert/4/json")
	var one alert.Alert
	if err := json.Unmarshal([]byte(body), &one); err != nil || one.Output != "cmd=<script>\x00\ufffd\n FAKE LINE" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || strings.Contains(body, "<script>") {
		t.Errorf("export: %v %q %q", err, one.Output, resp.Header.Get("Content-Disposition"))
	}
}

// The overview's numbers are the store's, and each links to a list that
// shows that many alerts.
func TestOverviewCountsAndLinks(t *testing.T) {
	st, now, want := seedSpread(t)
	srv := httptest.NewServer(Handler(st, Options{Now: func() time.Time { return now }}))
	defer srv.Close()
	for _, rng := range []string{"1h", "24h", "7d", "30d"} {
		_, page := get(t, srv.URL+"/?range="+rng)
		m := regexp.MustCompile(`<a class="n" href="([^"]+)">(\d+)</a>alerts`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("%s: no total in page", rng)
		}
		if m[2] != fmt.Sprint(want[rng]) {
			t.Errorf("%s: total %s, want %d", rng, m[2], want[rng])
		}
		link := html.UnescapeString(m[1])
		_, list := get(t, srv.URL+link)
		if !strings.Contains(list, fmt.Sprintf(">%d</span> matching", want[rng])) {
			t.Errorf("%s: the total's link %s does not list %d", rng, link, want[rng])
		}
	}
	// Every rule count links to a list of that many.
	_, page := get(t, srv.URL+"/?range=30d")
	rows := regexp.MustCompile(`<td class="num"><a href="([^"]+)">(\d+)</a></td>`).FindAllStringSubmatch(page, -1)
	if len(rows) < 5 {
		t.Fatalf("top lists: %d rows", len(rows))
	}
	for _, r := range rows[:5] {
		_, list := get(t, srv.URL+html.UnescapeString(r[1]))
		if !strings.Contains(list, ">"+r[2]+"</span> matching") {
			t.Errorf("%s: link does not list %s", r[1], r[2])
		}
	}
}

// seedSpread stores alerts at known ages and returns the counts each
// overview range must show.
func seedSpread(t *testing.T) (store.Store, time.Time, map[string]int) {
	_, st := storeseed.Seed(t)
	now := time.Now().UTC()
	var as []alert.Alert
	want := map[string]int{}
	for i := 0; i < 600; i++ {
		ago := time.Duration(i*i) * 7 * time.Second // denser near now
		a := alert.Alert{Time: now.Add(-ago), Rule: fmt.Sprintf("rule %d", i%9), Priority: alert.Priority(i % 8),
			Output: fmt.Sprintf("spread %d", i), Hostname: fmt.Sprintf("host-%d", i%4),
			OutputFields: map[string]any{"container.name": fmt.Sprintf("c%d", i%13), "k8s.ns.name": "prod", "k8s.pod.name": fmt.Sprintf("api-%d", i%3)}}
		as = append(as, a)
	}
	if err := st.Insert(context.Background(), as); err != nil {
		t.Fatal(err)
	}
	all, _ := st.Query(context.Background(), store.Filter{})
	for _, vr := range viewRanges {
		since, until := vr.window(now)
		for _, r := range all {
			if !r.Alert.Time.Before(since) && r.Alert.Time.Before(until) {
				want[vr.Name]++
			}
		}
	}
	return st, now, want
}

func TestListPagingAndLive(t *testing.T) {
	st, now, _ := seedSpread(t)
	srv := httptest.NewServer(Handler(st, Options{Poll: 20 * time.Millisecond, Now: func() time.Time { return now }}))
	defer srv.Close()
	seen := map[string]bool{}
	path := "/alerts?sort=priority"
	pages := 0
	idRE := regexp.MustCompile(`<tr id="a(\d+)">`)
	nextRE := regexp.MustCompile(`<a id="next" href="([^"]+)">`)
	for path != "" && pages < 50 {
		_, page := get(t, srv.URL+path)
		for _, m := range idRE.FindAllStringSubmatch(page, -1) {
			if seen[m[1]] {
				t.Fatalf("alert %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		pages++
		path = ""
		if m := nextRE.FindStringSubmatch(page); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if len(seen) != 604 || pages != 13 {
		t.Errorf("paging saw %d alerts on %d pages, want 604 on 13", len(seen), pages)
	}

	// The live stream counts new matching alerts only.
	resp, err := http.Get(srv.URL + "/events?after=604&rule=rule+1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("type %q", resp.Header.Get("Content-Type"))
	}
	rd := bufio.NewReader(resp.Body)
	next := func() string {
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				return strings.TrimSpace(d)
			}
		}
	}
	if n := next(); n != "0" {
		t.Fatalf("first count %s", n)
	}
	st.Insert(context.Background(), []alert.Alert{{Time: now, Rule: "rule 2", Output: "other"}, {Time: now, Rule: "rule 1", Output: "new"}, {Time: now, Rule: "rule 1", Output: "new 2"}})
	if n := next(); n != "2" {
		t.Errorf("count after inserting %s", n)
	}
}

func TestDetail(t *testing.T) {
	_, st := storeseed.Seed(t)
	a := alert.Alert{Time: time.Now(), Rule: "Terminal shell in container", Priority: alert.Notice, Output: "shell",
		OutputFields: map[string]any{"proc.name": "bash", "proc.pid": 40.0, "proc.cmdline": "bash -i", "proc.pname": "runc\u202e",
			"proc.ppid": 30.0, "proc.aname[2]": "containerd-shim", "proc.apid[2]": 20.0, "proc.aname[3]": "systemd", "proc.apid[3]": 1.0,
			"container.name": "web", "container.image.repository": "nginx", "k8s.pod.name": "web-1", "fd.name": nil},
		Tags: []string{"shell", "<b>"}, Hostname: "node-1"}
	if err := st.Insert(context.Background(), []alert.Alert{a}); err != nil {
		t.Fatal(err)
	}
	rules := map[string]RuleInfo{"Terminal shell in container": {Desc: "A shell <i>started</i>", Condition: "spawned_process and\n  shell_procs"}}
	srv := httptest.NewServer(Handler(st, Options{Rules: rules}))
	defer srv.Close()
	_, page := get(t, srv.URL+"/alert/5")
	for _, want := range []string{
		`A shell &lt;i&gt;started&lt;/i&gt;`, "spawned_process and\n  shell_procs",
		`<span class="mono">systemd</span> <span class="muted">pid 1</span>`,
		`runc\u202e`, `<dd class="mono">&lt;NA&gt;</dd>`, `k8s.pod.name`, `/alert/5/json`,
		`href="/alerts?container=web"`, `href="/alerts?tag=%3Cb%3E"`, `href="/alerts?rule=Terminal&#43;shell&#43;in&#43;container"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	order := []string{"systemd", "containerd-shim", "runc", ">bash<"}
	for i := 1; i < len(order); i++ {
		if strings.Index(page, order[i-1]) > strings.Index(page, order[i]) {
			t.Errorf("ancestry out of order: %s after %s", order[i-1], order[i])
		}
	}
	_, page = get(t, srv.URL+"/alert/2")
	if !strings.Contains(page, "Rule not loaded") {
		t.Error("a rule not loaded is not said so")
	}
}

func TestParseMetrics(t *testing.T) {
	in := "# HELP x\npalisade_events_total 1200\npalisade_output_dropped_total{output=\"we,b\\\"x\"} 3\nbad line\nx{a=\"1\"} notanumber\n"
	got := parseMetrics(strings.NewReader(in))
	if len(got) != 2 || got[0].value != 1200 || label(got[1].labels, "output") != `we,b"x` {
		t.Errorf("%+v", got)
	}
}

// The runtime page shows the agent's metrics and which hosts the fleet
// collector reported silent.
func TestStatePage(t *testing.T) {
	_, st := storeseed.Seed(t)
	now := time.Now()
	silent := fleet.SilentAlert("node-2", now.Add(-5*time.Minute), time.Minute, now)
	if err := st.Insert(context.Background(), []alert.Alert{silent}); err != nil {
		t.Fatal(err)
	}
	metrics := fmt.Sprintf(`# TYPE palisade_events_total counter
palisade_events_total 500000
palisade_events_dropped_total 7
palisade_rules_loaded 61
palisade_alerts_total{rule="a",priority="Notice"} 3
palisade_alerts_total{rule="b",priority="Error"} 4
palisade_start_time_seconds %d
palisade_output_queue_depth{output="webhook"} 12
palisade_output_delivered_total{output="webhook"} 90
palisade_output_dropped_total{output="<b>file</b>"} 2
`, now.Add(-100*time.Second).Unix())
	srv := httptest.NewServer(Handler(st, Options{AgentURL: "http://127.0.0.1:9376/metrics",
		Metrics: func(*http.Request) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(metrics)), nil }}))
	defer srv.Close()
	_, page := get(t, srv.URL+"/state")
	if m := regexp.MustCompile(`<span class="n">([0-9.]+)</span>events/s \(since start\)`).FindStringSubmatch(page); m == nil || (m[1] != "5000.0" && m[1] != "4950.5") {
		t.Errorf("events/s: %v", m)
	}
	for _, want := range []string{`<span class="n bad">7</span>events dropped`,
		`<span class="n">7</span>alerts raised`, `<span class="n">61</span>rules loaded`, `<td>webhook</td><td class="num">12</td><td class="num">90</td>`,
		`<td>&lt;b&gt;file&lt;/b&gt;</td>`, `<td class="num bad">2</td>`, `<dd id="stored">5</dd>`,
		`<span class="bad">silent</span>`, "No rules loaded by serve"} {
		if !strings.Contains(page, want) {
			t.Errorf("state page lacks %q", want)
		}
	}
	if strings.Count(page, "silent</span>") != 1 {
		t.Error("more than node-2 reported silent")
	}
	if !strings.Contains(page, "No heartbeats stored") {
		t.Error("an empty heartbeat table is not explained")
	}
	// Stored heartbeats: one host fresh, one past three intervals, one
	// with a hostile name and version.
	hostile := `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	if err := st.UpsertHosts(context.Background(), []store.Host{
		{Name: "node-1", LastSeen: now.Add(-5 * time.Second), Interval: 10 * time.Second, EventsPerSec: 1234.56, Events: 9, Drops: 4, RulesLoaded: 61, Version: "0.9.0", Spooled: 0},
		{Name: "node-2", LastSeen: now.Add(-31 * time.Second), Interval: 10 * time.Second, RulesLoaded: 60, Version: "0.8.1", Spooled: 17},
		{Name: hostile, LastSeen: now, Interval: 10 * time.Second, Version: "<b>v</b>"},
	}); err != nil {
		t.Fatal(err)
	}
	_, page = get(t, srv.URL+"/state")
	table := page[strings.Index(page, `<table id="fleet">`):]
	table = table[:strings.Index(table, "</table>")]
	for _, want := range []string{
		`>node-1</a></td><td class="v">0.9.0</td><td title="`, `s ago</td><td class="num">1234.6</td><td class="num bad">4</td><td class="num">61</td><td class="num ">0</td><td><span class="ok">ok</span>`,
		`>node-2</a></td><td class="v">0.8.1</td>`, `<td class="num bad">17</td><td><span class="bad">silent</span>`,
		`&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;</a>`, `<td class="v">&lt;b&gt;v&lt;/b&gt;</td>`,
		`href="/alerts?host=node-1&amp;since=`, `href="/alerts?host=%3Cscript%3Ealert%281%29%3C%2Fscript%3E%22%3E%3Cimg`,
	} {
		if !strings.Contains(table, want) {
			t.Errorf("heartbeat table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") || strings.Count(table, "<tr>") != 4 {
		t.Errorf("heartbeat table unescaped or wrong rows:\n%s", table)
	}
	if !regexp.MustCompile(`>node-1</a></td><td class="v">0.9.0</td><td title="[^"]+">[56]s ago<`).MatchString(table) {
		t.Errorf("node-1's age is not about 5s:\n%s", table)
	}
	// An agent that does not answer is said so, on the page.
	srv2 := httptest.NewServer(Handler(st, Options{AgentURL: "http://127.0.0.1:1/metrics",
		Metrics: func(*http.Request) (io.ReadCloser, error) { return nil, fmt.Errorf("connection refused") }}))
	defer srv2.Close()
	if _, page := get(t, srv2.URL+"/state"); !strings.Contains(page, "unavailable: connection refused") {
		t.Error("an unreachable agent is not reported")
	}
}

// docStore serves one stored document as alert 1, as a newer agent might
// have written it (keys this version does not know).
type docStore struct {
	store.Store
	doc string
}

func (d docStore) Get(ctx context.Context, id int64) (store.Record, error) {
	r := store.Record{ID: id, Doc: []byte(d.doc)}
	err := json.Unmarshal(r.Doc, &r.Alert)
	return r, err
}

// A response the agent took and keys the page does not know are shown as
// stored, escaped.
func TestDetailResponseAndUnknownKeys(t *testing.T) {
	_, st := storeseed.Seed(t)
	doc := `{"time":"2026-12-06T00:00:00Z","rule":"r","priority":"Critical","output":"o","output_fields":{"proc.name":"sh"},` +
		`"source":"syscall","tags":null,"hostname":"h","response":{"action":"kill","target":"pid 42 <script>","ok":true},"risk":{"score":9,"why":"` + "\u202e" + `"}}`
	srv := httptest.NewServer(Handler(docStore{st, doc}, Options{}))
	defer srv.Close()
	_, page := get(t, srv.URL+"/alert/1")
	for _, want := range []string{`<h2>Response</h2><pre class="response">{`, `&#34;action&#34;: &#34;kill&#34;`, `pid 42 &lt;script&gt;`,
		`<dt class="mono">risk</dt>`, `\u202e`} {
		if !strings.Contains(page, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	if strings.Contains(page, "\u202e") {
		t.Error("a bidi override reached the page raw")
	}
}

// TestTextSearchBounded: a free-text search reads the newest SearchScan
// alerts, says how far back it went, pages within that window and links to
// the next older one; walking the windows finds every match exactly once,
// and the JSON API says where it stopped.
func TestTextSearchBounded(t *testing.T) {
	st, now, _ := seedSpread(t)
	srv := httptest.NewServer(Handler(st, Options{Now: func() time.Time { return now }, SearchScan: 100}))
	defer srv.Close()
	all, err := st.Query(context.Background(), store.Filter{Text: "SPREAD"})
	if err != nil || len(all) != 600 {
		t.Fatalf("%d alerts with the text, %v", len(all), err)
	}
	idRE := regexp.MustCompile(`<tr id="a(\d+)">`)
	nextRE := regexp.MustCompile(`<a id="next" href="([^"]+)">`)
	olderRE := regexp.MustCompile(`<a id="older" href="([^"]+)">`)
	countRE := regexp.MustCompile(`<span id="count">(\d+)</span> matching`)
	seen := map[string]bool{}
	windows := 0
	for path := "/alerts?q=Spread"; path != "" && windows < 20; windows++ {
		_, page := get(t, srv.URL+path)
		older := olderRE.FindStringSubmatch(page)
		if older != nil && !strings.Contains(page, "Text searched the newest 100 alerts, back to ") {
			t.Fatalf("window %d does not say how far back it searched", windows)
		}
		inWindow := 0
		count := countRE.FindStringSubmatch(page)
		for pages := 0; pages < 10; pages++ {
			for _, m := range idRE.FindAllStringSubmatch(page, -1) {
				if seen[m[1]] {
					t.Fatalf("alert %s found twice", m[1])
				}
				seen[m[1]] = true
				inWindow++
			}
			m := nextRE.FindStringSubmatch(page)
			if m == nil {
				break
			}
			_, page = get(t, srv.URL+html.UnescapeString(m[1]))
		}
		if count == nil || count[1] != fmt.Sprint(inWindow) || (older != nil && inWindow > 100) {
			t.Errorf("window %d: count %v, %d alerts listed (at most 100)", windows, count, inWindow)
		}
		path = ""
		if older != nil {
			path = html.UnescapeString(older[1])
		}
	}
	if len(seen) != 600 || windows < 6 {
		t.Errorf("searched %d windows, found %d alerts; want 600 in at least 6", windows, len(seen))
	}

	_, body := get(t, srv.URL+"/api/alerts?q=spread")
	var doc struct {
		Alerts        []alert.Alert `json:"alerts"`
		SearchedSince time.Time     `json:"searched_since"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.SearchedSince.IsZero() || len(doc.Alerts) == 0 || len(doc.Alerts) > 100 {
		t.Fatalf("api: %d alerts, searched since %v, %v", len(doc.Alerts), doc.SearchedSince, err)
	}
	for _, a := range doc.Alerts {
		if a.Time.Before(doc.SearchedSince) {
			t.Errorf("api: alert of %v before %v", a.Time, doc.SearchedSince)
		}
	}
	// Without free text nothing is bounded.
	if _, page := get(t, srv.URL+"/alerts?rule=rule+1"); olderRE.MatchString(page) {
		t.Error("a list without text says it was bounded")
	}
}
