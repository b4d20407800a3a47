package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/palisade-sec/palisade/internal/store/storetest"
)

// TestMillionAlerts (PALISADE_BENCH=1) seeds 1,000,000 alerts over the
// last 30 days into SQLite and PostgreSQL, starts the real palisade serve
// on each and times its pages; the overview must render in ≤ 300 ms. It
// logs the timings and serve's peak resident memory for BENCHMARKS.md.
func TestMillionAlerts(t *testing.T) {
	if os.Getenv("PALISADE_BENCH") != "1" {
		t.Skip("a benchmark: set PALISADE_BENCH=1")
	}
	n := 1_000_000
	bin := filepath.Join(t.TempDir(), "palisade")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/palisade")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			url := "sqlite:" + filepath.Join(t.TempDir(), "alerts.db")
			if kind == "postgres" {
				url = storetest.StartPostgres(t).URL
			}
			st, err := store.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			seedMillion(t, st, n)
			st.Close()
			t.Logf("%s: seeded %d alerts in %s", kind, n, time.Since(start).Round(time.Second))
			timeServe(t, bin, url)
			if before := os.Getenv("PALISADE_BENCH_BEFORE"); before != "" {
				// Free-text search with another build, same store, same run.
				t.Logf("searches with %s:", before)
				timeSearch(t, before, url, 0)
			}
		})
	}
}

func seedMillion(t *testing.T, st store.Store, n int) {
	now := time.Now().UTC()
	span := 29 * 24 * time.Hour // all inside the 30d range's window
	const batch = 5000
	as := make([]alert.Alert, 0, batch)
	for i := 0; i < n; i++ {
		r := i % 40
		a := alert.Alert{
			Time:     now.Add(-time.Duration(int64(span) / int64(n) * int64(n-i))),
			Rule:     fmt.Sprintf("Benchmark rule %02d", r),
			Priority: alert.Priority(r % 8),
			Output:   fmt.Sprintf("Benchmark rule %02d fired for process sh (pid %d) in container app-%03d", r, 1000+i%5000, i%200),
			Source:   "syscall", Hostname: fmt.Sprintf("node-%02d", i%20), Tags: []string{"container", "bench"},
			OutputFields: map[string]any{"container.name": fmt.Sprintf("app-%03d", i%200), "container.image.repository": fmt.Sprintf("registry.local/team/img-%02d", i%50),
				"k8s.ns.name": fmt.Sprintf("ns-%d", i%10), "k8s.pod.name": fmt.Sprintf("pod-%03d", i%100),
				"proc.name": "sh", "proc.pid": float64(1000 + i%5000), "proc.cmdline": "sh -c id", "proc.pname": "runc", "proc.ppid": float64(900)},
		}
		as = append(as, a)
		if len(as) == batch || i == n-1 {
			if err := st.Insert(context.Background(), as); err != nil {
				t.Fatal(err)
			}
			as = as[:0]
		}
	}
}

func timeServe(t *testing.T, bin, url string) {
	fetch, timeIt, stop := startServe(t, bin, url)
	defer stop()
	for _, r := range []string{"1h", "6h", "24h", "7d", "30d"} {
		timeIt("/?range="+r, 300*time.Millisecond)
	}
	_, page := fetch("/?range=30d")
	if !strings.Contains(page, `<a class="n" href="`) || !strings.Contains(page, ">1000000</a>alerts") {
		i := strings.Index(page, `class="n"`)
		t.Errorf("30d total not 1000000: %q", page[max(0, i):min(len(page), i+200)])
	}
	timeIt("/alerts", 0)
	_, list := fetch("/alerts")
	next := regexp.MustCompile(`<a id="next" href="([^"]+)">`).FindStringSubmatch(list)
	if next != nil {
		timeIt(html.UnescapeString(next[1]), 0)
	}
	timeIt("/alerts?sort=oldest", 0)
	for _, p := range []string{"/alerts?sort=priority", "/alerts?rule=Benchmark+rule+07"} {
		timeIt(p, 0)
		_, list := fetch(p)
		if next := regexp.MustCompile(`<a id="next" href="([^"]+)">`).FindStringSubmatch(list); next != nil {
			timeIt(html.UnescapeString(next[1]), 0)
		}
	}
	timeIt("/alerts?container=app-017&since=24h", 0)
	timeIt("/alert/500000", 0)
	timeIt("/state", 0)
	stop()
	timeSearch(t, bin, url, time.Second)
}

// startServe starts bin's palisade serve on the store url and returns a
// page fetcher, a timer (a warm-up, then the median and max of 7) and a
// stop that logs serve's resident memory.
func startServe(t *testing.T, bin, url string) (fetch func(string) (time.Duration, string), timeIt func(string, time.Duration), stop func()) {
	cmd := exec.Command(bin, "serve", "--store", url, "--listen", "127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stderr).ReadString('\n')
	m := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/`).FindStringSubmatch(line)
	if err != nil || m == nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("serve: %q %v", line, err)
	}
	go io.Copy(io.Discard, stderr)
	base := m[1]
	fetch = func(path string) (time.Duration, string) {
		t0 := time.Now()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return d, string(b)
	}
	timeIt = func(path string, limit time.Duration) {
		fetch(path) // warm
		var ds []time.Duration
		for i := 0; i < 7; i++ {
			d, _ := fetch(path)
			ds = append(ds, d)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("%-40s median %6.1f ms  max %6.1f ms", path, ms(ds[len(ds)/2]), ms(ds[len(ds)-1]))
		if limit > 0 && ds[len(ds)/2] > limit {
			t.Errorf("%s: median %s > %s", path, ds[len(ds)/2], limit)
		}
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "VmHWM") || strings.HasPrefix(l, "VmRSS") {
				t.Logf("serve %s", strings.Join(strings.Fields(l), " "))
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	return fetch, timeIt, stop
}

// timeSearch times free-text searches: one alert in 200 matching, none
// matching (the whole window read), the next page, the older alerts and
// the JSON API; with limit, each median must be within it and the pages
// must say how far back they searched.
func timeSearch(t *testing.T, bin, url string, limit time.Duration) {
	fetch, timeIt, stop := startServe(t, bin, url)
	defer stop()
	for _, p := range []string{"/alerts?q=app-017", "/alerts?q=no-such-text", "/api/alerts?q=no-such-text"} {
		timeIt(p, limit)
	}
	_, list := fetch("/alerts?q=app-017")
	if next := regexp.MustCompile(`<a id="next" href="([^"]+)">`).FindStringSubmatch(list); next != nil {
		timeIt(html.UnescapeString(next[1]), limit)
	}
	older := regexp.MustCompile(`<a id="older" href="([^"]+)">`).FindStringSubmatch(list)
	if limit > 0 && older == nil {
		t.Errorf("search over 1,000,000 alerts does not say how far back it read: %q", list)
	}
	if older != nil {
		timeIt(html.UnescapeString(older[1]), limit)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
