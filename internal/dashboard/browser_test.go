package dashboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// Hostile strings: each would run script or fetch something if it reached
// the page as markup; the test checks that none ever sets window.__pwned,
// opens a dialog or makes a request.
const (
	hostileRule      = `<script>window.__pwned=1;alert(1)</script>`
	hostileContainer = `"><img src=x onerror="window.__pwned=2;alert(2)">`
	hostileNS        = `<svg onload=window.__pwned=4>`
)

// hostileSet is 130 ordinary alerts over the last 20 hours, 10 older than
// a day, and one whose every string is hostile with a 1 MiB output and
// command line.
func hostileSet(now time.Time) []alert.Alert {
	var as []alert.Alert
	for i := 0; i < 140; i++ {
		ago := time.Duration(i) * 9 * time.Minute
		if i >= 130 {
			ago = 30*time.Hour + time.Duration(i)*time.Minute
		}
		as = append(as, alert.Alert{Time: now.Add(-ago), Rule: fmt.Sprintf("rule %d", i%7), Priority: alert.Priority(i % 8),
			Output: fmt.Sprintf("ordinary alert %d", i), Source: "syscall", Hostname: fmt.Sprintf("node-%d", i%3),
			OutputFields: map[string]any{"container.name": fmt.Sprintf("app-%d", i%5), "container.image.repository": "registry.local/app",
				"proc.name": "sh", "proc.pid": float64(100 + i), "proc.pname": "runc", "proc.ppid": float64(50)}})
	}
	big := strings.Repeat("A", 1<<20)
	as = append(as, alert.Alert{Time: now.Add(-2 * time.Minute), Rule: hostileRule, Priority: alert.Critical,
		Output: big + "<script>window.__pwned=3</script>\x1b[2J\u202eexe.txt", Source: "syscall", Hostname: "host\u202etxt.exe\x1b]0;x\x07",
		Tags: []string{`<img src=x onerror=window.__pwned=5>`},
		OutputFields: map[string]any{"container.name": hostileContainer, "container.image.repository": "\x1b[31mred\x1b[0m",
			"k8s.ns.name": hostileNS, "k8s.pod.name": "pod\u202e", "proc.name": "<b>sh</b>", "proc.cmdline": big,
			"proc.pname": "<iframe src=x>", "proc.ppid": float64(7)}})
	return as
}

func TestBrowser(t *testing.T) {
	testutil.RequireInstalled(t, testutil.Need{Name: "chromium", Package: "chromium"})
	chromium, _ := exec.LookPath("chromium")
	_, st := openEmpty(t)
	now := time.Now().UTC()
	as := hostileSet(now)
	if err := st.Insert(context.Background(), as); err != nil {
		t.Fatal(err)
	}
	hostileID := int64(len(as))
	// Fleet hosts on /state: hostile and 255-byte names must stay text
	// and fit the width.
	if err := st.UpsertHosts(context.Background(), []store.Host{
		{Name: hostileRule, LastSeen: now, Interval: 10 * time.Second, Version: hostileContainer, Spooled: 3},
		{Name: strings.Repeat("long-host-name-", 17), LastSeen: now.Add(-time.Hour), Interval: 10 * time.Second, Version: "0.9.0"},
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(st, Options{Poll: 100 * time.Millisecond,
		Rules: map[string]RuleInfo{hostileRule: {Desc: hostileContainer, Condition: hostileRule}}}))
	defer srv.Close()
	base := srv.URL

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(t.TempDir()))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	var mu sync.Mutex
	var requests, dialogs []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *page.EventJavascriptDialogOpening:
			dialogs = append(dialogs, e.Message)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(bctx, 120*time.Second)
	defer tcancel()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(what, js string) string {
		t.Helper()
		v, err := chromedp.Run(tctx, chromedp.Evaluate[string](js))
		must(what, err)
		return v
	}
	evalInt := func(what, js string) int {
		t.Helper()
		v, err := chromedp.Run(tctx, chromedp.Evaluate[int](js))
		must(what, err)
		return v
	}
	// inert checks no hostile string ran and the page fits its width.
	inert := func(where string) {
		t.Helper()
		if v := eval("pwned", `String(window.__pwned)`); v != "undefined" {
			t.Errorf("%s: window.__pwned = %s: a hostile string ran", where, v)
		}
		if w, iw := evalInt("width", `document.scrollingElement.scrollWidth`), evalInt("innerWidth", `window.innerWidth`); w > iw {
			t.Errorf("%s: page is %d px wide in a %d px window", where, w, iw)
		}
	}
	shot := func(name string) {
		dir := os.Getenv("PALISADE_SCREENSHOTS")
		if dir == "" {
			return
		}
		b, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
		must("screenshot", err)
		os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644)
	}

	// Overview: the counts are the seeded set's.
	must("overview", chromedp.Do(tctx, chromedp.Navigate(base+"/?range=24h"), chromedp.WaitVisible(chromedp.CSS("svg.chart"))))
	inert("overview")
	shot("overview")
	since, until := viewRanges[2].window(time.Now())
	want := map[string]int{}
	total := 0
	for _, a := range as {
		if !a.Time.Before(since) && a.Time.Before(until) {
			total++
			want[a.Priority.String()]++
		}
	}
	if got := evalInt("total", `+document.querySelector(".card a.n").textContent`); got != total {
		t.Errorf("overview total %d, want %d", got, total)
	}
	cards := eval("cards", `Array.from(document.querySelectorAll(".card")).slice(1).map(c => c.innerText.trim().replace(/\s+/g," ")).join("|")`)
	var wantCards []string
	for p := alert.Emergency; p <= alert.Debug; p++ {
		if want[p.String()] > 0 {
			wantCards = append(wantCards, fmt.Sprintf("%d %s", want[p.String()], p))
		}
	}
	if cards != strings.Join(wantCards, "|") {
		t.Errorf("priority cards %q, want %q", cards, strings.Join(wantCards, "|"))
	}
	// The chart's segments add up to the total, and hostile names are text
	// in the top lists and in the SVG tooltips.
	if got := evalInt("chart", `Array.from(document.querySelectorAll("svg.chart rect title")).reduce((s, t) => s + +t.textContent.split(": ")[1].split(" ")[0], 0)`); got != total {
		t.Errorf("chart segments add up to %d, want %d", got, total)
	}
	titles := eval("titles", `Array.from(document.querySelectorAll("svg.bar title")).map(t => t.textContent).join("\n")`)
	body := eval("body", `document.body.innerText`)
	for _, s := range []string{hostileRule, hostileContainer, hostileNS + "/pod\\u202e", `\x1b[31mred\x1b[0m`} {
		if !strings.Contains(titles, s) || !strings.Contains(body, s) {
			t.Errorf("overview: %q not shown as text (tooltips %v, body %v)", s, strings.Contains(titles, s), strings.Contains(body, s))
		}
	}

	// The total links to a list of as many.
	must("total link", chromedp.Do(tctx, chromedp.Click(chromedp.CSS(".card a.n")), chromedp.WaitVisible(chromedp.CSS("table.list"))))
	inert("list from total")
	if got := eval("count", `document.getElementById("count").textContent`); got != fmt.Sprint(total) {
		t.Errorf("list from the total link: %s matching, want %d", got, total)
	}

	// Filtering through the form.
	must("filter", chromedp.Do(tctx, chromedp.Navigate(base+"/alerts"), chromedp.WaitVisible(chromedp.CSS("table.list")),
		chromedp.SetValue(chromedp.CSS(`input[name="rule"]`), "rule 3"), chromedp.Submit(chromedp.CSS("form.filters")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="rule"][value="rule 3"]`))))
	wantRule3 := 0
	for _, a := range as {
		if a.Rule == "rule 3" {
			wantRule3++
		}
	}
	if got := eval("count", `document.getElementById("count").textContent`); got != fmt.Sprint(wantRule3) {
		t.Errorf("rule 3: %s matching, want %d", got, wantRule3)
	}
	if rules := eval("rules", `Array.from(document.querySelectorAll("table.list tbody tr td:nth-child(3)")).map(td => td.textContent).filter(r => r != "rule 3").join("|")`); rules != "" {
		t.Errorf("rule filter shows other rules: %q", rules)
	}

	// Paging: three pages of 50, 50 and 41, each alert once; back again.
	must("list", chromedp.Do(tctx, chromedp.Navigate(base+"/alerts"), chromedp.WaitVisible(chromedp.CSS("table.list"))))
	inert("list")
	shot("list")
	idsJS := `Array.from(document.querySelectorAll("table.list tbody tr")).map(r => r.id).join(",")`
	var pages []string
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		ids := eval("ids", idsJS)
		pages = append(pages, ids)
		for _, id := range strings.Split(ids, ",") {
			if seen[id] {
				t.Errorf("alert %s on two pages", id)
			}
			seen[id] = true
		}
		if i < 2 {
			must("next", chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#prev"))))
		}
	}
	if len(seen) != len(as) || evalInt("next", `document.querySelectorAll("#next").length`) != 0 {
		t.Errorf("paging saw %d alerts of %d", len(seen), len(as))
	}
	must("prev", chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#prev")), chromedp.WaitVisible(chromedp.CSS("#next"))))
	if ids := eval("ids", idsJS); ids != pages[1] {
		t.Errorf("back from page 3: %s, want %s", ids, pages[1])
	}

	// A long output is cut in the list, whole one click away.
	must("list", chromedp.Do(tctx, chromedp.Navigate(base+"/alerts"), chromedp.WaitVisible(chromedp.CSS("table.list"))))
	row := fmt.Sprintf("#a%d", hostileID)
	if n := evalInt("clipped", `document.querySelector("`+row+` td.out summary").textContent.length`); n > 200 {
		t.Errorf("the 1 MiB output shows %d characters before a click", n)
	}
	must("expand", chromedp.Do(tctx, chromedp.Click(chromedp.CSS(row+" td.out summary"))))
	if n := evalInt("expanded", `document.querySelector("`+row+` td.out .full").innerText.length`); n < 1<<20 {
		t.Errorf("expanded output has %d characters", n)
	}
	inert("list expanded")

	// Live: a new matching alert shows a banner; the scroll stays.
	must("scroll", chromedp.Do(tctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 400)`)))
	y := evalInt("scrollY", `Math.round(window.scrollY)`)
	if err := st.Insert(context.Background(), []alert.Alert{{Time: time.Now(), Rule: "rule new", Priority: alert.Warning, Output: "fresh"}}); err != nil {
		t.Fatal(err)
	}
	must("banner", chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS("#live-banner"))))
	if b := eval("banner", `document.getElementById("live-banner").textContent`); !strings.HasPrefix(b, "1 new alert") {
		t.Errorf("banner %q", b)
	}
	if y2 := evalInt("scrollY", `Math.round(window.scrollY)`); y2 != y || y == 0 {
		t.Errorf("scroll moved from %d to %d", y, y2)
	}

	// Detail of the hostile alert.
	must("detail", chromedp.Do(tctx, chromedp.Navigate(fmt.Sprintf("%s/alert/%d", base, hostileID)), chromedp.WaitVisible(chromedp.CSS("#output"))))
	inert("detail")
	out := eval("output", `document.getElementById("output").textContent`)
	if len(out) < 1<<20 || !strings.Contains(out, `<script>window.__pwned=3</script>\x1b[2J\u202eexe.txt`) {
		t.Errorf("detail output: %d bytes, tail %q", len(out), out[max(0, len(out)-80):])
	}
	anc := eval("ancestry", `document.getElementById("ancestry").innerText`)
	if !strings.Contains(anc, "<iframe src=x>") || !strings.Contains(anc, "<b>sh</b>") {
		t.Errorf("ancestry %q", anc[:min(len(anc), 300)])
	}
	if d := eval("rule", `document.body.innerText`); !strings.Contains(d, hostileContainer) {
		t.Error("the rule description is not shown as text")
	}
	shot("detail-hostile")
	must("detail", chromedp.Do(tctx, chromedp.Navigate(base+"/alert/3"), chromedp.WaitVisible(chromedp.CSS("#output"))))
	inert("detail 3")
	shot("detail")

	// A phone: every page fits 390 px.
	must("phone", chromedp.Do(tctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)))
	for _, p := range []string{"/?range=24h", "/?range=30d", "/alerts", fmt.Sprintf("/alert/%d", hostileID), "/state"} {
		must(p, chromedp.Do(tctx, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main"))))
		inert("phone " + p)
		if p == "/?range=24h" {
			shot("overview-phone")
		}
	}
	must("desktop", chromedp.Do(tctx, chromedp.EmulateViewport(1280, 800)))
	for _, p := range []string{"/?range=1h", "/?range=6h", "/?range=7d", "/?range=30d", "/state"} {
		must(p, chromedp.Do(tctx, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main"))))
		inert(p)
	}
	if f := eval("fleet", `document.getElementById("fleet").innerText`); !strings.Contains(f, hostileRule) ||
		!strings.Contains(f, hostileContainer) || strings.Count(f, "silent") != 1 {
		t.Errorf("fleet table as text: %q", f)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(dialogs) > 0 {
		t.Errorf("dialogs opened: %q", dialogs)
	}
	var off []string
	for _, u := range requests {
		if !strings.HasPrefix(u, base+"/") {
			off = append(off, u)
		}
	}
	sort.Strings(off)
	if len(off) > 0 || len(requests) < 10 {
		t.Errorf("%d requests, %d leaving %s: %q", len(requests), len(off), base, off)
	}
}

func openEmpty(t *testing.T) (string, store.Store) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "alerts.db")
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return url, st
}
