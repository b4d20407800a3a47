package replay

import (
	"bytes"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
)

func sample() *event.Event {
	ctr := &event.Container{ID: "0123456789ab", Name: "web", Image: "nginx:1.25", ImageRepository: "nginx", ImageTag: "1.25",
		Privileged: true, HasPrivileged: true, Labels: map[string]string{"a": "b"},
		Mounts: []event.Mount{{Source: "/var/run/docker.sock", Dest: "/var/run/docker.sock", RW: true}}}
	parent := &event.Process{PID: 10, TID: 10, VPID: 1, VTID: 1, Name: "sh", Exe: "sh", Args: []string{"-c", "x"}, LoginUID: -1, Container: ctr}
	p := &event.Process{PID: 11, TID: 11, VPID: 2, VTID: 2, PPID: 10, Name: "cat", Exe: "cat", ExePath: "/bin/cat",
		Args: []string{"/etc/shadow"}, Env: []string{"HOME=/root"}, Cwd: "/etc", TTY: 34816, UID: 0, GID: 0, LoginUID: 1000,
		UserName: "root", GroupName: "root", CapEffective: 0xffff, Parent: parent, Container: ctr}
	return &event.Event{Num: 7, Time: 1764200000000000001, CPU: 1, Type: event.TypeOf("openat"), Dir: event.DirExit, Res: 3, HasRes: true,
		Args: []event.Arg{{Name: "fd", Str: "3", Int: 3, HasInt: true}, {Name: "name", Str: "shadow"},
			{Name: "flags", Str: "O_RDONLY|O_CLOEXEC", Int: 0x80000, HasInt: true}},
		Proc: p, FD: &event.FD{Num: 3, Type: event.FDFile, Name: "/etc/shadow", NameRaw: "shadow"}, Hostname: "h"}
}

// The JSONL export keeps what rules read, and leaves out ancestors'
// environments.
func TestJSONLRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewJSONLWriter(&buf)
	e := sample()
	sock := sample()
	sock.Type = event.TypeOf("connect")
	sock.FD = &event.FD{Num: 5, Type: event.FDIPv4, L4Proto: "tcp", CIP: netip.MustParseAddr("10.0.0.2"), CPort: 4000,
		SIP: netip.MustParseAddr("10.0.0.1"), SPort: 443, Name: "10.0.0.2:4000->10.0.0.1:443"}
	for _, x := range []*event.Event{e, sock} {
		if err := w.Write(x); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	r := NewReader(&buf, "rt")
	for _, want := range []*event.Event{e, sock} {
		got, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != want.Type || got.Time != want.Time || got.Res != want.Res || !reflect.DeepEqual(got.Args, want.Args) {
			t.Errorf("event: got %+v want %+v", got, want)
		}
		if got.FD.Name != want.FD.Name || got.FD.Type != want.FD.Type || got.FD.SIP != want.FD.SIP || got.FD.SPort != want.FD.SPort || got.FD.NameRaw != want.FD.NameRaw {
			t.Errorf("fd: got %+v want %+v", got.FD, want.FD)
		}
		gp, wp := got.Proc, want.Proc
		if gp.Cmdline() != wp.Cmdline() || gp.Parent.Name != "sh" || gp.ExePath != wp.ExePath || gp.TTY != wp.TTY ||
			gp.LoginUID != 1000 || gp.CapEffective != 0xffff || gp.Container.Name != "web" || !gp.Container.Privileged ||
			gp.Container.Mounts[0].Dest != "/var/run/docker.sock" || gp.EnvString() != "HOME=/root" {
			t.Errorf("proc: got %+v", gp)
		}
		if gp.Parent.Env != nil {
			t.Error("ancestors' environments must not be written")
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("want EOF, got %v", err)
	}
}

func TestReaderErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"type":"openat","bogus":1}`, `f:1:`},
		{`{"ts":1}`, `f:1: invalid event: missing "type"`},
		{`{"type":"open","dir":"?"}`, `f:1: invalid event: dir must be`},
		{"\n\n{\"type\":\"open\",\"fd\":{\"num\":1,\"type\":\"sock\"}}", `f:3: invalid event: fd.type "sock"`},
		{`{"type":"open","fd":{"num":1,"type":"ipv4","sip":"1.2.3"}}`, `f:1: invalid event: fd.sip`},
		{`{"type":"open"} {"type":"open"}`, `f:1: invalid event: more than one JSON value`},
		{`{"type":"open","args":{"x":1.5}}`, `f:1:`},
	} {
		_, err := NewReader(strings.NewReader(tc.in), "f").Next()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want prefix %s", tc.in, err, tc.want)
		}
	}
}
