package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
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

// serve on every address refuses to start without a credential; with a
// token and --insecure-no-tls it serves, and a request without the token
// gets 401.
func TestServeOffLoopback(t *testing.T) {
	url, _ := seedStore(t)
	code, _, errs := run(t, "", "serve", "--store", url, "--listen", "0.0.0.0:0")
	if code != 2 || !strings.Contains(errs, "refusing to listen on non-loopback 0.0.0.0:0 without a credential") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("exit %d: %q", code, errs)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	const tok = "serve-token-0123456789"
	os.WriteFile(tokFile, []byte(tok), 0o600)
	code, _, errs = run(t, "", "serve", "--store", url, "--listen", "0.0.0.0:0", "--token-file", tokFile)
	if code != 2 || !strings.Contains(errs, "without TLS") {
		t.Fatalf("no TLS: exit %d: %q", code, errs)
	}

	ctx, cancel := context.WithCancel(context.Background())
	errw := &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"serve", "--store", url, "--listen", "0.0.0.0:0", "--token-file", tokFile, "--insecure-no-tls"}, strings.NewReader(""), io.Discard, errw)
	}()
	var base string
	for deadline := time.Now().Add(5 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`http://[^ ]*:(\d+)/`).FindStringSubmatch(errw.String()); m != nil {
			base = "http://127.0.0.1:" + m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("serve did not start: %q", errw.String())
	}
	for auth, want := range map[string]int{"": 401, "Bearer " + tok: 200} {
		req, _ := http.NewRequest("GET", base+"/api/alerts", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %q: %d, want %d", auth, resp.StatusCode, want)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after cancel", code)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("serve did not stop on cancel")
	}
}
