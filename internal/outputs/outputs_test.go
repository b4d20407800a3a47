package outputs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// hostileAlert carries every string an attacker controls through a process
// name, path or command line.
func hostileAlert() alert.Alert {
	evil := "\x1b[2J\x1b]0;pwned\x07 line1\nFAKE 2026-01-01T00:00:00Z Critical [Forged] x\r\xff\xfe <script>alert(1)</script> \u202etxt.exe \x00"
	return alert.Alert{
		Time: time.Date(2026, 11, 27, 4, 0, 0, 5, time.UTC), Rule: "Shell " + evil, Priority: alert.Critical,
		Output:       "proc=" + evil + " cmdline=" + strings.Repeat("A", 1<<20),
		OutputFields: map[string]any{"proc.name": evil, "container.name": evil, "proc.cmdline": strings.Repeat("B", 1<<20)},
		Source:       "syscall", Tags: []string{evil}, Hostname: "node",
	}
}

func TestTextLine(t *testing.T) {
	a := alert.Alert{Time: time.Date(2026, 11, 27, 4, 0, 0, 123456789, time.UTC), Rule: "Terminal shell", Priority: alert.Warning, Output: "shell in web"}
	if got, want := FormatTextLine(a, false), "2026-11-27T04:00:00.123456789Z Warning [Terminal shell] shell in web\n"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	falco := a
	falco.Output = "04:00:00.123456789: Warning shell in web\x1b[2J"
	if got, want := FormatTextLine(falco, false), "04:00:00.123456789: Warning shell in web\\x1b[2J [Terminal shell]\n"; got != want {
		t.Errorf("Falco-shaped text line = %q, want %q", got, want)
	}
	killed := a
	killed.Response = &alert.Response{Action: "kill", Target: "pid 42 (c\x1b[2Jat) in container 3f2a9c1d0e4b (web)", Result: "done", LatencyUS: 850}
	if got, want := FormatTextLine(killed, false), "2026-11-27T04:00:00.123456789Z Warning [Terminal shell] shell in web [response: kill pid 42 (c\\x1b[2Jat) in container 3f2a9c1d0e4b (web): done in 850us]\n"; got != want {
		t.Errorf("text with response = %q, want %q", got, want)
	}
	refused := a
	refused.Response = &alert.Response{Action: "kill", Target: "pid 1 (systemd) in host", Result: "refused", Error: "pid 1 is the host's init", DryRun: true}
	if got, want := FormatTextLine(refused, false), "2026-11-27T04:00:00.123456789Z Warning [Terminal shell] shell in web [response: kill pid 1 (systemd) in host: refused (dry run) (pid 1 is the host's init)]\n"; got != want {
		t.Errorf("text with refusal = %q, want %q", got, want)
	}
	if b, _ := FalcoJSON(killed); !strings.Contains(string(b), `"response":{"action":"kill","target":"pid 42 (c\u001b[2Jat) in container 3f2a9c1d0e4b (web)","result":"done","latency_us":850,"dry_run":false}`) {
		t.Errorf("Falco JSON with response: %s", b)
	}
	if got := FormatTextLine(a, true); !strings.Contains(got, "\x1b[33mWarning\x1b[0m") {
		t.Errorf("coloured text = %q", got)
	}
}

func TestUseColor(t *testing.T) {
	var buf bytes.Buffer
	t.Setenv("NO_COLOR", "")
	if UseColor(ColorAuto, &buf) {
		t.Error("auto colour on a non-terminal")
	}
	if !UseColor(ColorAlways, &buf) || UseColor(ColorNever, os.Stdout) {
		t.Error("always/never not honoured")
	}
	t.Setenv("NO_COLOR", "1")
	if UseColor(ColorAuto, os.Stdout) {
		t.Error("NO_COLOR not honoured")
	}
}

// TestHostileStringsEveryOutput sends one hostile alert through the text,
// JSON, file and syslog renderings and checks nothing can inject a line or
// an escape sequence and the JSON stays valid.
func TestHostileStringsEveryOutput(t *testing.T) {
	a := hostileAlert()
	ctx := context.Background()

	var text, js bytes.Buffer
	for _, o := range []*StreamOutput{
		NewStreamOutput("t", &text, FormatText, true, nil),
		NewStreamOutput("j", &js, FormatJSON, false, nil),
	} {
		if err := o.Write(ctx, []alert.Alert{a}); err != nil {
			t.Fatal(err)
		}
	}
	tl := strings.TrimSuffix(text.String(), "\n")
	if strings.Count(text.String(), "\n") != 1 {
		t.Fatalf("text output is not one line")
	}
	// Colour codes are ours; strip them, then nothing else may be a control.
	checkInert(t, regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(tl, ""))
	if strings.Count(tl, "\x1b") != 2 {
		t.Fatalf("text output holds %d ESC bytes, want only the 2 colour codes", strings.Count(tl, "\x1b"))
	}
	checkFalcoJSONLine(t, js.Bytes())
	if bytes.Contains(js.Bytes(), []byte("<script>")) {
		t.Fatal("JSON output has raw HTML")
	}

	path := filepath.Join(t.TempDir(), "alerts.log")
	f, err := NewFileOutput(FileConfig{Path: path, Format: "text"})
	if err != nil {
		t.Fatal(err)
	}
	f.Write(ctx, []alert.Alert{a, a})
	f.Close()
	data, _ := os.ReadFile(path)
	if strings.Count(string(data), "\n") != 2 {
		t.Fatalf("file holds %d lines, want 2", strings.Count(string(data), "\n"))
	}
	checkInertLines(t, string(data))

	s, err := NewSyslogOutput(SyslogConfig{Address: "udp://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	rec := s.Format(a)
	checkInert(t, rec)
	if len(rec) > 8192 {
		t.Fatalf("syslog record is %d bytes, cap is 8192", len(rec))
	}
}

// checkFalcoJSONLine checks one line is a JSON object falcosidekick
// accepts: rule set, priority a string, time RFC 3339, output_fields not
// empty.
func checkFalcoJSONLine(t *testing.T, line []byte) map[string]any {
	t.Helper()
	line = bytes.TrimSuffix(line, []byte("\n"))
	if bytes.ContainsAny(line, "\n\r") {
		t.Fatal("JSON line contains a raw newline")
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	if r, _ := m["rule"].(string); r == "" {
		t.Fatalf("no rule: %.200s", line)
	}
	p, ok := m["priority"].(string)
	if _, valid := alert.ParsePriority(p); !ok || !valid {
		t.Fatalf("priority %v is not a Falco name", m["priority"])
	}
	ts, _ := m["time"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Fatalf("time %q: %v", ts, err)
	}
	if of, _ := m["output_fields"].(map[string]any); len(of) == 0 {
		t.Fatal("empty output_fields")
	}
	for _, k := range []string{"output", "source", "tags", "hostname"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("missing %q", k)
		}
	}
	return m
}

func TestFalcoJSONNormalises(t *testing.T) {
	b, err := FalcoJSON(alert.Alert{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)), Rule: "r", Priority: alert.Notice, Output: "o"})
	if err != nil {
		t.Fatal(err)
	}
	m := checkFalcoJSONLine(t, b)
	if m["time"] != "2026-01-02T02:04:05Z" || m["source"] != "syscall" {
		t.Fatalf("normalised = %s", b)
	}
	if tags, ok := m["tags"].([]any); !ok || len(tags) != 0 {
		t.Fatalf("tags = %v, want []", m["tags"])
	}
}

func TestFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "alerts.jsonl")
	f, err := NewFileOutput(FileConfig{Path: path, MaxSize: 2000, MaxBackups: 2})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := 0; i < 60; i++ {
		if err := f.Write(context.Background(), []alert.Alert{testAlert(i), testAlert(i + 1000)}); err != nil {
			t.Fatal(err)
		}
		total += 2
	}
	f.Close()
	lines := 0
	for _, p := range []string{path, path + ".1", path + ".2"} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(data) > 2000 {
			t.Errorf("%s is %d bytes, over the 2000 limit", p, len(data))
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			checkFalcoJSONLine(t, sc.Bytes())
			lines++
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("more backups than max_backups")
	}
	if lines == 0 || lines >= total {
		t.Errorf("kept %d of %d lines; rotation should have discarded the oldest", lines, total)
	}
	// Appends to an existing file rather than truncating it.
	before, _ := os.ReadFile(path)
	f, _ = NewFileOutput(FileConfig{Path: path, MaxSize: 1 << 20})
	f.Write(context.Background(), []alert.Alert{testAlert(7)})
	f.Close()
	after, _ := os.ReadFile(path)
	if !bytes.HasPrefix(after, before) || len(after) <= len(before) {
		t.Error("reopening did not append")
	}
}

var rfc5424 = regexp.MustCompile(`^<(\d+)>1 (\S+) (\S+) palisade (\d+) alert \[palisade@32473 rule="((?:[^"\\\]]|\\.)*)" priority="(\w+)"(?: container="((?:[^"\\\]]|\\.)*)")?\] (.*)$`)

func checkSyslogRecord(t *testing.T, rec string, wantPRI int, wantRule string) {
	t.Helper()
	m := rfc5424.FindStringSubmatch(rec)
	if m == nil {
		t.Fatalf("not an RFC 5424 record: %.300q", rec)
	}
	if pri, _ := strconv.Atoi(m[1]); pri != wantPRI {
		t.Errorf("PRI %d, want %d", pri, wantPRI)
	}
	if _, err := time.Parse(time.RFC3339Nano, m[2]); err != nil {
		t.Errorf("timestamp %q: %v", m[2], err)
	}
	if m[5] != wantRule {
		t.Errorf("rule %q, want %q", m[5], wantRule)
	}
}

func TestSyslogUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := NewSyslogOutput(SyslogConfig{Address: "udp://" + pc.LocalAddr().String(), Facility: "local3"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := testAlert(1)
	a.Rule = `Quote"and]bracket`
	if err := s.Write(context.Background(), []alert.Alert{a}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	// local3 = 19; Warning = severity 4.
	checkSyslogRecord(t, string(buf[:n]), 19*8+4, `Quote\"and\]bracket`)
}

func TestSyslogTCPOctetCounting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		var recs []string
		for len(recs) < 3 {
			lenStr, err := r.ReadString(' ')
			if err != nil {
				break
			}
			n, _ := strconv.Atoi(strings.TrimSpace(lenStr))
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				break
			}
			recs = append(recs, string(b))
		}
		got <- recs
	}()
	s, err := NewSyslogOutput(SyslogConfig{Address: "tcp://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := hostileAlert()
	h.Output = "multi\nline\nrecord"
	h.OutputFields = nil
	if err := s.Write(context.Background(), []alert.Alert{testAlert(1), h, testAlert(2)}); err != nil {
		t.Fatal(err)
	}
	select {
	case recs := <-got:
		if len(recs) != 3 {
			t.Fatalf("got %d records", len(recs))
		}
		checkSyslogRecord(t, recs[0], 16*8+4, "rule-1")
		checkSyslogRecord(t, recs[1], 16*8+2, sdParam(h.Rule))
		if !strings.HasSuffix(recs[1], `multi\nline\nrecord`) {
			t.Errorf("record 2 = %q", recs[1])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no records")
	}
}

func TestSyslogUnixDatagram(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	pc, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, addr := range []string{"unix://" + sock, sock} {
		s, err := NewSyslogOutput(SyslogConfig{Address: addr, Facility: "auth"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(context.Background(), []alert.Alert{testAlert(2)}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		buf := make([]byte, 65536)
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		checkSyslogRecord(t, string(buf[:n]), 4*8+4, "rule-2")
	}
}

func TestSyslogBadConfig(t *testing.T) {
	for _, c := range []SyslogConfig{{Address: ""}, {Address: "ftp://x"}, {Address: "udp://127.0.0.1:514", Facility: "bogus"}} {
		if _, err := NewSyslogOutput(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestProgramOutput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "got")
	p, err := NewProgramOutput(ProgramConfig{Command: fmt.Sprintf("cat >> %q", out)})
	if err != nil {
		t.Fatal(err)
	}
	h := hostileAlert()
	h.Rule = "$(touch " + filepath.Join(dir, "pwned") + ")"
	if err := p.Write(context.Background(), []alert.Alert{testAlert(1), h}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("program got %d lines", len(lines))
	}
	for _, l := range lines {
		checkFalcoJSONLine(t, []byte(l))
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatal("alert content reached the shell")
	}
	bad, _ := NewProgramOutput(ProgramConfig{Command: "echo nope >&2; exit 3"})
	if err := bad.Write(context.Background(), []alert.Alert{testAlert(1)}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("failing program: %v", err)
	}
	slow, _ := NewProgramOutput(ProgramConfig{Command: "sleep 30", Timeout: 200 * time.Millisecond})
	start := time.Now()
	if err := slow.Write(context.Background(), []alert.Alert{testAlert(1)}); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("slow program: %v after %v", err, time.Since(start))
	}
}
