package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParsePriority(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Priority
		ok   bool
	}{
		{"WARNING", Warning, true}, {"warn", Warning, true}, {"Info", Informational, true},
		{"informational", Informational, true}, {"emergency", Emergency, true}, {"debug", Debug, true},
		{"critical", Critical, true}, {"ERROR", Error, true}, {"notice", Notice, true}, {"alert", AlertLevel, true},
		{"loud", 0, false}, {"", 0, false},
	} {
		got, ok := ParsePriority(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ParsePriority(%q) = %v,%v want %v,%v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAlertJSONShape(t *testing.T) {
	a := Alert{
		Time: time.Date(2026, 11, 27, 4, 0, 0, 123, time.UTC), Rule: "r", Priority: Warning,
		Output: "o", OutputFields: map[string]any{"proc.name": "sh", "fd.name": nil},
		Source: "syscall", Tags: []string{"container"}, Hostname: "h",
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"time":"2026-11-27T04:00:00.000000123Z"`, `"priority":"Warning"`, `"output_fields":{"fd.name":null,"proc.name":"sh"}`, `"source":"syscall"`, `"hostname":"h"`} {
		if !strings.Contains(s, want) {
			t.Errorf("alert JSON %s lacks %s", s, want)
		}
	}
	var back Alert
	if err := json.Unmarshal(b, &back); err != nil || back.Priority != Warning || back.Rule != "r" {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	if err := json.Unmarshal([]byte(`{"priority":"loud"}`), &back); err == nil {
		t.Fatal("unknown priority must not decode")
	}
}
