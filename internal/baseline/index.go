package baseline

import (
	"net/netip"
	"path"
	"sort"
	"strings"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/event"
)

// Index is a baseline compiled for per-event lookups: maps for exact
// items, globs split into path elements and sorted by their literal
// prefix, networks for CIDR destinations. It is read-only once built.
type Index struct {
	Baseline *Baseline
	name     string // what alerts call it: the file, or the workload

	exes, progs map[string]struct{} // progs nil: the baseline has no programs
	sys         []bool              // by event.Type, native arch
	writeExact  map[string]struct{}
	writeGlobs  []pathGlob
	destExact   map[destKey]struct{} // port -1: any port
	destNets    []Dest
	listen      map[listenKey]struct{}
	caps        uint64 // bit n: capability n is in Capabilities
}

type destKey struct {
	udp  bool // else tcp
	addr netip.Addr
	port int32 // -1 any
}

type listenKey struct {
	proto string
	port  uint16
}

// pathGlob is a write glob: its elements and the literal prefix before
// its first wildcard (a cheap reject).
type pathGlob struct {
	prefix string
	elems  []string
}

// Compile builds the Index of b; name is what alerts call it.
func Compile(b *Baseline, name string) *Index {
	x := &Index{Baseline: b, name: name,
		exes: map[string]struct{}{}, writeExact: map[string]struct{}{},
		destExact: map[destKey]struct{}{}, listen: map[listenKey]struct{}{}}
	for _, it := range b.Executables {
		x.exes[it.Name] = struct{}{}
	}
	if len(b.Programs) > 0 {
		x.progs = map[string]struct{}{}
		for _, it := range b.Programs {
			x.progs[it.Name] = struct{}{}
		}
	}
	var types []event.Type
	for _, it := range b.Syscalls[b.Arch] {
		types = append(types, event.TypeOf(it.Name))
	}
	n := event.NumTypes()
	x.sys = make([]bool, n)
	for _, t := range types {
		if int(t) < n {
			x.sys[t] = true
		}
	}
	for _, it := range b.Writes {
		if !strings.ContainsAny(it.Name, "*?") {
			x.writeExact[it.Name] = struct{}{}
			continue
		}
		i := strings.IndexAny(it.Name, "*?")
		x.writeGlobs = append(x.writeGlobs, pathGlob{prefix: it.Name[:i], elems: strings.Split(it.Name[1:], "/")})
	}
	sort.Slice(x.writeGlobs, func(i, j int) bool { return x.writeGlobs[i].prefix < x.writeGlobs[j].prefix })
	for _, it := range b.Destinations {
		d, err := ParseDest(it.Name)
		if err != nil {
			continue // Parse checked every item; Compile of a hand-made one skips it
		}
		if d.Net.IsSingleIP() {
			x.destExact[destKey{d.Proto == "udp", d.Net.Addr(), int32(d.Port)}] = struct{}{}
		} else {
			x.destNets = append(x.destNets, d)
		}
	}
	for _, it := range b.Listen {
		if proto, port, err := ParseListen(it.Name); err == nil {
			x.listen[listenKey{proto, port}] = struct{}{}
		}
	}
	for _, it := range b.Capabilities {
		if n, ok := caps.Number(it.Name); ok && n < 64 {
			x.caps |= 1 << n
		}
	}
	return x
}

// CapKnown reports capability number n as one the baseline needed.
func (x *Index) CapKnown(n int) bool { return n >= 0 && n < 64 && x.caps&(1<<n) != 0 }

// Name is what alerts call the baseline (baseline.name).
func (x *Index) Name() string { return x.name }

// ExeKnown: the executable is in the baseline and, when the baseline
// keeps programs, so is the path it was run by (prog "" for a process
// whose exec was not seen).
func (x *Index) ExeKnown(exe, prog string) bool {
	if _, ok := x.exes[exe]; !ok {
		return false
	}
	if x.progs == nil || prog == "" {
		return true
	}
	_, ok := x.progs[prog]
	return ok
}

// SyscallKnown says whether the native-arch syscall t is in the baseline.
func (x *Index) SyscallKnown(t event.Type) bool { return int(t) < len(x.sys) && x.sys[t] }

// WriteKnown says whether p matches a write path or glob.
func (x *Index) WriteKnown(p string) bool {
	if _, ok := x.writeExact[p]; ok {
		return true
	}
	if len(x.writeGlobs) == 0 || len(p) == 0 || p[0] != '/' {
		return false
	}
	for i := range x.writeGlobs {
		g := &x.writeGlobs[i]
		if !strings.HasPrefix(p, g.prefix) {
			if g.prefix > p {
				break // sorted: no later prefix can be a prefix of p
			}
			continue
		}
		if matchElems(g.elems, p[1:]) {
			return true
		}
	}
	return false
}

// matchElems matches the path rest ("a/b/c", no leading '/') against glob
// elements: "**" any number of elements (at least one when last),
// otherwise one element by path.Match (* and ? never cross a '/'). It
// walks the string in place: no allocation per event.
func matchElems(pat []string, rest string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			if len(pat) == 1 {
				return rest != ""
			}
			for {
				if matchElems(pat[1:], rest) {
					return true
				}
				i := strings.IndexByte(rest, '/')
				if i < 0 {
					return false
				}
				rest = rest[i+1:]
			}
		}
		if rest == "" && pat[0] != "" {
			return false
		}
		el := rest
		next, more := "", false
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			el, next, more = rest[:i], rest[i+1:], true
		}
		if pat[0] != el && pat[0] != "*" {
			if ok, _ := path.Match(pat[0], el); !ok {
				return false
			}
		}
		pat = pat[1:]
		if !more {
			return len(pat) == 0
		}
		rest = next
		if len(pat) == 0 {
			return false
		}
	}
	return rest == ""
}

// DestKnown says whether a connection to addr:port over proto is in the
// baseline.
func (x *Index) DestKnown(proto string, addr netip.Addr, port uint16) bool {
	addr = addr.Unmap()
	udp := proto == "udp"
	if !udp && proto != "tcp" {
		return false
	}
	if _, ok := x.destExact[destKey{udp, addr, int32(port)}]; ok {
		return true
	}
	if _, ok := x.destExact[destKey{udp, addr, -1}]; ok {
		return true
	}
	for _, d := range x.destNets {
		if d.Proto == proto && (d.Port < 0 || d.Port == int(port)) && d.Net.Contains(addr) {
			return true
		}
	}
	return false
}

// ListenKnown says whether the workload listened on port over proto.
func (x *Index) ListenKnown(proto string, port uint16) bool {
	_, ok := x.listen[listenKey{proto, port}]
	return ok
}

var execTypes = map[string]bool{"execve": true, "execveat": true}

// isExec reports a successful exec's exit event.
func isExec(e *event.Event) bool {
	return e.Dir == event.DirExit && !e.Failed() && execTypes[e.Type.String()]
}

// programOf is the path an exec was given (record.ProgramPath).
func programOf(e *event.Event) string {
	a, ok := e.ArgByName("filename")
	if !ok || e.Proc == nil {
		return ""
	}
	return event.ProgramPath(a.Str, e.Proc.ExePath, e.Proc.Exe, e.Proc.Cwd)
}

// Known implements event.Baseline.
func (x *Index) Known(item event.BaselineItem, e *event.Event) (bool, bool) {
	switch item {
	case event.BaselineExe:
		if e.Proc == nil || e.Proc.ExePath == "" {
			return false, false
		}
		prog := ""
		if isExec(e) {
			prog = programOf(e)
		}
		return x.ExeKnown(e.Proc.ExePath, prog), true
	case event.BaselineSyscall:
		return x.SyscallKnown(e.Type), true
	case event.BaselineFile:
		if e.FD == nil || (e.FD.Type != event.FDFile && e.FD.Type != event.FDDirectory) || e.FD.Name == "" {
			return false, false
		}
		return x.WriteKnown(e.FD.Name), true
	case event.BaselineDest:
		if e.FD == nil || !e.FD.IsIP() || !e.FD.RemoteIP().IsValid() {
			return false, false
		}
		return x.DestKnown(protoOf(e.FD), e.FD.RemoteIP(), e.FD.RemotePort()), true
	case event.BaselinePort:
		if e.FD == nil || !e.FD.IsIP() {
			return false, false
		}
		return x.ListenKnown(protoOf(e.FD), e.FD.LocalPort()), true
	case event.BaselineCap:
		n, ok := capOf(e)
		if !ok {
			return false, false
		}
		return x.CapKnown(n), true
	}
	return false, false
}

var tCapCapable = event.TypeOf("cap_capable")

// capOf is the capability number a cap_capable event checked.
func capOf(e *event.Event) (int, bool) {
	if e.Type != tCapCapable {
		return 0, false
	}
	a, ok := e.ArgByName("cap")
	switch {
	case !ok:
		return 0, false
	case a.HasInt:
		return int(a.Int), true
	}
	return caps.Number(a.Str) // a hand-written event: "cap":"CAP_CHOWN"
}

func protoOf(fd *event.FD) string {
	if fd.L4Proto == "" {
		return "tcp"
	}
	return fd.L4Proto
}
