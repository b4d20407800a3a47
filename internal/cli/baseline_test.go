package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/record"
)

// driftJSONL is a container of image web:1 doing what its recording did
// (httpd, log writes, a connect to its database, a listen on 8080) and
// then drifting: wget three times, a binary dropped in /tmp and run, a
// write to /usr/bin, a connect to a new port, a new listener, ptrace.
func driftJSONL() string {
	ctr := `"container":{"id":"0123456789ab","name":"web-1","image":"web:1","image_repository":"web","image_tag":"1"}`
	proc := func(exe string) string {
		return `"proc":{"pid":40,"vpid":4,"name":"x","exepath":"` + exe + `","cwd":"/","uid":0,"gid":0,"user":"root","parent":{"pid":4,"name":"sh"}}`
	}
	lines := []string{
		`{"ts":1,"type":"execve","res":0,"args":{"filename":"/bin/httpd"},` + proc("/bin/busybox") + `,` + ctr + `}`,
		`{"ts":2,"type":"openat","res":3,"args":{"fd":3,"name":"/var/log/app/d.log","flags":"O_WRONLY|O_APPEND"},` + proc("/bin/busybox") + `,"fd":{"num":3,"type":"file","name":"/var/log/app/d.log"},` + ctr + `}`,
		`{"ts":3,"type":"connect","res":0,"args":{"fd":4},` + proc("/bin/busybox") + `,"fd":{"num":4,"type":"ipv4","l4proto":"tcp","cip":"172.17.0.2","cport":40000,"sip":"10.0.0.5","sport":5432},` + ctr + `}`,
		`{"ts":4,"type":"listen","res":0,"args":{"fd":5},` + proc("/bin/busybox") + `,"fd":{"num":5,"type":"ipv4","l4proto":"tcp","sip":"0.0.0.0","sport":8080,"server":true},` + ctr + `}`,
	}
	for i := 0; i < 3; i++ {
		lines = append(lines, `{"ts":10,"type":"execve","res":0,"args":{"filename":"/bin/wget"},`+proc("/bin/busybox")+`,`+ctr+`}`)
	}
	lines = append(lines,
		`{"ts":11,"type":"execve","res":0,"args":{"filename":"/tmp/payload"},`+proc("/tmp/payload")+`,`+ctr+`}`,
		`{"ts":12,"type":"openat","res":3,"args":{"fd":3,"name":"/usr/bin/evil","flags":"O_WRONLY|O_CREAT"},`+proc("/bin/busybox")+`,"fd":{"num":3,"type":"file","name":"/usr/bin/evil"},`+ctr+`}`,
		`{"ts":13,"type":"connect","res":0,"args":{"fd":4},`+proc("/bin/busybox")+`,"fd":{"num":4,"type":"ipv4","l4proto":"tcp","cip":"172.17.0.2","cport":40001,"sip":"10.0.0.5","sport":4444},`+ctr+`}`,
		`{"ts":14,"type":"listen","res":0,"args":{"fd":5},`+proc("/bin/busybox")+`,"fd":{"num":5,"type":"ipv4","l4proto":"tcp","sip":"0.0.0.0","sport":9001,"server":true},`+ctr+`}`,
		`{"ts":15,"type":"ptrace","res":0,"args":{"request":16,"pid":1},`+proc("/bin/busybox")+`,`+ctr+`}`,
		// CHOWN twice (one alert), NET_BIND_SERVICE is in the baseline,
		// a denied NET_RAW gave nothing: one capability alert.
		`{"ts":16,"type":"cap_capable","res":0,"args":{"cap":{"str":"CAP_CHOWN","int":0}},`+proc("/bin/busybox")+`,`+ctr+`}`,
		`{"ts":17,"type":"cap_capable","res":0,"args":{"cap":"CAP_CHOWN"},`+proc("/bin/busybox")+`,`+ctr+`}`,
		`{"ts":18,"type":"cap_capable","res":0,"args":{"cap":{"str":"CAP_NET_BIND_SERVICE","int":10}},`+proc("/bin/busybox")+`,`+ctr+`}`,
		`{"ts":19,"type":"cap_capable","res":-1,"args":{"cap":{"str":"CAP_NET_RAW","int":13}},`+proc("/bin/busybox")+`,`+ctr+`}`,
	)
	return strings.Join(lines, "\n") + "\n"
}

func writeTestRecording(t *testing.T, dir string) string {
	r := record.New()
	r.Sources = []record.Source{{Container: "web-1", Start: "2026-12-06T04:00:00Z", End: "2026-12-06T04:05:00Z", Ended: "duration"}}
	r.Syscalls["x86_64"] = map[string]uint64{"read": 10, "openat": 5, "execve": 2, "connect": 1, "listen": 1}
	r.Executables = []string{"/bin/busybox"}
	r.Programs = []string{"/bin/httpd", "/bin/sh"}
	r.Files.Write = []string{"/var/log/app/a.log", "/var/log/app/b.log", "/var/log/app/c.log"}
	r.Connect = []record.Endpoint{{Family: "inet", Proto: "tcp", IP: "10.0.0.5", Port: 5432}}
	r.Listen = []record.Endpoint{{Family: "inet", Proto: "tcp", IP: "0.0.0.0", Port: 8080}}
	r.Caps.Collected, r.Caps.Source, r.Caps.Reason = true, record.CapSource, ""
	r.Caps.Checked = []record.CheckedCap{{Name: "NET_BIND_SERVICE", Granted: 1, Needed: true}}
	data, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "web.rec.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReplayDriftOneAlertPerItem(t *testing.T) {
	dir := t.TempDir()
	rec := writeTestRecording(t, dir)
	bdir := filepath.Join(dir, "baselines")
	os.Mkdir(bdir, 0o755)
	code, _, errs := run(t, "", "baseline", "from-recording", rec, "--image", "web:1", "--out", filepath.Join(bdir, "web.json"))
	if code != 0 {
		t.Fatalf("from-recording exit %d: %s", code, errs)
	}
	code, out, errs := run(t, "", "baseline", "show", filepath.Join(bdir, "web.json"))
	if code != 0 || !strings.Contains(out, "/var/log/app/*") || !strings.Contains(out, "web:1") {
		t.Fatalf("show exit %d: %s %s", code, out, errs)
	}
	code, out, errs = run(t, driftJSONL(), "replay", "-", "--baselines", bdir, "-o", "json")
	if code != 0 {
		t.Fatalf("replay exit %d: %s", code, errs)
	}
	want := map[string]string{
		"Drift program not in baseline":             "/bin/wget",
		"Drift write outside baseline":              "/usr/bin/evil",
		"Drift outbound connection not in baseline": "4444",
		"Drift listening port not in baseline":      "9001",
		"Drift syscall not in baseline":             "ptrace",
		"Drift capability not in baseline":          "capability=CAP_CHOWN",
	}
	got := map[string][]string{}
	others := 0 // the built-in rules' alerts on the same events
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a struct {
			Rule   string
			Output string
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if strings.HasPrefix(a.Rule, "Drift") {
			got[a.Rule] = append(got[a.Rule], a.Output)
		} else {
			others++
		}
	}
	for rule, item := range want {
		outs := got[rule]
		n := 1
		if rule == "Drift program not in baseline" {
			n = 2 // wget (three runs, one alert) and /tmp/payload
		}
		if len(outs) != n {
			t.Errorf("%s: %d alerts, want %d: %v", rule, len(outs), n, outs)
			continue
		}
		if !strings.Contains(outs[0], item) || !strings.Contains(outs[0], "baseline=web.json") {
			t.Errorf("%s: %q lacks %s or the baseline", rule, outs[0], item)
		}
	}
	if len(got) != len(want) {
		t.Errorf("rules alerted: %v", got)
	}
	if others == 0 {
		t.Error("the built-in rules lost their alerts to the drift rules")
	}
	if !strings.Contains(errs, "3 repeated drift alerts counted") {
		t.Errorf("summary: %s", errs)
	}
	// The same events without --baselines raise no drift alert.
	_, out, _ = run(t, driftJSONL(), "replay", "-", "-o", "json")
	if strings.Contains(out, "Drift") {
		t.Errorf("drift without baselines: %s", out)
	}
}

func TestBaselineBadFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{\"palisade_baseline\": 1,\n \"workload\": {\"image\": \"web\"},\n \"arch\": \"sparc\"\n}\n"), 0o644)
	code, _, errs := run(t, driftJSONL(), "replay", "-", "--baselines", dir)
	if code != 2 || !strings.Contains(errs, "bad.json:3:") || !strings.Contains(errs, "sparc") {
		t.Errorf("exit %d: %s", code, errs)
	}
}

func TestBaselineProfile(t *testing.T) {
	dir := t.TempDir()
	rec := writeTestRecording(t, dir)
	b := filepath.Join(dir, "web.json")
	if code, _, errs := run(t, "", "baseline", "from-recording", rec, "--image", "web:1", "--out", b); code != 0 {
		t.Fatal(errs)
	}
	code, out, errs := run(t, "", "baseline", "profile", "seccomp", b, "--complain")
	if code != 0 || !strings.Contains(out, `"defaultAction": "SCMP_ACT_LOG"`) || !strings.Contains(out, `"listen"`) {
		t.Errorf("exit %d: %s %s", code, out, errs)
	}
	code, out, _ = run(t, "", "baseline", "profile", "seccomp", b)
	if code != 0 || !strings.Contains(out, `"defaultAction": "SCMP_ACT_ERRNO"`) {
		t.Errorf("enforcing profile: %s", out)
	}
	code, out, errs = run(t, "", "baseline", "profile", "docker", b, "--seccomp-file", "web-seccomp.json")
	if code != 0 || !strings.Contains(out, "seccomp=web-seccomp.json") {
		t.Errorf("docker flags exit %d: %s %s", code, out, errs)
	}
}

func TestRunBaselineRefusesLearned(t *testing.T) {
	dir := t.TempDir()
	rec := writeTestRecording(t, dir)
	b := filepath.Join(dir, "web.json")
	if code, _, errs := run(t, "", "baseline", "from-recording", rec, "--image", "web:1", "--out", b); code != 0 {
		t.Fatal(errs)
	}
	data, _ := os.ReadFile(b)
	os.WriteFile(b, []byte(strings.Replace(string(data), `"syscalls_complete": true`, `"syscalls_complete": false`, 1)), 0o644)
	code, _, errs := run(t, "", "run", "--baseline", b, "--", "true")
	if code != 125 || !strings.Contains(errs, "learned baseline") {
		t.Errorf("exit %d: %s", code, errs)
	}
	code, _, errs = run(t, "", "baseline", "profile", "seccomp", b)
	if code != 2 || !strings.Contains(errs, "learned baseline") {
		t.Errorf("profile exit %d: %s", code, errs)
	}
}
