package confine

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

func findingsText(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s: %s\n  fix: %s\n", f.Severity, f.Check, f.Detail, f.Fix)
	}
	return b.String()
}

// TestMountFindingsGolden classifies real mount tables (a misconfigured and
// a hardened Docker container on the project machine) and a hand-written one.
func TestMountFindingsGolden(t *testing.T) {
	for _, name := range []string{"misconfigured", "hardened", "handwritten"} {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join("testdata", name+".mountinfo")
			text, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := ParseMountinfo(in, string(text))
			if err != nil {
				t.Fatal(err)
			}
			fs := MountFindings(ms)
			SortFindings(fs)
			got := findingsText(fs)
			for _, p := range ReleaseAgentPaths(ms) {
				got += "release_agent candidate " + p + "\n"
			}
			golden := filepath.Join("testdata", name+".golden")
			testutil.Golden(t, golden, []byte(got))
		})
	}
}

func TestParseMountinfo(t *testing.T) {
	ms, err := ParseMountinfo("x", "36 35 98:0 /mnt1 /mnt\\0402 rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n")
	if err != nil {
		t.Fatal(err)
	}
	want := Mount{ID: 36, Parent: 35, Device: "98:0", Root: "/mnt1", MountPoint: "/mnt 2",
		Options: []string{"rw", "noatime"}, FSType: "ext3", Source: "/dev/root"}
	if len(ms) != 1 || !reflect.DeepEqual(ms[0], want) {
		t.Fatalf("%+v", ms)
	}
	for _, tc := range []struct{ in, err string }{
		{"1 0 0:1 / / rw\n", "x:1: want at least 6 fields"},
		{"\n1 0 0:1 / / rw - ext4\n", "x:2: want at least 6 fields"},
		{"a 0 0:1 / / rw - ext4 src opts\n", `x:1: mount id "a" is not a number`},
		{"1 b 0:1 / / rw - ext4 src opts\n", `x:1: parent id "b" is not a number`},
		{"1 0 01 / / rw - ext4 src opts\n", `x:1: device "01" is not major:minor`},
	} {
		if _, err := ParseMountinfo("x", tc.in); err == nil || !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.err)
		}
	}
}

func FuzzParseMountinfo(f *testing.F) {
	for _, name := range []string{"misconfigured", "hardened", "handwritten"} {
		b, _ := os.ReadFile(filepath.Join("testdata", name+".mountinfo"))
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		ms, err := ParseMountinfo("fuzz", text)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "fuzz:") || strings.ContainsAny(msg, "\n\r\x1b\u202e") {
				t.Fatalf("error is not one line naming the input: %q", msg)
			}
			return
		}
		MountFindings(ms)
		ReleaseAgentPaths(ms)
	})
}
