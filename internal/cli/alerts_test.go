package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/palisade-sec/palisade/internal/store/storeseed"
)

func seedStore(t *testing.T) (string, store.Store) { return storeseed.Seed(t) }

func TestAlertsJSONAndFilters(t *testing.T) {
	url, _ := seedStore(t)
	for _, tc := range []struct {
		args []string
		want []string // outputs, in order
	}{
		{nil, []string{"old shell in web", "etc write in db", "shell in web", "cmd=<script>\x00\ufffd\n FAKE LINE"}},
		{[]string{"--since", "1h"}, []string{"etc write in db", "shell in web", "cmd=<script>\x00\ufffd\n FAKE LINE"}},
		{[]string{"--until", "20m"}, []string{"old shell in web", "etc write in db"}},
		{[]string{"--priority", "error"}, []string{"etc write in db", "cmd=<script>\x00\ufffd\n FAKE LINE"}},
		{[]string{"--rule", "Terminal shell in container"}, []string{"old shell in web", "shell in web"}},
		{[]string{"--rule", "Write below etc", "--rule", "Terminal shell in container", "--since", "2h"}, []string{"etc write in db", "shell in web"}},
		{[]string{"--container", "db"}, []string{"etc write in db"}},
		{[]string{"--image", "nginx", "--limit", "1"}, []string{"shell in web"}},
		{[]string{"--container", "nope"}, []string{}},
		{[]string{"--host", "node-2"}, []string{"etc write in db"}},
		{[]string{"--host", "node-1", "--since", "1h"}, []string{"shell in web", "cmd=<script>\x00\ufffd\n FAKE LINE"}},
		{[]string{"--host", "node-3"}, []string{}},
	} {
		args := append([]string{"alerts", "--store", url, "-o", "json"}, tc.args...)
		code, out, errOut := run(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut)
		}
		var doc struct {
			Alerts []map[string]any `json:"alerts"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, out)
		}
		if doc.Alerts == nil {
			t.Fatalf("%v: alerts is null, want an array", tc.args)
		}
		var got []string
		for _, a := range doc.Alerts {
			got = append(got, a["output"].(string))
			for _, k := range []string{"time", "rule", "priority", "output", "output_fields", "source", "tags", "hostname"} {
				if _, ok := a[k]; !ok {
					t.Errorf("%v: alert lacks %q", tc.args, k)
				}
			}
			if _, ok := a["priority"].(string); !ok {
				t.Errorf("priority %v is not a string", a["priority"])
			}
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%v: got %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestAlertsTableEscapes(t *testing.T) {
	url, _ := seedStore(t)
	code, out, errOut := run(t, "", "alerts", "--store", url)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "TIME") {
		t.Fatalf("table has %d lines:\n%s", len(lines), out)
	}
	for _, c := range out {
		if c < 0x20 && c != '\n' || c == 0x7f {
			t.Fatalf("table holds control character %q:\n%q", c, out)
		}
	}
	if !strings.Contains(lines[4], `Evil\x1b[2J\trule`) || !strings.Contains(lines[4], `x\x1b]0;pwn\x07\ny`) {
		t.Errorf("hostile row = %q", lines[4])
	}
}

func TestAlertsErrors(t *testing.T) {
	url, _ := seedStore(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--store", "sqlite:" + filepath.Join(t.TempDir(), "none.db")}, 2, "no alert store at"},
		{[]string{"--store", url, "--priority", "loud"}, 2, `unknown priority "loud"`},
		{[]string{"--store", url, "--since", "yesterday"}, 2, `--since: "yesterday" is neither`},
		{[]string{"--store", url, "-o", "xml"}, 2, "unknown output format"},
		{[]string{"--store", "mysql://x"}, 2, "bad store URL"},
		{[]string{"--store", url, "--follow", "--out", "x.json"}, 2, "--follow"},
	} {
		code, out, errOut := run(t, "", append([]string{"alerts"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and %q", tc.args, code, errOut, out, tc.code, tc.want)
		}
	}
}

func TestAlertsFollow(t *testing.T) {
	url, st := seedStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb alertsBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"alerts", "--store", url, "--follow", "-o", "json", "--rule", "Fresh"}, strings.NewReader(""), &out, &errb)
	}()
	time.Sleep(300 * time.Millisecond)
	fresh := alert.Alert{Time: time.Now(), Rule: "Fresh", Priority: alert.Warning, Output: "new one", OutputFields: map[string]any{"a": "b"}}
	other := fresh
	other.Rule = "Other"
	if err := st.Insert(context.Background(), []alert.Alert{other, fresh}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "new one") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("follow printed %d lines: %q", len(lines), out.String())
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &a); err != nil || a["rule"] != "Fresh" {
		t.Fatalf("followed line %q: %v", lines[0], err)
	}
}

// alertsBuffer is a goroutine-safe buffer for the --follow test.
type alertsBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *alertsBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *alertsBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAlertOutputMessage: the table shows Falco's "time: Priority message"
// output without the time and priority its own columns hold, and leaves
// any other output alone.
func TestAlertOutputMessage(t *testing.T) {
	for _, tc := range []struct {
		p         alert.Priority
		out, want string
	}{
		{alert.Warning, "01:39:17.729756697: Warning Sensitive file opened (file=/etc/shadow)", "Sensitive file opened (file=/etc/shadow)"},
		{alert.Critical, "Falco internal: syscall event drop. 31505 system calls dropped", "Falco internal: syscall event drop. 31505 system calls dropped"},
		{alert.Notice, "01:39:17.729756697: Warning priority differs", "01:39:17.729756697: Warning priority differs"},
		{alert.Notice, "12:00: Notice not a Falco time", "12:00: Notice not a Falco time"},
	} {
		if got := outputMessage(alert.Alert{Priority: tc.p, Output: tc.out}); got != tc.want {
			t.Errorf("outputMessage(%s, %q) = %q, want %q", tc.p, tc.out, got, tc.want)
		}
	}
}
