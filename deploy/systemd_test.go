package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// The unit passes systemd-analyze verify with nothing to say, scores an
// exposure of at most 3.0 in systemd-analyze security (offline), and grants
// the capabilities the manifests grant. ExecStart points at a test copy of
// the binary, because verify checks that the program exists.
func TestSystemdUnit(t *testing.T) {
	analyze := testutil.RequireTool(t, "systemd-analyze")
	data, err := os.ReadFile(repoFile(t, "deploy/systemd/palisade.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(data)
	var caps []string
	for _, c := range agentCaps {
		caps = append(caps, "CAP_"+c)
	}
	for _, key := range []string{"CapabilityBoundingSet=", "AmbientCapabilities="} {
		if !strings.Contains(unit, "\n"+key+strings.Join(caps, " ")+"\n") {
			t.Errorf("%s is not %s", key, strings.Join(caps, " "))
		}
	}
	dir := t.TempDir()
	bin := palisade(t)
	unit = strings.ReplaceAll(unit, "/usr/local/bin/palisade", bin)
	path := filepath.Join(dir, "palisade.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", "--threshold=30", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security --offline: %v (exposure above 3.0?)\n%s", err, out)
	}
	// verify reads the file for real: a misspelt key is reported.
	bad := strings.Replace(unit, "Restart=on-failure", "Restart=on-failure\nRestartt=always", 1)
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command(analyze, "verify", path).CombinedOutput(); !strings.Contains(string(out), "Restartt") {
		t.Errorf("systemd-analyze verify did not report a misspelt key:\n%s", out)
	}
}
