package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

func TestParseCapEff(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"Name:\tcat\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n", 0x1ffffffffff, false},
		{"CapEff:\t0000000000000000\n", 0, false},
		{"Name:\tcat\n", 0, true},
		{"CapEff:\tzz\n", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseCapEff(strings.NewReader(tc.in))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseCapEff(%q) = %#x, %v; want %#x, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCanLoadBPF(t *testing.T) {
	tests := []struct {
		caps uint64
		want bool
	}{
		{0, false},
		{1 << CapSysAdmin, true},
		{1<<CapBPF | 1<<CapPerfmon, true},
		{1 << CapBPF, false},
		{1 << CapPerfmon, false},
	}
	for _, tc := range tests {
		if got := CanLoadBPF(tc.caps); got != tc.want {
			t.Errorf("CanLoadBPF(%#x) = %v, want %v", tc.caps, got, tc.want)
		}
	}
}

func TestParseLockdown(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[none] integrity confidentiality\n", "none"},
		{"none [integrity] confidentiality", "integrity"},
		{"none integrity [confidentiality]", "confidentiality"},
		{"none integrity", ""},
	}
	for _, tc := range tests {
		got, err := ParseLockdown(tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("ParseLockdown(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestMountedFS(t *testing.T) {
	mi := `22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
36 22 0:12 / /sys/kernel/tracing rw,relatime shared:14 - tracefs nodev rw
40 22 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate
`
	if at, ok := MountedFS(strings.NewReader(mi), "tracefs"); !ok || at != "/sys/kernel/tracing" {
		t.Errorf("tracefs: %q %v", at, ok)
	}
	if _, ok := MountedFS(strings.NewReader(mi), "debugfs"); ok {
		t.Error("debugfs reported mounted")
	}
	if _, ok := MountedFS(strings.NewReader("garbage\n\n - \n"), "tracefs"); ok {
		t.Error("garbage reported a mount")
	}
}

func TestParseRelease(t *testing.T) {
	tests := []struct {
		in       string
		maj, min int
		ok       bool
	}{
		{"6.18.44-fc-v657", 6, 18, true},
		{"5.4.0-150-generic", 5, 4, true},
		{"5.15+", 5, 15, true},
		{"weird", 0, 0, false},
	}
	for _, tc := range tests {
		maj, min, ok := parseRelease(tc.in)
		if maj != tc.maj || min != tc.min || ok != tc.ok {
			t.Errorf("parseRelease(%q) = %d.%d %v", tc.in, maj, min, ok)
		}
	}
}

// withFile points a probe path at a fixture for one test.
func withFile(t *testing.T, p *string, content string) {
	t.Helper()
	old := *p
	f := filepath.Join(t.TempDir(), "fixture")
	if content != "" {
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	*p = f
	t.Cleanup(func() { *p = old })
}

func TestCheckCaptureErrors(t *testing.T) {
	withFile(t, &statusPath, "CapEff:\t0000000000000000\n")
	err := CheckCapture()
	if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "sudo") || strings.Contains(err.Error(), "\n") {
		t.Errorf("no caps: %v", err)
	}
	withFile(t, &statusPath, "CapEff:\t000001ffffffffff\n")
	withFile(t, &btfPath, "")
	err = CheckCapture()
	if !errors.Is(err, ErrNoBTF) || !strings.Contains(err.Error(), "CONFIG_DEBUG_INFO_BTF") {
		t.Errorf("no BTF: %v", err)
	}
	if c := BTF(); c.Status != Fail || c.Fix == "" {
		t.Errorf("BTF check without BTF: %+v", c)
	}
}

func TestLockdownFixture(t *testing.T) {
	withFile(t, &lockdownPath, "none integrity [confidentiality]\n")
	if c := Lockdown(); c.Status != Fail || c.Fix == "" {
		t.Errorf("confidentiality: %+v", c)
	}
	withFile(t, &lockdownPath, "[none] integrity confidentiality\n")
	if c := Lockdown(); c.Status != OK || c.Detail != "none" {
		t.Errorf("none: %+v", c)
	}
	withFile(t, &lockdownPath, "")
	if c := Lockdown(); c.Status != OK {
		t.Errorf("absent: %+v", c)
	}
}

func TestPrivilegesFixture(t *testing.T) {
	withFile(t, &statusPath, "CapEff:\t0000000000000000\n")
	if c := Privileges(); c.Status != Fail || c.Fix == "" {
		t.Errorf("no caps: %+v", c)
	}
	withFile(t, &statusPath, "CapEff:\t000000c000000000\n") // CAP_BPF + CAP_PERFMON only
	if c := Privileges(); c.Status != Warn || !strings.Contains(c.Detail, "CAP_SYS_PTRACE") {
		t.Errorf("bpf+perfmon only: %+v", c)
	}
}

// On the project's machines every check passes except tracefs, which is
// not mounted by default and is not needed.
func TestChecksOnThisHost(t *testing.T) {
	testutil.RequireBPF(t)
	for _, c := range Checks() {
		t.Logf("%-12s %-4s %s", c.Name, c.Status, c.Detail)
		if c.Status == Fail {
			t.Errorf("%s failed: %s (fix: %s)", c.Name, c.Detail, c.Fix)
		}
		if c.Status != OK && c.Fix == "" && c.Name != "tracefs" {
			t.Errorf("%s is %s without a fix", c.Name, c.Status)
		}
	}
	if err := CheckCapture(); err != nil {
		t.Errorf("CheckCapture as root: %v", err)
	}
}
