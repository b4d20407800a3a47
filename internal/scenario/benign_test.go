package scenario

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestBenignWorkload runs ordinary container work under the built-in rules
// and requires that none of it raises an alert: a web server under load,
// a build, log writing with rotation, and short-lived containers whose
// entrypoints are shells. PALISADE_BENIGN_SECONDS sets how long (default
// 30; BENCHMARKS.md records a 300 s run).
func TestBenignWorkload(t *testing.T) {
	testutil.RequireBPF(t)
	img := testutil.RequireBusyboxImage(t)
	seconds := 30
	if v, err := strconv.Atoi(os.Getenv("PALISADE_BENIGN_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	prefix := fmt.Sprintf("palisade-benign-%d", time.Now().UnixNano()%1e6)

	stdout, stderr, stop := watchInProcess(t, "--builtin", "--all-matches", "-o", "json", "--ring-buffer", "64")

	start := func(name string, args ...string) {
		docker(t, append([]string{"run", "-d", "--name", prefix + "-" + name}, args...)...)
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", prefix+"-"+name).Run() })
	}
	start("web", img, "sh", "-c", "mkdir -p /www && echo '<h1>ok</h1>' > /www/index.html && exec httpd -f -p 8080 -h /www")
	start("build", img, "sh", "-c", "while true; do mkdir -p /src /out; cp -r /bin /src/; tar czf /out/src.tgz /src; gzip -t /out/src.tgz; sha256sum /out/src.tgz > /out/SUMS; rm -rf /src /out; sleep 1; done")
	start("logs", img, "sh", "-c", "mkdir -p /var/log/app; i=0; while true; do echo \"$(date) request $i\" >> /var/log/app/app.log; i=$((i+1)); if [ $((i % 50)) = 0 ]; then mv /var/log/app/app.log /var/log/app/app.log.1; fi; sleep 0.05; done")
	ip := docker(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", prefix+"-web")

	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	requests, runs := 0, 0
	client := &http.Client{Timeout: 2 * time.Second}
	nextRun := time.Now()
	for time.Now().Before(deadline) {
		for i := 0; i < 20; i++ {
			resp, err := client.Get("http://" + ip + ":8080/index.html")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				requests++
			}
		}
		if time.Now().After(nextRun) {
			name := fmt.Sprintf("%s-run%d", prefix, runs)
			exec.Command("docker", "run", "--rm", "--name", name, img, "sh", "-c", "echo starting; ls / >/dev/null; cat /etc/hostname; id").Run()
			runs++
			nextRun = time.Now().Add(3 * time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c := stop(); c != 0 {
		t.Fatalf("watch exit %d: %s", c, stderr.String())
	}
	if requests == 0 || runs == 0 {
		t.Fatalf("the benign load did not run: %d requests, %d container runs", requests, runs)
	}
	var bad []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.Contains(line, `"container.name":"`+prefix) {
			bad = append(bad, line)
		}
	}
	for _, b := range bad {
		t.Errorf("benign workload raised an alert: %s", b)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	t.Logf("benign %ds: %d HTTP requests, %d short-lived containers, %d alerts from the workload; watch: %s",
		seconds, requests, runs, len(bad), lines[len(lines)-1])
}
