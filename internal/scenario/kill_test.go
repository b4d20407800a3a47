package scenario

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestWatchKill9KeepsAlerts: `kill -9` of palisade watch loses no alert
// whose event happened a second or more before the kill.
func TestWatchKill9KeepsAlerts(t *testing.T) {
	testutil.RequireBPF(t)
	dir := t.TempDir()
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(dir, "palisade"))
	db := filepath.Join(dir, "alerts.db")
	rules := filepath.Join(dir, "marker.yaml")
	// One alert per exec of a uniquely named marker command.
	os.WriteFile(rules, []byte(`
- rule: Kill test marker
  desc: d
  condition: evt.type = execve and proc.cmdline contains palisade-kill-marker
  output: "marker %proc.cmdline"
  priority: WARNING
`), 0o644)
	cmd, _ := testutil.StartWatch(t, bin, nil, "-r", rules, "-o", "json", "--store", "sqlite:"+db, "--metrics", "none")
	const n = 20
	for i := 0; i < n; i++ {
		exec.Command("/bin/echo", "palisade-kill-marker", string(rune('a'+i))).Run()
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1100 * time.Millisecond) // every marker is now more than 1 s old
	// A last one right before the kill may or may not make it.
	exec.Command("/bin/echo", "palisade-kill-marker", "late").Run()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	q := exec.Command(bin, "alerts", "--store", "sqlite:"+db, "--rule", "Kill test marker", "-o", "json")
	out, err := q.Output()
	if err != nil {
		t.Fatalf("alerts: %v", err)
	}
	var got struct {
		Alerts []struct {
			Output string `json:"output"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	seen := map[string]bool{}
	for _, a := range got.Alerts {
		// The marker's argument follows it (append_output adds the
		// container after).
		if _, rest, ok := strings.Cut(a.Output, "palisade-kill-marker "); ok && rest != "" {
			seen[strings.Fields(rest)[0]] = true
		}
	}
	for i := 0; i < n; i++ {
		if k := string(rune('a' + i)); !seen[k] {
			t.Errorf("alert for marker %s (more than 1 s before kill -9) is not in the store", k)
		}
	}
	t.Logf("%d alerts in the store after kill -9 (%d required, late one stored: %v)", len(got.Alerts), n, seen["late"])
}
