package scenario

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/baseline"
	"github.com/palisade-sec/palisade/internal/syscalls"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// driftService is the workload: busybox httpd serving a page, and a job
// appending to a log every second. The load (HTTP requests) comes from
// the host, so nothing in the container runs wget or nc while learning.
const driftService = `mkdir -p /var/log/app /www && echo hello > /www/index.html && httpd -p 8080 -h /www && ` +
	`while true; do echo "$(date) ok" >> /var/log/app/job.log; sleep 1; done`

// TestDriftLearnThenDetect is the loop of docs/drift.md in real
// containers: two replicas of a service are learned at once into one
// baseline (watch --learn), restarted under detection with the same load
// (no drift alert: 30 s, 5 minutes with PALISADE_SOAK=1), then wget, nc,
// a copied binary, a write to /usr/bin, a new listener and a connection to
// a new port, and a chown (CAP_CHOWN, never checked while learning) each
// raise one drift alert naming the item and the baseline.
func TestDriftLearnThenDetect(t *testing.T) {
	testutil.RequireBPF(t)
	base := testutil.RequireBusyboxImage(t)
	img := "palisade-drift-test:1"
	docker(t, "tag", base, img)
	t.Cleanup(func() { dockerQuiet("rmi", img) })
	names := []string{"palisade-drift-web-1", "palisade-drift-web-2"}
	rm := func() {
		for _, n := range names {
			dockerQuiet("rm", "-f", n)
		}
	}
	rm()
	t.Cleanup(rm)

	dir := t.TempDir()
	learnFor := 20 * time.Second
	stdout, stderr, stop := watchInProcess(t, "--learn", dir, "--learn-for", learnFor.String(), "-o", "json", "--ring-buffer", "64")

	start := func() []string {
		var ips []string
		for _, n := range names {
			docker(t, "run", "-d", "--name", n, img, "sh", "-c", driftService)
			ips = append(ips, docker(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", n))
		}
		return ips
	}
	client := &http.Client{Timeout: 2 * time.Second}
	load := func(ips []string, d time.Duration) int {
		n := 0
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			for _, ip := range ips {
				resp, err := client.Get("http://" + ip + ":8080/index.html")
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					n++
				}
			}
		}
		return n
	}

	// Learn: both replicas at once, under load, for the window.
	ips := start()
	if n := load(ips, learnFor+3*time.Second); n == 0 {
		t.Fatal("the service answered no request")
	}
	// The window ends at the first event after it: the job logs every second.
	file := filepath.Join(dir, baseline.FileName(baseline.Workload{Image: "palisade-drift-test", Tag: "1"}))
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		if _, err := os.Stat(file); err == nil && strings.Contains(stderr.String(), "palisade: learned") {
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("no baseline learned: %s", stderr.String())
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := baseline.Parse(file, data, syscalls.CaptureArch().Name)
	if err != nil {
		t.Fatal(err)
	}
	replicas := 0
	for _, s := range b.Sources {
		for _, n := range names {
			if strings.Contains(s, n) {
				replicas++
			}
		}
	}
	if replicas != 2 {
		t.Errorf("baseline sources %q, want both replicas merged into one", b.Sources)
	}
	t.Logf("learned baseline: %d executables, %d programs, %d syscalls, writes %v, listen %v, capabilities %v",
		len(b.Executables), len(b.Programs), len(b.Syscalls[b.Arch]), b.Writes, b.Listen, b.Capabilities)
	for _, it := range b.Capabilities {
		if it.Name == "CHOWN" {
			t.Fatal("the service's learned baseline holds CHOWN: the capability drift below would prove nothing")
		}
	}

	// Restart under detection, same load: no drift.
	rm()
	soak := 30 * time.Second
	if os.Getenv("PALISADE_SOAK") == "1" {
		soak = 5 * time.Minute
	}
	ips = start()
	served := load(ips, soak)
	time.Sleep(2 * time.Second)
	drift := driftAlerts(stdout.String(), names)
	if len(drift) != 0 {
		t.Fatalf("%d drift alerts under the learned load over %s: %v", len(drift), soak, drift)
	}
	t.Logf("0 drift alerts over %s of the same load (%d requests served, 2 replicas)", soak, served)

	// Drift.
	c := names[0]
	inCtr := func(cmd string) {
		t.Helper()
		docker(t, "exec", c, "sh", "-c", cmd)
	}
	inCtr("wget -q -O /dev/null http://127.0.0.1:8080/index.html; wget -q -O /dev/null http://127.0.0.1:8080/index.html")
	inCtr("cp /bin/busybox /tmp/true && /tmp/true")
	inCtr("mkdir -p /usr/bin && echo x > /usr/bin/evil")
	inCtr("(nc -l -p 9001 >/dev/null &) ; sleep 0.5; echo hi | nc 127.0.0.1 9001; true")
	// chown needs CAP_CHOWN, which the service never used: twice, one alert.
	inCtr("touch /tmp/own && chown 1:1 /tmp/own && chown 2:2 /tmp/own")
	want := []struct{ rule, item string }{
		{"Drift program not in baseline", "program=/bin/wget"},
		{"Drift program not in baseline", "exe=/tmp/true"},
		{"Drift program not in baseline", "program=/bin/nc"},
		{"Drift write outside baseline", "file=/usr/bin/evil"},
		{"Drift write outside baseline", "file=/tmp/true"},
		{"Drift listening port not in baseline", "port=9001"},
		{"Drift outbound connection not in baseline", "port=9001"},
		{"Drift outbound connection not in baseline", "port=8080"},
		{"Drift capability not in baseline", "capability=CAP_CHOWN"},
	}
	var got []alertJSON
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(200 * time.Millisecond) {
		got = driftAlerts(stdout.String(), names)
		if allFound(got, want) {
			break
		}
	}
	for _, w := range want {
		n := 0
		for _, a := range got {
			if a.Rule == w.rule && strings.Contains(a.Output, w.item+" ") {
				n++
				if !strings.Contains(a.Output, "baseline="+filepath.Base(file)) || a.OutputFields["container.name"] != c {
					t.Errorf("%s: %s does not name the baseline and container", w.rule, a.Output)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s %s: %d alerts, want exactly 1", w.rule, w.item, n)
		}
	}
	stop()
	if !strings.Contains(stderr.String(), "repeated drift alerts counted") {
		t.Errorf("the second wget was not counted: %s", stderr.String())
	}
	if t.Failed() {
		for _, a := range got {
			t.Logf("alert: %s", a.Output)
		}
	}
}

// driftAlerts are the drift alerts of the test's own containers: other
// tests run containers of their own meanwhile (other packages' tests run in
// parallel), which --learn learns and watches too.
func driftAlerts(out string, containers []string) []alertJSON {
	var res []alertJSON
	for _, line := range strings.Split(out, "\n") {
		var a alertJSON
		if json.Unmarshal([]byte(line), &a) != nil || !strings.HasPrefix(a.Rule, "Drift") {
			continue
		}
		if name, _ := a.OutputFields["container.name"].(string); slices.Contains(containers, name) {
			res = append(res, a)
		}
	}
	return res
}

func allFound(got []alertJSON, want []struct{ rule, item string }) bool {
	for _, w := range want {
		found := false
		for _, a := range got {
			found = found || (a.Rule == w.rule && strings.Contains(a.Output, w.item+" "))
		}
		if !found {
			return false
		}
	}
	return true
}

// dockerQuiet runs docker for cleanup, ignoring failures.
func dockerQuiet(args ...string) { exec.Command("docker", args...).Run() }
