package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/store"
)

func TestDashboardEscapesAndFilters(t *testing.T) {
	st := seedStore(t)
	srv := httptest.NewServer(Handler(st))
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}

	resp, page := get("/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(page, "<script>") || strings.ContainsAny(page, "\x1b\x00\x07\u202e") {
		t.Fatal("hostile alert text reached the page raw")
	}
	for _, want := range []string{"cmd=&lt;script&gt;", `x\x1b]0;pwn\x07\ny`, `Evil\x1b[2J\trule\u202e`, "4 alerts"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Newest first.
	if strings.Index(page, "shell in web") > strings.Index(page, "old shell in web") {
		t.Error("rows not newest first")
	}

	_, page = get("/?priority=error&container=db")
	if !strings.Contains(page, "1 alerts") || !strings.Contains(page, "etc write in db") {
		t.Errorf("filtered page wrong")
	}
	resp, page = get("/?priority=%3Cscript%3Ealert(1)%3C/script%3E")
	if resp.StatusCode != 400 || strings.Contains(page, "<script>alert") {
		t.Errorf("bad filter: status %d, reflected raw: %v", resp.StatusCode, strings.Contains(page, "<script>alert"))
	}

	resp, body := get("/api/alerts?rule=Write+below+etc")
	var doc struct {
		Alerts []map[string]any `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.StatusCode != 200 || len(doc.Alerts) != 1 || doc.Alerts[0]["priority"] != "Error" {
		t.Fatalf("api: %d %v %s", resp.StatusCode, err, body)
	}
	_, page = get("/?host=node-2")
	if !strings.Contains(page, "1 alerts") || !strings.Contains(page, "<td>node-2</td>") || !strings.Contains(page, `name="host" value="node-2"`) {
		t.Errorf("host-filtered page wrong:\n%s", page)
	}
	_, body = get("/api/alerts?host=node-1")
	var byHost struct {
		Alerts []alert.Alert `json:"alerts"`
	}
	json.Unmarshal([]byte(body), &byHost)
	if len(byHost.Alerts) != 3 || byHost.Alerts[0].Hostname != "node-1" || byHost.Alerts[2].Hostname != "node-1" {
		t.Errorf("api host filter: %s", body)
	}
	if resp, _ := get("/api/alerts?since=soon"); resp.StatusCode != 400 {
		t.Errorf("bad since: %d", resp.StatusCode)
	}
	if resp, _ := get("/nope"); resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}

func seedStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	mk := func(ago time.Duration, rule string, p alert.Priority, container, image, output string) alert.Alert {
		return alert.Alert{Time: now.Add(-ago), Rule: rule, Priority: p, Output: output,
			OutputFields: map[string]any{"container.name": container, "container.image.repository": image, "proc.name": "sh"},
			Source:       "syscall", Tags: []string{"container"}, Hostname: "node-1"}
	}
	// One alert comes from another agent, for the host filter.
	other := mk(30*time.Minute, "Write below etc", alert.Error, "db", "postgres", "etc write in db")
	other.Hostname = "node-2"
	err = st.Insert(context.Background(), []alert.Alert{
		mk(3*time.Hour, "Terminal shell in container", alert.Notice, "web", "nginx", "old shell in web"),
		other,
		mk(10*time.Minute, "Terminal shell in container", alert.Notice, "web", "nginx", "shell in web"),
		mk(time.Minute, "Evil\x1b[2J\trule\u202e", alert.Critical, "x\x1b]0;pwn\x07\ny", "evil", "cmd=<script>\x00\xff\n FAKE LINE"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
