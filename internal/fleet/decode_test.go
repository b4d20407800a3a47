package fleet

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/outputs"
)

// decodeSeeds are messages a collector may receive: agents' alerts,
// Falco's, and the odd shapes encoding/json has rules for.
var decodeSeeds = []string{
	`{"time":"2026-12-06T07:00:00.123456789Z","rule":"r","priority":"Notice","output":"o","output_fields":{"container.name":"web","n":7,"f":1.5,"b":true,"x":null},"source":"syscall","tags":["a","b"],"hostname":"h","uuid":"0193a1b2-0000-7000-8000-000000000001"}`,
	`{"time":"2026-12-06T07:00:00Z","rule":"r","priority":"warning","response":{"action":"kill","target":"pid 1 (sh)","result":"done","latency_us":850,"dry_run":false}}`,
	`{"Time":"2026-12-06T07:00:00Z","RULE":"case-insensitive keys","Priority":"ERROR"}`,
	`{"time":"2026-12-06T07:00:00Z","rule":"first","rule":"duplicate keys: the last wins"}`,
	`{"time":"2026-12-06T07:00:00Z","rule":"fields merge","output_fields":{"a":1},"output_fields":{"b":2}}`,
	"{\"time\":\"2026-12-06T07:00:00Z\",\"rule\":\"bad utf-8 \xff\xfe\",\"output\":\"\\ud800 lone surrogate\"}",
	`{"time":"2026-12-06T07:00:00Z","rule":"nested","output_fields":{"o":{"k":[1,"2",null]},"big":12345678901234567890}}`,
	`{"time":"2026-12-06T07:00:00+02:00","rule":"offset","priority":"debug","tags":null,"output_fields":null}`,
	`{"time":"not a time","rule":"r"}`,
	`{"time":"2026-12-06T07:00:00Z","rule":"r","priority":"loud"}`,
	`{"time":"2026-12-06T07:00:00Z","rule":5}`,
	`{"time":"2026-12-06T07:00:00Z","rule":"r"} trailing`,
	`{"time":"2026-12-06T07:00:00Z","rule":"r",}`,
	`{"time":"2026-12-06T07:00:00Z","rule":"r","unknown":{"deep":[{}]}}`,
	`[1,2,3]`, `null`, `""`, ``, `{`, `{"rule":"r","time":"2026-12-06T07:00:00Z","tags":"not a list"}`,
	`{"rule":"\u0000nul \u2028 \"quoted\" \\ back","time":"2026-12-06T07:00:00Z"}`,
}

// decodeBoth decodes data with encoding/json and with the json/v1
// emulation the collector uses, and fails t if they disagree on whether it
// is an alert or on the alert.
func decodeBoth(t *testing.T, data []byte) {
	t.Helper()
	var want, got alert.Alert
	wantErr := json.Unmarshal(data, &want)
	gotErr := jsonv1.Unmarshal(data, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%q: encoding/json says %v, the collector's decoder %v", data, wantErr, gotErr)
	}
	if wantErr == nil && !reflect.DeepEqual(want, got) {
		t.Fatalf("%q:\nencoding/json     %#v\ncollector decoder %#v", data, want, got)
	}
}

// TestDecodeMatchesEncodingJSON holds the collector's decoder to
// encoding/json's results: the same messages are alerts (or dead letters)
// and decode to the same alert.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	seeds := append([]string{}, decodeSeeds...)
	b, err := outputs.FalcoJSON(benchAlert("node-1", 1, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	seeds = append(seeds, string(b))
	for _, s := range seeds {
		decodeBoth(t, []byte(s))
	}
}

func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { decodeBoth(t, data) })
}
