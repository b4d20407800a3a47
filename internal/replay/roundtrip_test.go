package replay

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/fields"
)

// fill sets every exported field of the struct v points to a non-zero
// value derived from tag, so that a field added to event.Process, FD,
// Container or Event later is set here without anyone remembering to.
// Pointers to structs (Parent, Container) are left for the caller.
func fill(v any, tag string) {
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := rv.Field(i)
		seed := int64(len(tag)*131 + i*7 + 3)
		switch f.Type.Kind() {
		case reflect.String:
			fv.SetString(tag + "-" + strings.ToLower(f.Name))
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			fv.SetInt(seed)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			fv.SetUint(uint64(seed))
		case reflect.Slice:
			switch f.Type.Elem().Kind() {
			case reflect.String:
				fv.Set(reflect.ValueOf([]string{tag + "-" + f.Name + "-0", "", f.Name + "=1"}))
			case reflect.Struct:
				s := reflect.MakeSlice(f.Type, 2, 2)
				for j := 0; j < 2; j++ {
					fill(s.Index(j).Addr().Interface(), fmt.Sprintf("%s-%s%d", tag, f.Name, j))
				}
				fv.Set(s)
			}
		case reflect.Map:
			if f.Type.Key().Kind() == reflect.String && f.Type.Elem().Kind() == reflect.String {
				fv.Set(reflect.ValueOf(map[string]string{"team": tag, "io.kubernetes.pod.name": tag + "-pod", "empty": ""}))
			}
		}
	}
}

// fixture builds a process chain and container with every attribute set.
func fixture(tag string) *event.Process {
	ctr := &event.Container{}
	fill(ctr, tag+"-ctr")
	ctr.Mounts[0].Source, ctr.Mounts[0].Dest = "/var/run/docker.sock", "/var/run/docker.sock"
	var parent *event.Process
	var p *event.Process
	for depth := 3; depth >= 0; depth-- {
		p = &event.Process{}
		fill(p, fmt.Sprintf("%s-p%d", tag, depth))
		p.PID += int64(depth * 1000)
		p.FDTypes = []string{"file", "", "ipv4"}
		p.Env = []string{"HOME=/root", "PATH=/bin", tag + "=" + tag}
		p.Parent, p.Container = parent, ctr
		if depth == 1 {
			p.Container = event.Host // an ancestor outside the container
		}
		parent = p
	}
	return p
}

func fullFD(tag string, t event.FDType) *event.FD {
	f := &event.FD{}
	fill(f, tag)
	f.Type = t
	f.Name = "/etc/" + tag
	f.CIP, f.SIP = netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	return f
}

// fixtureEvents returns events that touch every field, and a mutate step
// run after each write: the same *Process values change between events,
// as the live state changes them (exec, setuid, chdir).
func fixtureEvents() ([]*event.Event, []func()) {
	p := fixture("a")
	args := []event.Arg{{Name: "fd", Str: "3", Int: 3, HasInt: true}, {Name: "dirfd", Str: "-100", Int: -100, HasInt: true},
		{Name: "name", Str: "shadow"}, {Name: "flags", Str: "O_RDONLY|O_CLOEXEC", Int: 0x80000, HasInt: true},
		{Name: "mode", Str: "0755", Int: 0o755, HasInt: true}, {Name: "data", Str: "\x00\xff binary"}, {Name: "empty"}}
	base := func(typ string) *event.Event {
		e := &event.Event{}
		fill(e, "evt-"+typ)
		e.Type, e.Dir, e.Proc, e.Args = event.TypeOf(typ), event.DirExit, p, args
		e.Time = 1764200000000000000 + int64(len(typ))*1000
		return e
	}
	open := base("openat")
	open.FD = fullFD("open", event.FDFile)
	v4 := base("connect")
	v4.Num, v4.Time, v4.CPU = 3, open.Time-5, -1 // time and num may go backwards across CPUs
	v4.FD = fullFD("v4", event.FDIPv4)
	v4.FD.CPort, v4.FD.SPort = 4000, 443
	v6 := base("accept4")
	v6.Dir = event.DirEnter
	v6.FD = fullFD("v6", event.FDIPv6)
	v6.FD.CIP, v6.FD.SIP = netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("::ffff:1.2.3.4")
	v6.FD.IsServer = false
	dir := base("mkdirat")
	dir.FD = fullFD("dir", event.FDDirectory)
	dir.Hostname = ""
	dir.HasRes, dir.Res = true, -13
	bare := &event.Event{Num: 1 << 62, Time: -5, Type: event.TypeOf("procexit"), Dir: event.DirExit}
	changed := base("execve")
	changed.FD = fullFD("memfd", event.FDMemfd)
	same := base("openat")
	same.FD = fullFD("again", event.FDPipe)
	again := base("execve")
	again.FD = &event.FD{Num: -1, Type: event.FDUnknown}
	noCtr := base("setuid")
	noCtr.Args = nil

	// The events the baseline.* fields are about: a successful exec by a
	// relative path, an open for writing, a listen on an IP socket.
	execOK := base("execve")
	execOK.HasRes, execOK.Res = true, 0
	execOK.Args = []event.Arg{{Name: "filename", Str: "./tool"}}
	openW := base("openat")
	openW.HasRes, openW.Res = true, 5
	openW.Args = []event.Arg{{Name: "name", Str: "log"}, {Name: "flags", Str: "O_WRONLY|O_CREAT", Int: 0o101, HasInt: true}}
	openW.FD = fullFD("written", event.FDFile)
	listen := base("listen")
	listen.HasRes, listen.Res = true, 0
	listen.FD = fullFD("listener", event.FDIPv4)
	listen.FD.SPort = 8080
	capChk := base("cap_capable") // a granted capability check
	capChk.HasRes, capChk.Res, capChk.FD = true, 0, nil
	capChk.Args = []event.Arg{{Name: "cap", Str: "CAP_CHOWN", Int: 0, HasInt: true}}

	evs := []*event.Event{open, v4, v6, dir, bare, changed, same, again, noCtr, execOK, openW, listen, capChk}
	// procAfter points the events after i at np, as the state does when an
	// exec replaces a process.
	procAfter := func(i int, np *event.Process) {
		for _, e := range evs[i+1:] {
			if e.Proc != nil {
				e.Proc = np
			}
		}
	}
	nop := func() {}
	mut := []func(){nop, nop, nop, nop, func() {
		// exec: a new process value with a new name, arguments and exe
		np := fixture("exec")
		np.Parent = p.Parent
		procAfter(4, np)
		p = np
		// setuid, chdir and fd types change in place; so can a parent
		p.UID, p.Cwd, p.FDTypes = 1000, "/tmp/", []string{"pipe", "file"}
		p.Parent.UID, p.Parent.LoginUID = 0, 1000
	}, nop, func() {
		// an element of a slice changed in place; a new container value
		p.FDTypes[1] = "unix"
		nc := &event.Container{}
		fill(nc, "b-ctr")
		p.Container = nc
		p.Parent.Parent.Container = nil
	}, func() {
		// re-parented to a process not seen before; then no container
		np := fixture("reaper")
		np.Parent = nil
		p.Parent = np
		p.Container = nil
	}, nop, nop, nop, nop, nop}
	return evs, mut
}

// extractors binds every registered field with the arguments worth trying.
func extractors(t *testing.T) (map[string]fields.Extractor, map[string]bool) {
	keys := []string{"0", "1", "2", "7", "fd", "dirfd", "name", "flags", "mode", "data", "empty", "missing",
		"HOME", "PATH", "team", "io.kubernetes.pod.name", "/var/run/docker.sock", "*", "/nowhere"}
	out := map[string]fields.Extractor{}
	fieldOf := map[string]string{}
	add := func(f *fields.Field, arg string, has bool) {
		x, err := fields.Lookup(f.Name, arg, has)
		if err != nil {
			return
		}
		k := f.Name
		if has {
			k += "[" + arg + "]"
		}
		out[k] = x
		fieldOf[k] = f.Name
	}
	for _, f := range fields.All() {
		switch f.Arg {
		case fields.NoArg:
			add(f, "", false)
		case fields.OptionalIndex, fields.OptionalKey:
			add(f, "", false)
			fallthrough
		default:
			for _, k := range keys {
				add(f, k, true)
			}
		}
	}
	for _, n := range []string{"fd", "dirfd", "name", "flags", "mode", "data"} {
		for _, raw := range []bool{false, true} {
			x, err := fields.Lookup(map[bool]string{false: "evt.arg.", true: "evt.rawarg."}[raw]+n, "", false)
			if err != nil {
				t.Fatal(err)
			}
			k := fmt.Sprintf("raw=%v.%s", raw, n)
			out[k], fieldOf[k] = x, "evt.arg"
		}
	}
	if len(out) < len(fields.All()) {
		t.Fatalf("bound %d extractors for %d fields", len(out), len(fields.All()))
	}
	names := map[string]bool{}
	for _, f := range fieldOf {
		names[f] = true
	}
	return out, names
}

// values renders what an extractor yields for an event, every value of a
// multi-valued field included.
func values(x fields.Extractor, e *event.Event) (string, bool) {
	var b strings.Builder
	present := false
	for i := 0; i < 64; i++ {
		var s string
		var ok bool
		switch {
		case x.Str != nil:
			s, ok = x.Str(e, i)
		case x.Int != nil:
			var v int64
			v, ok = x.Int(e, i)
			s = fmt.Sprint(v)
		case x.IP != nil:
			var v netip.Addr
			v, ok = x.IP(e, i)
			s = v.String()
		}
		if !ok {
			break
		}
		present = true
		fmt.Fprintf(&b, "%q;", s)
		if !x.Multi {
			break
		}
	}
	return b.String(), present
}

// flatten renders every exported field of an event and what it points to
// (processes and their ancestors, the container, the fd).
func flatten(e *event.Event) string {
	var b strings.Builder
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || depth > 100 {
				b.WriteString("nil")
				return
			}
			if c, ok := v.Interface().(*event.Container); ok && c == event.Host {
				b.WriteString("HOST")
				return
			}
			walk(v.Elem(), depth+1)
		case reflect.Struct:
			if a, ok := v.Interface().(netip.Addr); ok {
				b.WriteString(a.String())
				return
			}
			b.WriteString("{")
			for i := 0; i < v.NumField(); i++ {
				if !v.Type().Field(i).IsExported() {
					continue
				}
				b.WriteString(v.Type().Field(i).Name + ":")
				walk(v.Field(i), depth)
				b.WriteString(" ")
			}
			b.WriteString("}")
		case reflect.Slice:
			b.WriteString("[")
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), depth)
				b.WriteString(",")
			}
			b.WriteString("]")
		case reflect.Map:
			keys := v.MapKeys()
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			b.WriteString("map[")
			for _, k := range keys {
				fmt.Fprintf(&b, "%q:%q,", k.String(), v.MapIndex(k).String())
			}
			b.WriteString("]")
		default:
			fmt.Fprintf(&b, "%#v", v.Interface())
		}
	}
	walk(reflect.ValueOf(e), 0)
	return b.String()
}

// TestRoundTripEveryField writes events whose processes, containers and
// descriptors have every attribute set, and changes them between events;
// each registered field must read the same from the replayed events as it
// did from the live ones when they were written.
func TestRoundTripEveryField(t *testing.T) {
	xs, _ := extractors(t)
	evs, mut := fixtureEvents()
	// A baseline is bound to events by detect, not recorded: the same one
	// is bound before writing and after reading, and its answers depend on
	// what each baseline.* field asks of the event, so an item the replay
	// loses changes the answer.
	for _, e := range evs {
		e.Baseline = probeBaseline{}
	}
	var want []map[string]string
	var wantFlat []string
	present := map[string]bool{}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i, e := range evs {
		m := map[string]string{}
		for k, x := range xs {
			v, ok := values(x, e)
			m[k] = v
			if ok {
				present[x.Field.Name] = true
			}
		}
		want = append(want, m)
		wantFlat = append(wantFlat, flatten(e))
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
		mut[i]()
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// A field that no fixture event gives a value to would pass unchecked.
	for _, f := range fields.All() {
		if !present[f.Name] && !strings.Contains(f.Desc, "absent") && f.Name != "evt.pluginname" {
			t.Errorf("field %s has no value in any fixture event: extend fixtureEvents", f.Name)
		}
	}
	r := NewReader(bytes.NewReader(buf.Bytes()), "rt")
	for i := range evs {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		got.Baseline = probeBaseline{}
		for k, x := range xs {
			if v, _ := values(x, got); v != want[i][k] {
				t.Errorf("event %d (%s): %s = %s, want %s", i, evs[i].Type, k, v, want[i][k])
			}
		}
		if g := flatten(got); g != wantFlat[i] {
			t.Errorf("event %d: replayed event differs:\n got %s\nwant %s", i, g, wantFlat[i])
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last event: %v, want EOF", err)
	}
	if f, _ := r.Format(); f != FormatBinary {
		t.Errorf("format %q, want binary", f)
	}
}

// Processes are written once: events of an unchanged process add no
// process record, and a changed one adds exactly its new state (and its
// children's, whose parent reference changed).
func TestStateWrittenOnce(t *testing.T) {
	p := fixture("once")
	var buf bytes.Buffer
	w := NewWriter(&buf)
	kinds := func() map[byte]int {
		w.Flush()
		return countKinds(t, buf.Bytes())
	}
	e := &event.Event{Type: event.TypeOf("openat"), Proc: p, Args: []event.Arg{{Name: "name", Str: "/etc/passwd"}}}
	for i := 0; i < 100; i++ {
		e.Num, e.Time = uint64(i), int64(i)
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	k := kinds()
	if k[kindProcess] != 4 || k[kindContainer] != 1 || k[kindEvent] != 100 {
		t.Fatalf("records %v: want 4 processes, 1 container, 100 events", k)
	}
	p.Parent.UID = 7 // setuid in the parent: parent and child are new states
	w.Write(e)
	if k := kinds(); k[kindProcess] != 6 {
		t.Errorf("after the parent changed: %d process records, want 6", k[kindProcess])
	}
	// A second pointer with the same content (a JSONL recording gives
	// every line its own) is the same state.
	cp := p.Parent.Parent.Parent
	cp2 := &event.Process{PID: cp.PID, TID: cp.TID, VPID: cp.VPID, VTID: cp.VTID, PPID: cp.PPID, SID: cp.SID, VPGID: cp.VPGID,
		Name: cp.Name, Exe: cp.Exe, ExePath: cp.ExePath, Args: cp.Args, Env: cp.Env, Cwd: cp.Cwd, TTY: cp.TTY, UID: cp.UID, HostUID: cp.HostUID, HostGID: cp.HostGID,
		GID: cp.GID, LoginUID: cp.LoginUID, UserName: cp.UserName, UserHome: cp.UserHome, UserShell: cp.UserShell,
		LoginName: cp.LoginName, GroupName: cp.GroupName, StartTime: cp.StartTime, CapPermitted: cp.CapPermitted,
		CapEffective: cp.CapEffective, CapInheritable: cp.CapInheritable, ExeUpperLayer: cp.ExeUpperLayer,
		ExeFromMemfd: cp.ExeFromMemfd, ExeWritable: cp.ExeWritable, CredUnexplained: cp.CredUnexplained, PrevHostUID: cp.PrevHostUID, SessionLeaderName: cp.SessionLeaderName,
		GroupLeaderName: cp.GroupLeaderName, GroupLeaderExe: cp.GroupLeaderExe, FDTypes: cp.FDTypes, Container: cp.Container}
	w.Write(&event.Event{Type: event.TypeOf("openat"), Proc: cp2})
	if k := kinds(); k[kindProcess] != 6 {
		t.Errorf("an equal process under another pointer: %d process records, want 6", k[kindProcess])
	}
}

// countKinds walks a binary recording's records.
func countKinds(t *testing.T, b []byte) map[byte]int {
	t.Helper()
	if !bytes.HasPrefix(b, magic[:]) {
		t.Fatal("no magic")
	}
	d := decoder{b: b, i: len(magic)}
	d.uvarint()
	out := map[byte]int{}
	for d.i < len(d.b) && d.err == nil {
		k := d.b[d.i]
		d.i++
		n := d.uvarint()
		d.bytes(int(n))
		out[k]++
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
	return out
}

// Past the writer's limits a reset record starts a new segment, and the
// events after it still replay with their processes.
func TestResetSegments(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	var want []string
	root := &event.Process{PID: 1, Name: "init", Container: event.Host}
	for i := 0; i < 1200; i++ {
		// every event a new process with a large distinct argument
		p := &event.Process{PID: int64(i + 2), Name: "worker", Args: []string{fmt.Sprint(i) + strings.Repeat("x", 40000)}, Parent: root, Container: event.Host}
		e := &event.Event{Num: uint64(i), Type: event.TypeOf("openat"), Dir: event.DirExit, Proc: p}
		want = append(want, flatten(e))
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if k := countKinds(t, buf.Bytes()); k[kindReset] == 0 {
		t.Fatalf("no reset record in %d MiB of state: %v", buf.Len()>>20, k)
	}
	r := NewReader(&buf, "seg")
	for i := range want {
		e, err := r.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if flatten(e) != want[i] {
			t.Fatalf("event %d differs after a reset", i)
		}
	}
}

// A parent chain that loops (which the state never builds) is cut at
// maxAncestry rather than followed for ever.
func TestAncestryCycle(t *testing.T) {
	a := &event.Process{PID: 1, Name: "a"}
	b := &event.Process{PID: 2, Name: "b", Parent: a}
	a.Parent = b
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Write(&event.Event{Type: event.TypeOf("openat"), Proc: a}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	e, err := NewReader(&buf, "cycle").Next()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for p := e.Proc; p != nil; p = p.Parent {
		n++
	}
	if n != maxAncestry || e.Proc.Name != "a" || e.Proc.Parent.Name != "b" {
		t.Errorf("replayed chain of %d processes, want %d alternating a, b", n, maxAncestry)
	}
}

// TestReadsVersion1: a recording written before the format carried host
// ids (version 1, kept in the fuzz corpus) still reads, each process's
// host ids being its ids.
func TestReadsVersion1(t *testing.T) {
	raw, err := os.ReadFile("testdata/fuzz/FuzzReader/binary-v1-sample")
	if err != nil {
		t.Fatal(err)
	}
	_, quoted, _ := strings.Cut(strings.TrimSpace(string(raw)), "[]byte(")
	data, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
	if err != nil {
		t.Fatal(err)
	}
	if data[len(magic)] != 1 {
		t.Fatalf("the seed is version %d, want 1", data[len(magic)])
	}
	r := NewReader(strings.NewReader(data), "v1")
	n := 0
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		for p := e.Proc; p != nil; p = p.Parent {
			if p.HostUID != p.UID || p.HostGID != p.GID {
				t.Errorf("version 1 process %d: host ids %d/%d, want its ids %d/%d", p.PID, p.HostUID, p.HostGID, p.UID, p.GID)
			}
		}
	}
	if n == 0 {
		t.Error("no events read from the version 1 recording")
	}
}

// probeBaseline answers the baseline.* fields from the event's own item:
// known when the item's text has an even length. Fields read through it
// are then as exact a check of the replayed item as the item itself.
type probeBaseline struct{}

func (probeBaseline) Name() string { return "probe.json" }

func (probeBaseline) Known(item event.BaselineItem, e *event.Event) (bool, bool) {
	var s string
	switch item {
	case event.BaselineExe:
		if a, ok := e.ArgByName("filename"); ok && e.Proc != nil {
			s = event.ProgramPath(a.Str, e.Proc.ExePath, e.Proc.Exe, e.Proc.Cwd) + "\x00" + e.Proc.ExePath
		}
	case event.BaselineSyscall:
		s = e.Type.String()
	case event.BaselineFile:
		if e.FD != nil {
			s = e.FD.Name
		}
	case event.BaselineDest:
		if e.FD != nil {
			s = e.FD.RemoteIP().String() + fmt.Sprint(e.FD.RemotePort())
		}
	case event.BaselinePort:
		if e.FD != nil {
			s = fmt.Sprint(e.FD.LocalPort())
		}
	case event.BaselineCap:
		if a, ok := e.ArgByName("cap"); ok {
			s = a.Str + fmt.Sprint(a.Int)
		}
	}
	if s == "" {
		return false, false
	}
	return len(s)%2 == 0, true
}
