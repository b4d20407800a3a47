package baseline

import (
	"strconv"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/fields"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// maxLearnItems bounds each list a Learner keeps; past it new items are
// counted in Dropped (and the baseline says so in its sources).
const maxLearnItems = 10000

// Learner accumulates one workload's baseline from live events, every
// replica into the same one.
type Learner struct {
	w          Workload
	start      int64
	containers map[string]bool
	exes       map[string]*Item
	progs      map[string]*Item
	sys        map[string]*Item
	writes     map[string]*Item
	dests      map[string]*Item
	listen     map[string]*Item
	caps       map[string]*Item
	isSyscall  map[event.Type]bool
	Dropped    uint64
}

var openWrite = func() fields.Extractor {
	x, err := fields.Lookup("evt.is_open_write", "", false)
	if err != nil {
		panic(err)
	}
	return x
}()

// NewLearner starts learning w at start (Unix ns).
func NewLearner(w Workload, start int64) *Learner {
	return &Learner{w: w, start: start, containers: map[string]bool{},
		exes: map[string]*Item{}, progs: map[string]*Item{}, sys: map[string]*Item{},
		writes: map[string]*Item{}, dests: map[string]*Item{}, listen: map[string]*Item{},
		caps: map[string]*Item{}, isSyscall: map[event.Type]bool{}}
}

// AddContainer notes a replica.
func (l *Learner) AddContainer(c *event.Container) {
	if len(l.containers) < 1000 {
		l.containers[c.Name+" ("+c.ID+")"] = true
	}
}

func (l *Learner) note(m map[string]*Item, name string, t int64) {
	if it, ok := m[name]; ok {
		it.Count++
		it.Last = stamp(time.Unix(0, t))
		return
	}
	if len(m) >= maxLearnItems {
		l.Dropped++
		return
	}
	s := stamp(time.Unix(0, t))
	m[name] = &Item{Name: name, Count: 1, First: s, Last: s}
}

// capName is capability n in a baseline's (Docker's) spelling: CHOWN.
func capName(n int) string {
	if name, ok := caps.Name(n); ok {
		return strings.TrimPrefix(name, "CAP_")
	}
	return "CAP_" + strconv.Itoa(n)
}

// RuntimeInitNames are what the container runtime is called while it
// sets a container up inside the container's cgroup; learning skips
// their events (the drift rules' drift_runtime_init_names list).
var RuntimeInitNames = map[string]bool{"runc": true, "runc:[0:PARENT]": true, "runc:[1:CHILD]": true, "runc:[2:INIT]": true,
	"crun": true, "youki": true, "runsc": true, "runsc-gofer": true, "runsc-sandbox": true, "conmon": true,
	"containerd-shim": true, "containerd-shim-runc-v2": true}

// Add learns from one event of the workload.
func (l *Learner) Add(e *event.Event) {
	if e.Proc != nil && RuntimeInitNames[e.Proc.Name] {
		return
	}
	if n, ok := capOf(e); ok {
		// A granted check is a capability the workload used; a denied
		// one gave it nothing (record's Caps.Needed likewise).
		// One this build cannot name could not be read back.
		if _, known := caps.Name(n); known && e.HasRes && e.Res == 0 {
			l.note(l.caps, capName(n), e.Time)
		}
		return
	}
	t := e.Type
	is, ok := l.isSyscall[t]
	if !ok {
		_, is = syscalls.Number(syscalls.CaptureArch().Name, t.String())
		l.isSyscall[t] = is
	}
	if is {
		l.note(l.sys, t.String(), e.Time)
	}
	if e.Proc != nil && e.Proc.ExePath != "" {
		l.note(l.exes, e.Proc.ExePath, e.Time)
		if isExec(e) {
			if p := programOf(e); p != "" {
				l.note(l.progs, p, e.Time)
			}
		}
	}
	if e.Failed() || e.FD == nil {
		return
	}
	switch name := t.String(); {
	case e.FD.Type == event.FDFile || e.FD.Type == event.FDDirectory:
		if v, ok := openWrite.Int(e, 0); ok && v != 0 && e.FD.Name != "" && e.FD.Name[0] == '/' {
			l.note(l.writes, e.FD.Name, e.Time)
		}
	case e.FD.IsIP() && name == "connect" && e.FD.RemoteIP().IsValid():
		l.note(l.dests, DestName(protoOf(e.FD), e.FD.RemoteIP(), e.FD.RemotePort()), e.Time)
	case e.FD.IsIP() && name == "listen":
		l.note(l.listen, ListenName(protoOf(e.FD), e.FD.LocalPort()), e.Time)
	}
}

// Baseline is what was learned until end (Unix ns). Its syscalls are
// those watch captured, so it is not SyscallsComplete.
func (l *Learner) Baseline(end int64) *Baseline {
	b := New(l.w)
	b.FirstSeen, b.LastSeen = stamp(time.Unix(0, l.start)), stamp(time.Unix(0, end))
	for c := range l.containers {
		b.Sources = append(b.Sources, "learned from container "+c+" "+b.FirstSeen+" to "+b.LastSeen)
	}
	if l.Dropped > 0 {
		b.Sources = append(b.Sources, "learning kept at most 10000 items per list; later new items were left out")
	}
	items := func(m map[string]*Item) []Item {
		out := make([]Item, 0, len(m))
		for _, it := range m {
			out = append(out, *it)
		}
		return out
	}
	b.Executables, b.Programs = items(l.exes), items(l.progs)
	b.Syscalls[b.Arch] = items(l.sys)
	b.Destinations, b.Listen = items(l.dests), items(l.listen)
	b.Capabilities = items(l.caps)
	// Written paths become globs; each glob carries the counts and times
	// of the paths it covers.
	var paths []string
	for p := range l.writes {
		paths = append(paths, p)
	}
	globs := WriteGlobs(paths)
	one := make([]*Index, len(globs))
	agg := make([]Item, len(globs))
	for i, g := range globs {
		one[i] = Compile(&Baseline{Writes: []Item{{Name: g}}}, "")
		agg[i].Name = g
	}
	for p, it := range l.writes {
		for i := range globs {
			if one[i].WriteKnown(p) {
				a := &agg[i]
				a.Count += it.Count
				a.First, a.Last = minStamp(a.First, it.First), maxStamp(a.Last, it.Last)
				break
			}
		}
	}
	for _, a := range agg {
		if a.Count == 0 {
			a.Count, a.First, a.Last = 1, b.FirstSeen, b.LastSeen
		}
		b.Writes = append(b.Writes, a)
	}
	b.normalize()
	return b
}
