package cli

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

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
