package store

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// sameAsEncodingJSON checks encodeDoc's output decodes to what
// json.Marshal's does.
func sameAsEncodingJSON(t *testing.T, a alert.Alert) {
	t.Helper()
	want, err := json.Marshal(a)
	// Right everywhere: fuzzed values such as NaN have no JSON form at all.
	if err != nil {
		t.Skip("not encodable")
	}
	got, err := encodeDoc(nil, &a)
	if err != nil {
		t.Fatalf("encodeDoc: %v", err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("encodeDoc produced invalid JSON %q: %v", got, err)
	}
	json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("encodeDoc differs:\n got %s\nwant %s", got, want)
	}
}

func TestEncodeDoc(t *testing.T) {
	for _, a := range []alert.Alert{
		{},
		mkAlert(1, "r", alert.Warning, "c", "i"),
		{Time: time.Now(), Rule: "\x00\x1f\"\\<>&\u2028\u2029\xff\xfe\xc3", Output: strings.Repeat("é", 100) + "\t\r\n",
			OutputFields: map[string]any{"b": true, "i": 3, "i64": int64(-4), "u": uint64(5), "f": 1.5e-7, "big": 1e21, "n": nil,
				"s": []string{"x"}, "\u2028k": "v"}, Tags: []string{}, Hostname: "\x7f"},
		{Rule: "r", Response: &alert.Response{Action: "kill", Target: "pid 7 (\x1b[31mcat)", Result: "done", LatencyUS: 812}},
		{Rule: "r", Response: &alert.Response{Action: "pause", Target: "container x", Result: "refused", Error: "rate \"limit\"", DryRun: true}},
	} {
		sameAsEncodingJSON(t, a)
	}
}

func FuzzEncodeDoc(f *testing.F) {
	f.Add("rule", "output", "key", "value", 1.5, int64(3))
	f.Add("\xff\x00", "\u2028<script>", "", "\"\\", -0.0, int64(-1))
	f.Fuzz(func(t *testing.T, rule, output, key, value string, fl float64, n int64) {
		sameAsEncodingJSON(t, alert.Alert{Time: time.Unix(0, n), Rule: rule, Output: output,
			OutputFields: map[string]any{key: value, key + "f": fl, key + "n": n}, Tags: []string{value}, Hostname: key,
			Response: &alert.Response{Action: key, Target: value, Result: rule, Error: output, LatencyUS: n, DryRun: n%2 == 0}})
	})
}
