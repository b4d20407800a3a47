package respond

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/alert"
)

// The deny list refuses what would break the host or the agent, before it
// loads anything.
func TestDenyListRefuses(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runc := filepath.Join(dir, "runc")
	os.WriteFile(runc, []byte("#!/bin/sh\n"), 0o755)
	for _, c := range []struct {
		path, want string
	}{
		{"bin/nc", "want an absolute path"},
		{runc, "container runtime or kubelet executable is never denied"},
		{self, "the agent's executable: never denied"},
		{filepath.Join(dir, "missing"), "no such file"},
		{dir, "not a regular file"},
	} {
		_, err := StartDenyList([]string{c.path}, false, SelfGuard(false), func(alert.Alert) {}, nil, "h")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.path, err, c.want)
		}
	}
}

// A dry run checks the paths and loads nothing.
func TestDenyListDryRun(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tool")
	os.WriteFile(p, []byte("x"), 0o755)
	var log bytes.Buffer
	d, err := StartDenyList([]string{p}, true, SelfGuard(false), func(alert.Alert) { t.Error("alert in a dry run") }, &log, "h")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.list != nil || !strings.Contains(log.String(), "dry run: exec deny list would hold "+p) {
		t.Errorf("dry run loaded %v; log %q", d.list != nil, log.String())
	}
}
