package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDashboardEscapesAndFilters(t *testing.T) {
	_, st := seedStore(t)
	srv := httptest.NewServer(dashboardHandler(st))
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
	if strings.Contains(page, "<script>") || strings.ContainsAny(page, "\x1b\x00\x07") {
		t.Fatal("hostile alert text reached the page raw")
	}
	for _, want := range []string{"cmd=&lt;script&gt;", `x\x1b]0;pwn\x07\ny`, `Evil\x1b[2J\trule`, "4 alerts"} {
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
	if resp, _ := get("/api/alerts?since=soon"); resp.StatusCode != 400 {
		t.Errorf("bad since: %d", resp.StatusCode)
	}
	if resp, _ := get("/nope"); resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}
