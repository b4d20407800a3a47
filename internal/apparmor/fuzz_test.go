package apparmor

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseSpec: no input panics the parser; whatever it accepts generates a
// profile with no broad rule, and survives an encode/parse round trip.
func FuzzParseSpec(f *testing.F) {
	specs, _ := filepath.Glob("testdata/specs/*.yaml")
	for _, p := range specs {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParseSpec("fuzz.yaml", data)
		if err != nil {
			if spec != nil {
				t.Fatal("error with a non-nil spec")
			}
			return
		}
		profile, err := Generate(spec)
		if err != nil {
			t.Fatalf("accepted spec does not generate: %v", err)
		}
		if m := broadRules.Find(profile); m != nil {
			t.Fatalf("broad rule %q from\n%s", m, data)
		}
		text, err := EncodeSpec(spec)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		again, err := ParseSpec("encoded.yaml", text)
		if err != nil {
			t.Fatalf("encoded spec does not parse: %v\n%s", err, text)
		}
		profile2, err := Generate(again)
		if err != nil || !bytes.Equal(profile, profile2) {
			t.Fatalf("round trip changed the profile (%v)\n%s", err, text)
		}
	})
}
