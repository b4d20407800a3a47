package cli

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// A real headless Chromium logs in to serve's dashboard: without the token
// it gets the login form (a wrong token is refused), with it the session
// cookie opens the dashboard, the cookie is out of the page's reach
// (HttpOnly), and a hostile alert renders as text.
func TestServeLoginInBrowser(t *testing.T) {
	testutil.RequireInstalled(t, testutil.Need{Name: "chromium", Package: "chromium"})
	chromium, _ := exec.LookPath("chromium")
	url, _ := seedStore(t)
	tokFile := filepath.Join(t.TempDir(), "token")
	const tok = "browser-token-0123456789"
	os.WriteFile(tokFile, []byte(tok+"\n"), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errw := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--store", url, "--listen", "127.0.0.1:0", "--token-file", tokFile}, strings.NewReader(""), io.Discard, errw)
	}()
	var base string
	for deadline := time.Now().Add(5 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(errw.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("serve did not start: %q", errw.String())
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(t.TempDir()))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	// The first call starts the browser and must not carry a timeout.
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("browser: %v (serve: %q)", err, errw.String())
	}
	tctx, tcancel := context.WithTimeout(bctx, 60*time.Second)
	defer tcancel()
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v (serve: %q)", what, err, errw.String())
		}
	}
	title, err := chromedp.Run(tctx, chromedp.Title())
	step("title", err)
	body, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
	step("login page", err)
	// A wrong token is refused with the form again.
	step("wrong token", chromedp.Do(tctx,
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), "not-the-token-at-all"),
		chromedp.Submit(chromedp.CSS("form")),
		chromedp.WaitVisible(chromedp.CSS("p.err"))))
	wrong, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("p.err")))
	step("wrong token message", err)
	// The right one sets the session and lands on the dashboard.
	step("login", chromedp.Do(tctx,
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), tok),
		chromedp.Submit(chromedp.CSS("form")),
		chromedp.WaitVisible(chromedp.CSS("table"))))
	cookie, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.cookie`))
	step("cookie", err)
	// The session also opens the alert list (the overview shows counts).
	step("alert list", chromedp.Do(tctx, chromedp.Navigate(base+"/alerts"), chromedp.WaitVisible(chromedp.CSS("table.list"))))
	dash, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body")))
	step("dashboard", err)
	if title != "Palisade login" || !strings.Contains(body, "Token") {
		t.Errorf("without the token: title %q, body %q", title, body)
	}
	if wrong != "wrong token" {
		t.Errorf("wrong token: %q", wrong)
	}
	if cookie != "" {
		t.Errorf("the session cookie is readable from the page: %q", cookie)
	}
	if !strings.Contains(dash, "Terminal shell in container") || !strings.Contains(dash, "cmd=<script>") || strings.Contains(dash, "\x1b") {
		t.Errorf("dashboard after login:\n%s", dash)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("serve did not stop")
	}
}
