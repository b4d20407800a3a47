package rules

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/replay"
)

// parseEvents reads JSONL events for tests.
func parseEvents(t testing.TB, lines ...string) []*event.Event {
	t.Helper()
	r := replay.NewReader(strings.NewReader(strings.Join(lines, "\n")), "test")
	var out []*event.Event
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

// compileOne builds a ruleset from extra YAML plus one rule with cond.
func compileOne(t testing.TB, extra, cond string) *Ruleset {
	t.Helper()
	y := extra + fmt.Sprintf("\n- rule: r\n  desc: d\n  output: out %%proc.name\n  priority: warning\n  condition: %q\n", cond)
	rs, res := Load([]File{{Name: "test.yaml", Data: []byte(y)}}, Options{Hostname: "h"})
	if len(res.Errors) > 0 {
		t.Fatalf("compile %q: %v", cond, res.Errors)
	}
	return rs
}

func matches(rs *Ruleset, e *event.Event) bool { return len(rs.Eval(e, nil)) > 0 }

// The events the operator table is evaluated against.
var (
	evOpenShadow = `{"ts":1000,"type":"openat","res":3,"args":{"fd":3,"name":"/etc/shadow","flags":"O_RDONLY|O_CLOEXEC","mode":0},` +
		`"proc":{"pid":100,"name":"cat","exe":"cat","exepath":"/usr/bin/cat","args":["/etc/shadow"],"uid":0,"gid":0,"user":"root","tty":34816,` +
		`"env":["HOME=/root","PATH=/bin"],"cwd":"/etc","parent":{"pid":90,"name":"bash","exepath":"/bin/bash","args":["-i"],"parent":{"pid":80,"name":"sshd","exepath":"/usr/sbin/sshd"}}},` +
		`"fd":{"num":3,"type":"file","name":"/etc/shadow"},` +
		`"container":{"id":"0123456789ab","name":"web","image":"nginx:1.25","image_repository":"nginx","image_tag":"1.25","privileged":false,"mounts":[{"source":"/var/run/docker.sock","dest":"/var/run/docker.sock","rw":true}]}}`
	evConnect = `{"ts":2000,"type":"connect","res":0,"args":{"fd":5},"proc":{"pid":200,"name":"curl","args":["http://x"],"uid":1000,"gid":1000,"user":"app"},` +
		`"fd":{"num":5,"type":"ipv4","l4proto":"tcp","cip":"172.17.0.2","cport":40000,"sip":"10.1.2.3","sport":443,"connected":true},"container":{"id":"0123456789ab","name":"web"}}`
	evFailedOpen = `{"ts":3000,"type":"open","res":-2,"args":{"name":"/nope","flags":"O_WRONLY|O_CREAT"},"proc":{"pid":300,"name":"touch","uid":0,"gid":0},"fd":{"num":-1,"type":"file","name":"/nope"}}`
	evHostExec   = `{"ts":4000,"type":"execve","res":0,"proc":{"pid":400,"name":"ls","args":["-la","/tmp"],"uid":0,"gid":0,"user":"root"}}`
)

func TestOperators(t *testing.T) {
	evs := parseEvents(t, evOpenShadow, evConnect, evFailedOpen, evHostExec)
	shadow, conn, failed, host := evs[0], evs[1], evs[2], evs[3]
	for _, tc := range []struct {
		cond     string
		yes, not []*event.Event
	}{
		{"evt.type = openat", ev(shadow), ev(conn, failed, host)},
		{"evt.type in (open, openat)", ev(shadow, failed), ev(conn, host)},
		{"evt.type != openat", ev(conn, failed, host), ev(shadow)},
		{"evt.type == connect", ev(conn), ev(shadow)},
		{"proc.name = cat", ev(shadow), ev(conn, failed)},
		{"proc.name != cat", ev(conn, failed, host), ev(shadow)},
		{"fd.num >= 0", ev(shadow, conn), ev(failed, host)},
		{"fd.num < 0", ev(failed), ev(shadow, host)},
		{"fd.num <= 3", ev(shadow, failed), ev(conn)},
		{"fd.num > 3", ev(conn), ev(shadow, failed)},
		{"user.uid in (0, 1000)", ev(shadow, conn, failed), nil},
		{"fd.name contains shad", ev(shadow), ev(failed)},
		{"fd.name icontains SHAD", ev(shadow), ev(failed)},
		{"fd.name startswith /etc", ev(shadow), ev(failed)},
		{"fd.name endswith dow", ev(shadow), ev(failed)},
		{"fd.name bcontains 736861", ev(shadow), ev(failed)},
		{"fd.name bstartswith 2f657463", ev(shadow), ev(failed)},
		{"fd.name glob '/etc/*ad?w'", ev(shadow), ev(failed)},
		{"fd.name glob '/etc/[a-s]hadow'", ev(shadow), ev(failed)},
		{"fd.name glob '/etc/[!s]hadow'", nil, ev(shadow)},
		{"fd.name iglob '/ETC/SHADOW'", ev(shadow), ev(failed)},
		{"fd.name regex '/etc/s.*w'", ev(shadow), ev(failed)},
		{"fd.name regex 'shadow'", nil, ev(shadow)}, // regex matches the whole value
		{"fd.name pmatch (/etc, /usr/lib)", ev(shadow), ev(failed)},
		{"fd.name pmatch (/et)", nil, ev(shadow)},
		{"fd.directory = /etc and fd.filename = shadow", ev(shadow), ev(failed)},
		{"fd.name in (/etc/passwd, /etc/shadow)", ev(shadow), ev(failed)},
		{"proc.args intersects (\"-la /tmp\", -x)", ev(host), ev(shadow)},
		{"container.id exists", ev(shadow, conn, failed, host), nil},
		{"fd.sip exists", ev(conn), ev(shadow, host)},
		{"container.id = host", ev(failed, host), ev(shadow, conn)},
		{"container.id != host", ev(shadow, conn), ev(failed, host)},
		{"container.name = web and container.image.repository = nginx and container.image.tag = \"1.25\"", ev(shadow), ev(conn)},
		{"container.privileged = false", ev(shadow), ev(conn, host)},
		{"container.mount.dest[/var/run/docker.sock] = /var/run/docker.sock", ev(shadow), ev(conn)},
		{"not container.mount.dest[/var/run/docker.sock] in (\"<NA>\")", ev(shadow), ev(conn)},
		{"proc.pname = bash and proc.aname[2] = sshd and proc.aname[0] = cat", ev(shadow), ev(conn)},
		{"proc.aname = sshd", ev(shadow), ev(conn)},
		{"proc.aname in (bash, nope)", ev(shadow), ev(conn)},
		{"proc.apid[1] = 90", ev(shadow), ev(conn)},
		{"proc.pexepath = /bin/bash and proc.pcmdline = \"bash -i\"", ev(shadow), ev(conn)},
		{"proc.cmdline = \"cat /etc/shadow\" and proc.exepath = /usr/bin/cat", ev(shadow), ev(conn)},
		{"proc.env contains \"HOME=/root\" and proc.env[PATH] = /bin", ev(shadow), ev(conn)},
		{"proc.tty != 0", ev(shadow), ev(conn)},
		{"proc.cwd = /etc/", ev(shadow), ev(conn)}, // Falco's cwd ends with a slash
		{"evt.is_open_read = true", ev(shadow), ev(failed, conn)},
		{"evt.is_open_write = true and evt.is_open_create = true", ev(failed), ev(shadow)},
		{"evt.arg.flags contains O_CLOEXEC", ev(shadow), ev(failed)},
		{"evt.arg.fd = 3 and evt.arg[0] = 3 and evt.rawarg.fd = 3", ev(shadow), ev(conn)},
		{"evt.arg.fd > 4", ev(conn), ev(shadow)},
		{"evt.res = SUCCESS", ev(shadow, conn), ev(failed)},
		{"evt.res = ENOENT and evt.rawres = -2 and evt.failed = true", ev(failed), ev(shadow)},
		{"evt.res startswith E", ev(failed), ev(shadow)},
		{"fd.typechar = f and fd.type = file", ev(shadow, failed), ev(conn)},
		{"fd.typechar = 4 and fd.l4proto = tcp and fd.sockfamily = ip", ev(conn), ev(shadow)},
		{"fd.sip = 10.1.2.3 and fd.sport = 443 and fd.cport = 40000", ev(conn), ev(shadow)},
		{"fd.snet in (10.0.0.0/8) and fd.cnet = 172.16.0.0/12", ev(conn), ev(shadow)},
		{"not fd.snet in (127.0.0.0/8)", ev(conn, shadow), nil}, // a missing field never matches, so not() does
		{"fd.rip = 10.1.2.3 and fd.lip = 172.17.0.2 and fd.rport = 443 and fd.lport = 40000", ev(conn), ev(shadow)},
		{"fd.ip = 10.1.2.3", ev(conn), ev(shadow)},
		{"fd.net = 172.17.0.0/16", ev(conn), ev(shadow)},
		{"fd.port = 40000 and fd.port = 443", ev(conn), ev(shadow)},
		{"fd.name = \"172.17.0.2:40000->10.1.2.3:443\"", ev(conn), ev(shadow)},
		{"user.name = root and group.gid = 0", ev(shadow, host), ev(conn)},
		{"tolower(proc.name) = cat", ev(shadow), ev(conn)},
		{"toupper(proc.name) = CAT", ev(shadow), ev(conn)},
		{"basename(fd.name) = shadow", ev(shadow), ev(failed)},
		{"len(fd.name) = 11", ev(shadow), ev(failed)},
		{"len(proc.name) > 3", ev(conn), ev(shadow)},
		{"proc.pname = val(proc.aname[1])", ev(shadow), ev(host)},
		{"proc.name = val(proc.pname)", nil, ev(shadow)},
		{"fd.num = val(evt.rawarg.fd)", ev(shadow, conn), ev(failed)},
		{"proc.name = cat or proc.name = curl", ev(shadow, conn), ev(failed)},
		{"proc.name = cat and not fd.name = /etc/shadow", nil, ev(shadow)},
		{"not proc.name = cat and not proc.name = curl", ev(failed, host), ev(shadow, conn)},
		{"(proc.name = cat or proc.name = touch) and evt.type = open", ev(failed), ev(shadow)},
	} {
		rs := compileOne(t, "", tc.cond)
		for _, e := range tc.yes {
			if !matches(rs, e) {
				t.Errorf("%s: event %d (%s) should match", tc.cond, e.Num, e.Type)
			}
		}
		for _, e := range tc.not {
			if matches(rs, e) {
				t.Errorf("%s: event %d (%s) must not match", tc.cond, e.Num, e.Type)
			}
		}
	}
}

func ev(es ...*event.Event) []*event.Event { return es }

func TestMacrosListsAndNesting(t *testing.T) {
	extra := `
- list: shells
  items: [bash, sh]
- list: all_procs
  items: [shells, cat, '"quoted item"']
- macro: is_shellish
  condition: proc.name in (all_procs)
- macro: nested
  condition: is_shellish and evt.type = openat
`
	evs := parseEvents(t, evOpenShadow, evConnect)
	rs := compileOne(t, extra, "nested")
	if !matches(rs, evs[0]) || matches(rs, evs[1]) {
		t.Fatal("macro/list expansion wrong")
	}
	ex, _ := rs.Explain("r")
	if want := `(proc.name in (bash, sh, cat, "quoted item") and evt.type = openat)`; ex.Expanded != want {
		t.Errorf("expanded = %s\nwant       %s", ex.Expanded, want)
	}
	if strings.Join(ex.EventTypes, ",") != "openat" {
		t.Errorf("event types = %v", ex.EventTypes)
	}
}

func TestRuleMatchingFirstAndAll(t *testing.T) {
	y := `
- rule: a
  desc: d
  output: a
  priority: info
  condition: evt.type = openat
- rule: b
  desc: d
  output: b
  priority: info
  condition: evt.type = openat and proc.name = cat
`
	evs := parseEvents(t, evOpenShadow)
	rs, res := Load([]File{{Name: "t", Data: []byte(y)}}, Options{})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	if m := rs.Eval(evs[0], nil); len(m) != 1 || m[0].Rule.Name != "a" {
		t.Fatalf("first: %v", m)
	}
	rs, _ = Load([]File{{Name: "t", Data: []byte(y)}}, Options{Matching: MatchAll})
	if m := rs.Eval(evs[0], nil); len(m) != 2 {
		t.Fatalf("all: %d matches", len(m))
	}
}

func TestOutputAndAlertShape(t *testing.T) {
	y := `
- rule: Shadow read
  desc: d
  output: "read %fd.name by %proc.name gp=%proc.aname[2] %toupper(proc.name) missing=%fd.sip pct=100%%"
  priority: WARNING
  tags: [t1, t2]
  condition: evt.type = openat and fd.name = /etc/shadow
`
	evs := parseEvents(t, evOpenShadow)
	rs, res := Load([]File{{Name: "t", Data: []byte(y)}}, Options{Hostname: "node1"})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	m := rs.Eval(evs[0], nil)
	if len(m) != 1 {
		t.Fatal("no match")
	}
	a := rs.Alert(m[0], evs[0])
	if !strings.HasSuffix(a.Output, "Warning read /etc/shadow by cat gp=sshd CAT missing=<NA> pct=100%") {
		t.Errorf("output = %q", a.Output)
	}
	if a.OutputFields["fd.name"] != "/etc/shadow" || a.OutputFields["fd.sip"] != nil || a.OutputFields["proc.aname[2]"] != "sshd" || a.OutputFields["toupper(proc.name)"] != "CAT" {
		t.Errorf("output_fields = %v", a.OutputFields)
	}
	if a.Hostname != "node1" || a.Source != "syscall" || a.Rule != "Shadow read" || len(a.Tags) != 2 {
		t.Errorf("alert = %+v", a)
	}
}

// UsesField reports the fields enabled rules read in conditions and
// outputs, and not those of disabled rules.
func TestUsesField(t *testing.T) {
	rs, res := Load([]File{{Name: "u.yaml", Data: []byte(`
- rule: a
  desc: d
  condition: evt.type = execve and proc.env[LD_PRELOAD] != ""
  output: "%proc.name"
  priority: INFO
- rule: b
  desc: d
  condition: evt.type = open
  output: "%fd.sip"
  priority: INFO
  enabled: false
`)}}, Options{})
	if rs == nil {
		t.Fatal(res.Errors)
	}
	for name, want := range map[string]bool{"proc.env": true, "proc.name": true, "fd.sip": false, "proc.cmdline": false} {
		if got := rs.UsesField(name); got != want {
			t.Errorf("UsesField(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIndependentTagsUnderMatchFirst(t *testing.T) {
	yaml := `
- rule: First
  desc: d
  condition: evt.type = openat
  output: first
  priority: WARNING
- rule: Drift
  desc: d
  condition: evt.type = openat
  output: drift
  priority: WARNING
  tags: [drift]
- rule: Third
  desc: d
  condition: evt.type = openat
  output: third
  priority: WARNING
`
	evs := parseEvents(t, `{"type":"openat","res":3}`)
	for _, c := range []struct {
		tags []string
		want string
	}{{nil, "First"}, {[]string{"drift"}, "First Drift"}} {
		rs, res := Load([]File{{Name: "r.yaml", Data: []byte(yaml)}}, Options{IndependentTags: c.tags})
		if len(res.Errors) > 0 {
			t.Fatal(res.Errors)
		}
		var names []string
		for _, m := range rs.Eval(evs[0], nil) {
			names = append(names, m.Rule.Name)
		}
		if got := strings.Join(names, " "); got != c.want {
			t.Errorf("tags %v: matched %q, want %q", c.tags, got, c.want)
		}
	}
}

// A type a rule matches only with evt.is_io_uring = true needs no capture
// of its syscall (io_uring records come whatever is selected), while the
// rule is still evaluated on events of that type.
func TestEventTypesLeaveOutIOUringOnly(t *testing.T) {
	for _, c := range []struct{ cond, want string }{
		{"evt.type = write and evt.is_io_uring = true", ""},
		{"(evt.type = openat and fd.name = /x) or (evt.type in (read, write) and evt.is_io_uring = true)", "openat"},
		{"evt.type = write and evt.is_io_uring = false", "write"},
		{"evt.type = write and not evt.is_io_uring = true", "write"},
		{"evt.type = write or evt.is_io_uring = true", "write"},
	} {
		rs := compileOne(t, "", c.cond)
		names, any := rs.EventTypes()
		if got := strings.Join(names, ","); got != c.want || any {
			t.Errorf("%s: captured types %q (any %v), want %q", c.cond, got, any, c.want)
		}
		w := &event.Event{Type: event.TypeOf("write"), IOUring: true}
		if strings.Contains(c.cond, "= true") && !strings.Contains(c.cond, "not") && !rs.Interested(w.Type) {
			t.Errorf("%s: not evaluated on write events", c.cond)
		}
	}
}
