package outputs

import (
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// receiver is an HTTP endpoint that records Falco JSON bodies, checking each
// the way falcosidekick does.
type receiver struct {
	t       *testing.T
	mu      sync.Mutex
	bodies  []map[string]any
	headers []http.Header
	status  int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status != 0 {
		w.WriteHeader(r.status)
		return
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.bodies = append(r.bodies, checkFalcoJSONLine(r.t, body))
	r.headers = append(r.headers, req.Header.Clone())
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

func TestWebhookDeliversFalcoJSONWithHeaders(t *testing.T) {
	rcv := &receiver{t: t}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	w, err := NewWebhookOutput(WebhookConfig{URL: srv.URL, Headers: map[string]string{"Authorization": "Bearer s3cret", "X-Team": "sec"}, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(context.Background(), []alert.Alert{testAlert(1), hostileAlert()}); err != nil {
		t.Fatal(err)
	}
	if !waitFor(t, 5*time.Second, func() bool { return rcv.count() == 2 }) {
		t.Fatalf("received %d", rcv.count())
	}
	if h := rcv.headers[0]; h.Get("Authorization") != "Bearer s3cret" || h.Get("X-Team") != "sec" {
		t.Fatalf("headers %v", h)
	}
	if rcv.bodies[0]["rule"] != "rule-1" || rcv.bodies[0]["priority"] != "Warning" {
		t.Fatalf("body %v", rcv.bodies[0])
	}
}

func TestWebhookTLSWithCAFile(t *testing.T) {
	rcv := &receiver{t: t}
	srv := httptest.NewTLSServer(rcv)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)

	// Without the CA the certificate is not trusted: the alert is spooled.
	untrusted, err := NewWebhookOutput(WebhookConfig{URL: srv.URL, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	untrusted.Write(context.Background(), []alert.Alert{testAlert(1)})
	time.Sleep(500 * time.Millisecond)
	if rcv.count() != 0 || untrusted.Spooled() != 1 {
		t.Fatalf("untrusted TLS: received %d, spooled %d", rcv.count(), untrusted.Spooled())
	}
	untrusted.Close()

	w, err := NewWebhookOutput(WebhookConfig{URL: srv.URL, CAFile: ca, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(context.Background(), []alert.Alert{testAlert(2)}); err != nil {
		t.Fatal(err)
	}
	if !waitFor(t, 5*time.Second, func() bool { return rcv.count() == 1 }) {
		t.Fatalf("TLS with CA file: received %d", rcv.count())
	}
	if _, err := NewWebhookOutput(WebhookConfig{URL: srv.URL, CAFile: "/nonexistent", SpoolDir: t.TempDir()}); err == nil {
		t.Fatal("missing CA file accepted")
	}
}

// TestWebhookOutageLosesNothing is the acceptance test: the
// endpoint is down when 20 alerts fire and comes back 5 s later; it then
// receives all 20, in order, in Falco's JSON shape.
func TestWebhookOutageLosesNothing(t *testing.T) {
	// Reserve an address, then free it: connections are refused until the
	// receiver starts listening there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	w, err := NewWebhookOutput(WebhookConfig{URL: "http://" + addr + "/falco", SpoolDir: t.TempDir(), MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	d := NewDispatcher([]Output{w}, DispatcherOptions{})
	for i := 0; i < 20; i++ {
		d.Send(testAlert(i))
	}
	if !waitFor(t, 10*time.Second, func() bool { return w.Spooled() == 20 && w.Failing() }) {
		t.Fatalf("spooled %d of 20 while down, failing=%v", w.Spooled(), w.Failing())
	}
	time.Sleep(5 * time.Second)

	rcv := &receiver{t: t}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rcv}
	go srv.Serve(ln)
	defer srv.Close()

	if !waitFor(t, 15*time.Second, func() bool { return rcv.count() == 20 }) {
		t.Fatalf("received %d of 20 after the endpoint came back", rcv.count())
	}
	for i, b := range rcv.bodies {
		if b["output"] != testAlert(i).Output {
			t.Fatalf("body %d = %v, out of order", i, b["output"])
		}
	}
	if w.Spooled() != 0 || w.Sent() != 20 || w.Failing() {
		t.Fatalf("after recovery: %d left in spool, %d sent, failing=%v", w.Spooled(), w.Sent(), w.Failing())
	}
	d.Close(time.Second)
	if st := d.Stats()[0]; st.Dropped != 0 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWebhookSpoolSurvivesRestartAndIsBounded(t *testing.T) {
	spool := t.TempDir()
	down := "http://127.0.0.1:1/" // nothing listens on port 1
	w, err := NewWebhookOutput(WebhookConfig{URL: down, SpoolDir: spool, SpoolMaxAlerts: 5})
	if err != nil {
		t.Fatal(err)
	}
	var batch []alert.Alert
	for i := 0; i < 8; i++ {
		batch = append(batch, testAlert(i))
	}
	w.Write(context.Background(), batch)
	if w.Spooled() != 5 || w.SpoolDropped() != 3 {
		t.Fatalf("spooled %d dropped %d, want 5 and 3", w.Spooled(), w.SpoolDropped())
	}
	w.Close()

	rcv := &receiver{t: t}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	w2, err := NewWebhookOutput(WebhookConfig{URL: srv.URL, SpoolDir: spool})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if !waitFor(t, 10*time.Second, func() bool { return rcv.count() == 5 }) {
		t.Fatalf("after restart received %d of 5 spooled", rcv.count())
	}
	if rcv.bodies[0]["output"] != "alert 3" || rcv.bodies[4]["output"] != "alert 7" {
		t.Fatalf("resent %v ... %v; want the newest five in order", rcv.bodies[0]["output"], rcv.bodies[4]["output"])
	}
}

func TestWebhookRejectionIsCountedNotRetriedForever(t *testing.T) {
	rcv := &receiver{t: t, status: http.StatusBadRequest}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	w, err := NewWebhookOutput(WebhookConfig{URL: srv.URL, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var rejects atomic.Int32
	w.OnReject = func(error) { rejects.Add(1) }
	defer w.Close()
	if err := w.Write(context.Background(), []alert.Alert{testAlert(1), testAlert(2)}); err != nil {
		t.Fatal(err)
	}
	if !waitFor(t, 5*time.Second, func() bool { return w.Rejected() == 2 && w.Spooled() == 0 }) {
		t.Fatalf("rejected %d, spooled %d", w.Rejected(), w.Spooled())
	}
	if rejects.Load() != 2 {
		t.Fatalf("OnReject called %d times", rejects.Load())
	}
	if _, err := NewWebhookOutput(WebhookConfig{URL: "ftp://x", SpoolDir: t.TempDir()}); err == nil {
		t.Fatal("ftp URL accepted")
	}
}
