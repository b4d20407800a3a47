package outputs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/store"
)

func TestPipelineFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{
		Outputs: OutputsConfig{File: &FileConfig{Path: filepath.Join(dir, "alerts.jsonl")}},
		Store:   StoreConfig{URL: "sqlite:" + filepath.Join(dir, "alerts.db")},
		Metrics: MetricsConfig{Address: "127.0.0.1:0"},
	}
	var stdout, stderr lockedBuffer
	p, err := FromConfig(context.Background(), cfg, Env{Stdout: &stdout, Stderr: &stderr, RulesLoaded: 61})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		p.Send(testAlert(i))
	}
	p.Metrics.Events.Add(12345)
	if !waitFor(t, 5*time.Second, func() bool {
		for _, st := range p.Stats() {
			if st.Delivered != 100 {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("stats %+v", p.Stats())
	}
	resp, err := http.Get("http://" + p.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"palisade_events_total 12345\n",
		`palisade_alerts_total{rule="rule-0",priority="Warning"} 34`,
		`palisade_output_delivered_total{output="store"} 100`,
		`palisade_output_delivered_total{output="terminal"} 100`,
		`palisade_output_delivered_total{output="file"} 100`,
		`palisade_alert_latency_seconds_count{output="store"} 100`,
		`palisade_output_dropped_total{output="file"} 0`,
		`palisade_output_queue_depth{output="store"} 0`,
		"palisade_rules_loaded 61\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if err := p.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "\n"); n != 100 {
		t.Errorf("terminal got %d lines", n)
	}
	data, _ := os.ReadFile(cfg.Outputs.File.Path)
	if n := bytes.Count(data, []byte("\n")); n != 100 {
		t.Errorf("file got %d lines", n)
	}
	st, err := store.Open(context.Background(), cfg.Store.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if c, _ := st.Count(context.Background()); c != 100 {
		t.Errorf("store holds %d alerts", c)
	}
	if stderr.String() != "" {
		t.Errorf("stderr: %q", stderr.String())
	}
}

func TestPipelineBadConfigLeavesNothingOpen(t *testing.T) {
	dir := t.TempDir()
	_, err := FromConfig(context.Background(), Config{
		Store:   StoreConfig{URL: "sqlite:" + filepath.Join(dir, "a.db")},
		Metrics: MetricsConfig{Address: "256.0.0.1:1"},
	}, Env{})
	if err == nil {
		t.Fatal("bad metrics address accepted")
	}
	_, err = FromConfig(context.Background(), Config{Outputs: OutputsConfig{Webhook: &WebhookConfig{URL: "nope"}}, Store: StoreConfig{URL: "none"}, Metrics: MetricsConfig{Address: "none"}}, Env{})
	if err == nil || !strings.Contains(err.Error(), "webhook") {
		t.Fatalf("bad webhook: %v", err)
	}
}

// TestKill9LosesNoAcceptedAlert runs a pipeline in a child process that
// sends an alert every 2 ms, kills it with SIGKILL, and checks every alert
// sent a second or more before the kill is in the store.
func TestKill9LosesNoAcceptedAlert(t *testing.T) {
	// Right everywhere: in the child process this test is its own parent.
	if os.Getenv("PALISADE_PIPELINE_CHILD") != "" {
		t.Skip("child")
	}
	db := filepath.Join(t.TempDir(), "alerts.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestPipelineChild$")
	cmd.Env = append(os.Environ(), "PALISADE_PIPELINE_CHILD="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "sent "); ok {
				v, _ := strconv.ParseInt(n, 10, 64)
				sent.Store(v)
			}
		}
	}()
	if !waitFor(t, 20*time.Second, func() bool { return sent.Load() >= 200 }) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child sent only %d alerts", sent.Load())
	}
	time.Sleep(500 * time.Millisecond)
	mustHave := sent.Load()
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	total := sent.Load()

	st, err := store.Open(context.Background(), "sqlite:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Query(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Alert.Output] = true
	}
	for i := int64(0); i < mustHave; i++ {
		if !have[fmt.Sprintf("alert %d", i)] {
			t.Fatalf("alert %d (sent over a second before the kill) is missing; store holds %d, %d sent before the cut-off, %d in all", i, len(recs), mustHave, total)
		}
	}
	t.Logf("%d alerts sent a second or more before SIGKILL, all stored (store holds %d of %d sent)", mustHave, len(recs), total)
}

// TestPipelineChild is the process TestKill9LosesNoAcceptedAlert kills.
func TestPipelineChild(t *testing.T) {
	db := os.Getenv("PALISADE_PIPELINE_CHILD")
	// Right everywhere: this is a helper process, not a test of its own.
	if db == "" {
		t.Skip("only run as TestKill9LosesNoAcceptedAlert's child")
	}
	p, err := FromConfig(context.Background(), Config{
		Store:   StoreConfig{URL: "sqlite:" + db},
		Metrics: MetricsConfig{Address: "none"},
	}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		p.Send(alert.Alert{Time: time.Now(), Rule: "r", Priority: alert.Warning, Output: fmt.Sprintf("alert %d", i), Source: "syscall"})
		fmt.Printf("sent %d\n", i+1)
		time.Sleep(2 * time.Millisecond)
	}
}

func TestPipelineHealthAndWebhookMetrics(t *testing.T) {
	dir := t.TempDir()
	p, err := FromConfig(context.Background(), Config{
		Outputs: OutputsConfig{Webhook: &WebhookConfig{URL: "http://127.0.0.1:1/", SpoolDir: filepath.Join(dir, "spool")}},
		Store:   StoreConfig{URL: "none"},
		Metrics: MetricsConfig{Address: "127.0.0.1:0"},
	}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(time.Second)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + p.MetricsAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz before any alert: %d %q", code, body)
	}
	for i := 0; i < 3; i++ {
		p.Send(testAlert(i))
	}
	if !waitFor(t, 10*time.Second, func() bool { code, _ := get("/healthz"); return code == 503 }) {
		t.Fatal("healthz stayed ok with the webhook down")
	}
	_, body := get("/healthz")
	if !strings.Contains(body, "output webhook is failing") {
		t.Errorf("healthz body %q", body)
	}
	_, m := get("/metrics")
	for _, want := range []string{"palisade_webhook_spool_alerts 3\n", "palisade_webhook_sent_total 0\n", `palisade_output_delivered_total{output="webhook"} 3`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
