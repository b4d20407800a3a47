package baseline

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/record"
)

func testRecording(container, start string) *record.Recording {
	r := record.New()
	r.Sources = []record.Source{{Container: container, Start: start, End: start, Ended: "duration"}}
	r.Syscalls["x86_64"] = map[string]uint64{"read": 10, "write": 5, "execve": 2}
	r.Executables = []string{"/bin/busybox"}
	r.Programs = []string{"/bin/httpd", "/bin/sh"}
	r.Files.Write = []string{"/var/log/app/a.log", "/var/log/app/b.log", "/var/log/app/c.log", "/dev/null", "/tmp/x"}
	r.Connect = []record.Endpoint{{Family: "inet", Proto: "tcp", IP: "10.0.0.5", Port: 5432}, {Family: "unix", Path: "/run/x.sock"}}
	r.Listen = []record.Endpoint{{Family: "inet", Proto: "tcp", IP: "0.0.0.0", Port: 8080}}
	r.UIDs = []uint32{0}
	return r
}

var web = Workload{Image: "web", Tag: "1"}

func TestFromRecordingRoundTrip(t *testing.T) {
	b, err := FromRecording(testRecording("web-1", "2026-12-06T04:00:00Z"), web)
	if err != nil {
		t.Fatal(err)
	}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("web.json", data, "x86_64")
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	again, _ := got.Marshal()
	if !bytes.Equal(data, again) {
		t.Errorf("not stable:\n%s\n---\n%s", data, again)
	}
	for _, want := range []string{`"name":"/var/log/app/*"`, `"name":"/dev/null"`, `"name":"tcp 10.0.0.5:5432"`, `"name":"tcp 8080"`, `"name":"/bin/httpd"`, `"reviewed": false`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("baseline lacks %s:\n%s", want, data)
		}
	}
	if bytes.Contains(data, []byte("x.sock")) {
		t.Errorf("unix socket connect kept as a destination")
	}
}

func TestMergeReplicas(t *testing.T) {
	a, _ := FromRecording(testRecording("web-1", "2026-12-06T04:00:00Z"), web)
	r2 := testRecording("web-2", "2026-12-06T05:00:00Z")
	r2.Programs = append(r2.Programs, "/bin/wget")
	b, _ := FromRecording(r2, web)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.FirstSeen != "2026-12-06T04:00:00Z" || m.LastSeen != "2026-12-06T05:00:00Z" || len(m.Sources) != 2 {
		t.Errorf("seen %s..%s sources %v", m.FirstSeen, m.LastSeen, m.Sources)
	}
	if len(m.Programs) != 3 {
		t.Errorf("programs %v, want the union of 3", m.Programs)
	}
	for _, it := range m.Syscalls["x86_64"] {
		if it.Name == "read" && it.Count != 20 {
			t.Errorf("read counted %d, want 20", it.Count)
		}
	}
	other := *b
	other.Arch = "aarch64"
	if _, err := Merge(a, &other); err == nil || !strings.Contains(err.Error(), "aarch64") {
		t.Errorf("merging another arch: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	b, _ := FromRecording(testRecording("web-1", "2026-12-06T04:00:00Z"), web)
	good, _ := b.Marshal()
	s := string(good)
	cases := []struct{ name, data, want string }{
		{"empty", "", "empty file"},
		{"truncated", s[:len(s)/2], "unexpected end of file"},
		{"not json", "hello", "invalid character"},
		{"unknown key", strings.Replace(s, `"reviewed"`, `"reviewd"`, 1), `x.json:3:3: unknown key "reviewd"`},
		{"unknown key later", strings.Replace(s, `"listen"`, `"listens"`, 1), `unknown key "listens"`},
		{"repeated key", strings.Replace(s, `"reviewed": false`, `"reviewed": false, "reviewed": true`, 1), `key "reviewed" repeated`},
		{"bad dest", strings.Replace(s, "tcp 10.0.0.5:5432", "tcp 10.0.0.5:99999", 1), "port \"99999\""},
		{"bad glob", strings.Replace(s, "/var/log/app/*", "/var/lo**g/*", 1), "** must be a whole path element"},
		{"relative path", strings.Replace(s, `"name":"/bin/busybox"`, `"name":"bin/busybox"`, 1), "not an absolute path"},
		{"unknown syscall", strings.Replace(s, `"name":"read"`, `"name":"reed"`, 1), `no syscall "reed"`},
		{"unknown cap", strings.Replace(s, `"capabilities": []`, `"capabilities": [{"name":"GOD_MODE","count":1}]`, 1), "unknown capability"},
		{"wrong type", strings.Replace(s, `"reviewed": false`, `"reviewed": "yes"`, 1), "want bool"},
		{"trailing", s + "{}", "data after the baseline"},
		{"version", strings.Replace(s, `"palisade_baseline": 1`, `"palisade_baseline": 9`, 1), "version 9"},
		{"other arch", strings.Replace(strings.Replace(s, `"arch": "x86_64"`, `"arch": "aarch64"`, 1), `"x86_64": [`, `"aarch64": [`, 1), "baseline for aarch64, this machine captures x86_64"},
		{"control in image", strings.Replace(s, `"image":"web"`, `"image":"we\u001b[31mb"`, 1), "printable ASCII"},
		{"item twice", strings.Replace(s, `"name":"/bin/httpd"`, `"name":"/bin/sh"`, 1), "listed twice"},
		{"missing syscalls", strings.Replace(s, `"syscalls": {`, `"syscallz": {`, 1), `unknown key "syscallz"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse("x.json", []byte(c.data), "x86_64")
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if got != nil {
				t.Errorf("returned a baseline with the error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "x.json") {
				t.Errorf("error %q, want x.json... %q", err, c.want)
			}
			if strings.ContainsAny(err.Error(), "\n\x1b") {
				t.Errorf("error not one escaped line: %q", err)
			}
		})
	}
	// Positions name the offending line.
	bad := strings.Replace(s, "tcp 10.0.0.5:5432", "tcp nowhere:1", 1)
	_, err := Parse("x.json", []byte(bad), "x86_64")
	line := 1 + strings.Count(bad[:strings.Index(bad, "nowhere")], "\n")
	if err == nil || !strings.HasPrefix(err.Error(), "x.json:"+strconv.Itoa(line)+":") {
		t.Errorf("error %v, want at line %d", err, line)
	}
}

func TestIndexLookups(t *testing.T) {
	b := New(web)
	b.Executables = []Item{{Name: "/bin/busybox"}}
	b.Programs = []Item{{Name: "/bin/httpd"}, {Name: "/bin/sh"}}
	b.Writes = []Item{{Name: "/var/log/*"}, {Name: "/data/**"}, {Name: "/proc/*/oom_score_adj"}, {Name: "/etc/app.conf"}}
	b.Destinations = []Item{{Name: "tcp 10.0.0.5:5432"}, {Name: "udp 10.96.0.0/12:53"}, {Name: "tcp [fd00::1]:*"}}
	b.Listen = []Item{{Name: "tcp 8080"}}
	b.Syscalls["x86_64"] = []Item{{Name: "read"}}
	x := Compile(b, "web.json")
	exe := []struct {
		exe, prog string
		want      bool
	}{{"/bin/busybox", "/bin/httpd", true}, {"/bin/busybox", "/bin/wget", false}, {"/tmp/x", "/tmp/x", false}, {"/bin/busybox", "", true}}
	for _, c := range exe {
		if got := x.ExeKnown(c.exe, c.prog); got != c.want {
			t.Errorf("ExeKnown(%s, %s) = %v", c.exe, c.prog, got)
		}
	}
	writes := map[string]bool{"/var/log/a": true, "/var/log/a/b": false, "/data/x/y/z": true, "/data": false,
		"/proc/12/oom_score_adj": true, "/etc/app.conf": true, "/usr/bin/x": false, "/etc/app.conf2": false, "/var/lo": false}
	for p, want := range writes {
		if got := x.WriteKnown(p); got != want {
			t.Errorf("WriteKnown(%s) = %v", p, got)
		}
	}
	dests := []struct {
		proto, addr string
		port        uint16
		want        bool
	}{{"tcp", "10.0.0.5", 5432, true}, {"tcp", "10.0.0.5", 5433, false}, {"udp", "10.100.0.10", 53, true}, {"tcp", "10.100.0.10", 53, false},
		{"tcp", "fd00::1", 9, true}, {"tcp", "::ffff:10.0.0.5", 5432, true}, {"tcp", "1.2.3.4", 5432, false}}
	for _, c := range dests {
		if got := x.DestKnown(c.proto, netip.MustParseAddr(c.addr), c.port); got != c.want {
			t.Errorf("DestKnown(%s %s:%d) = %v", c.proto, c.addr, c.port, got)
		}
	}
	if !x.ListenKnown("tcp", 8080) || x.ListenKnown("tcp", 9090) || x.ListenKnown("udp", 8080) {
		t.Error("ListenKnown")
	}
	if !x.SyscallKnown(event.TypeOf("read")) || x.SyscallKnown(event.TypeOf("ptrace")) {
		t.Error("SyscallKnown")
	}
}

var webCtr = &event.Container{ID: "0123456789ab", Name: "web-1", ImageRepository: "web", ImageTag: "1"}

func execEvent(c *event.Container, ts int64, exe, prog string) *event.Event {
	return &event.Event{Time: ts, Type: event.TypeOf("execve"), Dir: event.DirExit, HasRes: true,
		Args: []event.Arg{{Name: "filename", Str: prog}},
		Proc: &event.Process{PID: 10, ExePath: exe, Cwd: "/", Container: c}}
}

func TestSetBindAndReport(t *testing.T) {
	b := New(web)
	b.Executables, b.Programs = []Item{{Name: "/bin/busybox"}}, []Item{{Name: "/bin/httpd"}}
	other := New(Workload{Image: "web", Tag: "1", Container: "web-2"})
	set := NewSet(Compile(b, "web.json"), Compile(other, "web-2.json"))
	e := execEvent(webCtr, 1, "/bin/busybox", "/bin/wget")
	set.Bind(e)
	if e.Baseline == nil || e.Baseline.Name() != "web.json" {
		t.Fatalf("bound %v", e.Baseline)
	}
	if known, ok := e.Baseline.Known(event.BaselineExe, e); known || !ok {
		t.Errorf("wget known=%v ok=%v", known, ok)
	}
	c2 := *webCtr
	c2.Name, c2.ID = "web-2", "cccccccccccc"
	e2 := execEvent(&c2, 1, "/bin/busybox", "/bin/wget")
	set.Bind(e2)
	if e2.Baseline == nil || e2.Baseline.Name() != "web-2.json" {
		t.Errorf("web-2 bound to %v, want its own (container name is more specific)", e2.Baseline)
	}
	host := execEvent(nil, 1, "/bin/busybox", "/bin/wget")
	set.Bind(host)
	if host.Baseline != nil {
		t.Error("host bound to a baseline")
	}
	tags := []string{"drift"}
	if !set.Report("R", tags, e) || set.Report("R", tags, e) || set.Report("R", tags, e) {
		t.Error("one alert per item and container")
	}
	if set.Repeats() != 2 {
		t.Errorf("repeats %d", set.Repeats())
	}
	if !set.Report("R", tags, execEvent(webCtr, 1, "/bin/busybox", "/bin/nc")) {
		t.Error("a new item alerts")
	}
	if !set.Report("R", tags, e2) {
		t.Error("another container alerts for the same item")
	}
	if !set.Report("R", nil, e) || !set.Report("R", nil, e) {
		t.Error("untagged rules are never kept back")
	}
}

func TestLearnWritesThenDetects(t *testing.T) {
	dir := t.TempDir()
	set := NewSet()
	var log bytes.Buffer
	if err := set.Learn(dir, 10*time.Second, &log); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC).UnixNano()
	r2 := &event.Container{ID: "bbbbbbbbbbbb", Name: "web-2", ImageRepository: "web", ImageTag: "1"}
	for i, c := range []*event.Container{webCtr, r2} {
		e := execEvent(c, t0+int64(i), "/bin/busybox", []string{"/bin/httpd", "/bin/sh"}[i])
		set.Bind(e)
		if e.Baseline != nil {
			t.Fatal("bound while learning")
		}
	}
	if set.Learning() != 1 {
		t.Fatalf("learning %d workloads, want 1 for two replicas", set.Learning())
	}
	after := execEvent(webCtr, t0+int64(11*time.Second), "/bin/busybox", "/bin/wget")
	set.Bind(after)
	if after.Baseline == nil {
		t.Fatalf("not detecting after the window; log: %s", log.String())
	}
	if known, _ := after.Baseline.Known(event.BaselineExe, after); known {
		t.Error("wget known")
	}
	sh := execEvent(r2, t0+int64(12*time.Second), "/bin/busybox", "/bin/sh")
	set.Bind(sh)
	if known, _ := sh.Baseline.Known(event.BaselineExe, sh); !known {
		t.Error("the other replica's program is not in the merged baseline")
	}
	file := filepath.Join(dir, "web_1.json")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(file, data, "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Sources) != 2 || b.SyscallsComplete || len(b.Programs) != 2 {
		t.Errorf("learned %+v", b)
	}

	// A reviewed baseline is never overwritten: learning loads it.
	b.Reviewed = true
	b.Programs = append(b.Programs, Item{Name: "/bin/wget", Count: 1})
	data, _ = b.Marshal()
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	set2 := NewSet()
	set2.Learn(dir, time.Second, &log)
	set2.Bind(execEvent(webCtr, t0, "/bin/busybox", "/bin/httpd"))
	e := execEvent(webCtr, t0+int64(2*time.Second), "/bin/busybox", "/bin/wget")
	set2.Bind(e)
	if e.Baseline == nil {
		t.Fatal("not bound")
	}
	if known, _ := e.Baseline.Known(event.BaselineExe, e); !known {
		t.Error("the reviewed baseline was replaced")
	}
	now, _ := os.ReadFile(file)
	if !bytes.Equal(now, data) {
		t.Error("the reviewed file changed")
	}
}

func TestFileName(t *testing.T) {
	w := Workload{Image: "registry.example:5000/team/web", Tag: "1.2", Container: "../../etc"}
	if got := FileName(w); got != "registry.example_5000_team_web_1.2_c-.._.._etc.json" || strings.Contains(got, "/") {
		t.Errorf("FileName = %q", got)
	}
}

func TestParseImage(t *testing.T) {
	w, err := ParseImage("registry.example:5000/web:1.2")
	if err != nil || w.Image != "registry.example:5000/web" || w.Tag != "1.2" {
		t.Errorf("%+v %v", w, err)
	}
	if _, err := ParseImage("web@sha256:abc"); err == nil {
		t.Error("short digest accepted")
	}
}

func FuzzParse(f *testing.F) {
	b, _ := FromRecording(testRecording("web-1", "2026-12-06T04:00:00Z"), web)
	good, _ := b.Marshal()
	f.Add(good)
	f.Add([]byte(`{"palisade_baseline":1}`))
	f.Add([]byte(`{"palisade_baseline":1,"workload":{"image":"x"},"arch":"x86_64","syscalls":{"x86_64":[{"name":"read","count":1}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse("f.json", data, "x86_64")
		if err != nil {
			if b != nil {
				t.Fatal("baseline with an error")
			}
			if strings.ContainsAny(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		out, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("again.json", out, "x86_64"); err != nil {
			t.Fatalf("re-parse of a valid baseline: %v\n%s", err, out)
		}
		Compile(b, "f.json")
	})
}

func capEvent(c *event.Container, ts int64, name string, n int, res int64) *event.Event {
	return &event.Event{Time: ts, Type: event.TypeOf("cap_capable"), Dir: event.DirExit, HasRes: true, Res: res,
		Args: []event.Arg{{Name: "cap", Str: name, Int: int64(n), HasInt: true}},
		Proc: &event.Process{PID: 10, ExePath: "/bin/busybox", Cwd: "/", Container: c}}
}

// baseline.cap_known: a capability check is known when the capability
// is in the baseline's capabilities; drift alerts once per container and
// capability; learning keeps the granted checks only.
func TestCapabilityKnownReportLearn(t *testing.T) {
	b := New(web)
	b.Capabilities = []Item{{Name: "NET_BIND_SERVICE"}, {Name: "SETUID"}}
	x := Compile(b, "web.json")
	for _, c := range []struct {
		name string
		n    int
		want bool
	}{{"CAP_NET_BIND_SERVICE", 10, true}, {"CAP_SETUID", 7, true}, {"CAP_CHOWN", 0, false}, {"CAP_NET_RAW", 13, false}} {
		known, ok := x.Known(event.BaselineCap, capEvent(webCtr, 1, c.name, c.n, 0))
		if !ok || known != c.want {
			t.Errorf("%s: known=%v ok=%v", c.name, known, ok)
		}
	}
	// A hand-written event names the capability only.
	byName := capEvent(webCtr, 1, "CAP_SETUID", 0, 0)
	byName.Args[0].HasInt = false
	if known, ok := x.Known(event.BaselineCap, byName); !known || !ok {
		t.Errorf("by name: known=%v ok=%v", known, ok)
	}
	if _, ok := x.Known(event.BaselineCap, execEvent(webCtr, 1, "/bin/busybox", "/bin/sh")); ok {
		t.Error("cap_known has a value for an exec")
	}

	set := NewSet(x)
	tags := []string{"drift"}
	chown := capEvent(webCtr, 1, "CAP_CHOWN", 0, 0)
	if got := ItemOf(chown); got != "cap CHOWN" {
		t.Errorf("item %q", got)
	}
	if !set.Report("R", tags, chown) || set.Report("R", tags, capEvent(webCtr, 2, "CAP_CHOWN", 0, 0)) {
		t.Error("one alert per capability and container")
	}
	if !set.Report("R", tags, capEvent(webCtr, 3, "CAP_NET_RAW", 13, 0)) {
		t.Error("another capability alerts")
	}

	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC).UnixNano()
	l := NewLearner(web, t0)
	l.Add(capEvent(webCtr, t0, "CAP_CHOWN", 0, 0))
	l.Add(capEvent(webCtr, t0+1, "CAP_CHOWN", 0, 0))
	l.Add(capEvent(webCtr, t0+2, "CAP_NET_RAW", 13, -1)) // denied: gave nothing
	l.Add(capEvent(webCtr, t0+3, "CAP_63", 63, 0))       // unknown: could not be read back
	lb := l.Baseline(t0 + 10)
	if len(lb.Capabilities) != 1 || lb.Capabilities[0].Name != "CHOWN" || lb.Capabilities[0].Count != 2 {
		t.Errorf("learned capabilities %+v", lb.Capabilities)
	}
	if len(lb.Syscalls[lb.Arch]) != 0 {
		t.Errorf("a capability check learned as a syscall: %+v", lb.Syscalls)
	}
	data, err := lb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("learned.json", data, "x86_64"); err != nil {
		t.Errorf("learned baseline does not parse: %v", err)
	}
}
