package scenario

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestFalcoRulesOnScenarios loads Falco's own rule files, unmodified, into
// `palisade watch` and runs the shell, sensitive-read and binary-dir
// scenarios those rules are written for.
func TestFalcoRulesOnScenarios(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequireBusyboxImage(t)
	dir := testutil.FalcoRulesDir(t)
	stdout, stderr, stop := watchInProcess(t, "--all-matches", "-o", "json",
		"-r", filepath.Join(dir, "falco_rules.yaml"), "-r", filepath.Join(dir, "falco-incubating_rules.yaml"),
		"-r", filepath.Join(dir, "falco-sandbox_rules.yaml"), "--ring-buffer", "64")
	name := fmt.Sprintf("palisade-falco-%d", time.Now().UnixNano()%1e6)
	docker(t, "run", "-d", "--name", name, img, "sleep", "60")
	defer exec.Command("docker", "rm", "-f", name).Run()

	for _, sc := range []struct {
		rule, marker string
		cmd          []string
	}{
		{"Terminal shell in container", "process=sh", []string{"exec", "-t", name, "sh", "-c", "true"}},
		{"Read sensitive file untrusted", "file=/etc/shadow", []string{"exec", name, "cat", "/etc/shadow"}},
		{"Write below binary dir", "file=/bin/evil", []string{"exec", name, "sh", "-c", "echo x > /bin/evil"}},
	} {
		exec.Command("docker", sc.cmd...).Run()
		deadline := time.Now().Add(2 * time.Second)
		found := false
		for !found && time.Now().Before(deadline) {
			for _, line := range strings.Split(stdout.String(), "\n") {
				var a alertJSON
				if json.Unmarshal([]byte(line), &a) == nil && a.Rule == sc.rule && strings.Contains(a.Output, sc.marker) {
					found = true
					// Falco's rule outputs do not name the container:
					// append_output's default adds it, as Falco does.
					f := a.OutputFields
					if id, _ := f["container.id"].(string); len(id) != 12 || f["container.name"] != name || fmt.Sprint(f["container.image.repository"], ":", f["container.image.tag"]) != img ||
						!strings.Contains(a.Output, "container_name="+name) {
						t.Errorf("%s: alert without its container: %s %v", sc.rule, a.Output, f)
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !found {
			t.Errorf("Falco's rule %q did not fire within 2 s for %v", sc.rule, sc.cmd)
		}
	}
	if c := stop(); c != 0 {
		t.Fatalf("watch exit %d: %s", c, stderr.String())
	}
}
