package metrics

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/endpoint"
)

// sampleLine is the text format's sample line: name, optional labels with
// escaped values, a value.
var sampleLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$`)

func TestExposition(t *testing.T) {
	s := New()
	s.Events.Add(41)
	s.Events.Inc()
	s.Alerts.With("Terminal shell", "Warning").Inc()
	s.Alerts.With("evil\"rule\\\nname", "Critical").Add(2)
	s.Latency.With("webhook").Observe(0.003)
	s.Latency.With("webhook").Observe(7)
	s.Latency.With("webhook").Observe(100)
	s.Registry.NewGaugeFunc("palisade_output_queue_depth", "Alerts waiting.", []string{"output"}, func() []Sample {
		return []Sample{{Labels: []string{"file"}, Value: 3}}
	})
	var b strings.Builder
	if err := s.Registry.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"palisade_events_total 42\n",
		`palisade_alerts_total{rule="Terminal shell",priority="Warning"} 1` + "\n",
		`palisade_alerts_total{rule="evil\"rule\\\nname",priority="Critical"} 2` + "\n",
		`palisade_alert_latency_seconds_bucket{output="webhook",le="0.005"} 1` + "\n",
		`palisade_alert_latency_seconds_bucket{output="webhook",le="10"} 2` + "\n",
		`palisade_alert_latency_seconds_bucket{output="webhook",le="+Inf"} 3` + "\n",
		`palisade_alert_latency_seconds_count{output="webhook"} 3` + "\n",
		`palisade_alert_latency_seconds_sum{output="webhook"} 107.003` + "\n",
		`palisade_output_queue_depth{output="file"} 3` + "\n",
		"# TYPE palisade_alert_latency_seconds histogram\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		if !sampleLine.MatchString(line) {
			t.Errorf("line %d is not a valid sample: %q", i+1, line)
		}
	}
}

func TestServer(t *testing.T) {
	s := New()
	s.Events.Inc()
	srv, err := Listen("127.0.0.1:0", s.Registry, nil, endpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for path, want := range map[string]string{"/metrics": "palisade_events_total 1\n", "/healthz": "ok\n"} {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
}

// Off loopback the metrics endpoint refuses to start without a credential,
// and with a token it answers 401 to a scrape without it.
func TestServerOffLoopback(t *testing.T) {
	s := New()
	if _, err := Listen("0.0.0.0:0", s.Registry, nil, endpoint.Options{FlagPrefix: "metrics-"}); err == nil ||
		!strings.Contains(err.Error(), "--metrics-token-file") {
		t.Fatalf("started without a credential: %v", err)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	const tok = "0123456789abcdef-metrics"
	if err := os.WriteFile(tokFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := Listen("0.0.0.0:0", s.Registry, nil, endpoint.Options{TokenFile: tokFile, InsecureNoTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, port, _ := strings.Cut(srv.Addr(), "]:")
	if port == "" {
		_, port, _ = strings.Cut(srv.Addr(), ":")
	}
	for auth, want := range map[string]int{"": 401, "Bearer wrong-token-0123456789": 401, "Bearer " + tok: 200} {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+port+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %q: status %d, want %d", auth, resp.StatusCode, want)
		}
	}
}

// A kubelet's probes carry no token: /livez and /readyz answer without one,
// and /readyz says only "not ready" where /healthz (guarded) names the
// failing output.
func TestProbesWithoutCredential(t *testing.T) {
	s := New()
	tokFile := filepath.Join(t.TempDir(), "token")
	const tok = "0123456789abcdef-metrics"
	if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	failing := func() error { return errors.New("webhook: connection refused to secret-host") }
	srv, err := Listen("0.0.0.0:0", s.Registry, failing, endpoint.Options{TokenFile: tokFile, InsecureNoTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, port, _ := strings.Cut(srv.Addr(), "]:")
	if port == "" {
		_, port, _ = strings.Cut(srv.Addr(), ":")
	}
	get := func(path, auth string) (int, string) {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+port+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		path, auth string
		code       int
		body       string
	}{
		{"/livez", "", 200, "ok\n"},
		{"/readyz", "", 503, "not ready\n"},
		{"/healthz", "", 401, ""},
		{"/metrics", "", 401, ""},
		{"/healthz", tok, 503, "unhealthy: webhook: connection refused to secret-host\n"},
	} {
		code, body := get(c.path, c.auth)
		if code != c.code || (c.body != "" && body != c.body) {
			t.Errorf("%s (token %v): %d %q, want %d %q", c.path, c.auth != "", code, body, c.code, c.body)
		}
	}
}

// A second watch on a taken port is told how to choose another.
func TestServerPortTaken(t *testing.T) {
	s := New()
	first, err := Listen("127.0.0.1:0", s.Registry, nil, endpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := Listen(first.Addr(), s.Registry, nil, endpoint.Options{}); err == nil || !strings.Contains(err.Error(), "--metrics ADDR, or --metrics none") {
		t.Fatalf("second listener: %v", err)
	}
}
