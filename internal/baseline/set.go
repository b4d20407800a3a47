package baseline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/atomicfile"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Set is the baselines of one detection run, bound to the containers its
// events come from. It is used from the one goroutine of detect.Run.
type Set struct {
	entries []*Index
	byCtr   map[*event.Container]*Index // nil value: no baseline (or learning)
	// alerted counts drift alerts by container, rule and item: the first
	// is sent, the rest are counted.
	alerted map[string]uint64
	repeats uint64
	learn   *learning
	// lastC and lastX cache the last lookup: events come in runs from one
	// container.
	lastC    *event.Container
	lastX    *Index
	log      io.Writer
	DropOver int // most (container, rule, item) keys kept; then every alert is sent
}

// maxCached bounds the container → baseline cache (containers come and go).
const maxCached = 16384

// NewSet binds the given compiled baselines.
func NewSet(idx ...*Index) *Set {
	return &Set{entries: idx, byCtr: map[*event.Container]*Index{}, alerted: map[string]uint64{}, DropOver: 1 << 20}
}

// LoadDir reads every *.json baseline in dir. Any invalid file fails the
// whole load (file:line:col): a run never starts on half its baselines.
func LoadDir(ctx context.Context, dir string) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("baselines: %w", err)
	}
	var idx []*Index
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		x, err := LoadFile(ctx, filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		idx = append(idx, x)
	}
	return NewSet(idx...), nil
}

// LoadFile reads, checks and compiles one baseline file, bounded by
// input.Baseline.
func LoadFile(ctx context.Context, file string) (*Index, error) {
	data, err := input.ReadFile(ctx, file, input.Baseline)
	if err != nil {
		return nil, err
	}
	b, err := Parse(file, data, syscalls.CaptureArch().Name)
	if err != nil {
		return nil, err
	}
	return Compile(b, filepath.Base(file)), nil
}

// Len is how many baselines are bound.
func (s *Set) Len() int { return len(s.entries) }

// Repeats is how many drift alerts were counted instead of sent.
func (s *Set) Repeats() uint64 { return s.repeats }

// Lookup returns the most specific baseline whose workload c matches.
func (s *Set) Lookup(c *event.Container) *Index {
	var best *Index
	bestScore := -1
	for _, x := range s.entries {
		if sc := matchScore(x.Baseline.Workload, c); sc > bestScore {
			best, bestScore = x, sc
		}
	}
	return best
}

// matchScore is -1 when c is not w's, otherwise how specific w is.
func matchScore(w Workload, c *event.Container) int {
	if c.IsHost() || c.ImageRepository == "" || !sameRepo(w.Image, c.ImageRepository) {
		return -1
	}
	score := 0
	switch {
	case w.Digest != "":
		if w.Digest != c.ImageDigest {
			return -1
		}
		score += 4
	case w.Tag != "":
		tag := c.ImageTag
		if tag == "" {
			tag = "latest"
		}
		if w.Tag != tag {
			return -1
		}
		score += 2
	}
	if w.Container != "" {
		if w.Container != c.Name {
			return -1
		}
		score += 8
	}
	if w.K8sNamespace != "" {
		if w.K8sNamespace != c.K8sNamespace {
			return -1
		}
		score += 8
	}
	if w.K8sWorkload != "" {
		if c.K8sPodName != w.K8sWorkload && !strings.HasPrefix(c.K8sPodName, w.K8sWorkload+"-") {
			return -1
		}
		score += 8
	}
	return score
}

// sameRepo compares repositories with Docker's implied prefixes:
// "nginx", "library/nginx" and "docker.io/library/nginx" are one.
func sameRepo(a, b string) bool {
	return a == b || normRepo(a) == normRepo(b)
}

func normRepo(r string) string {
	r = strings.TrimPrefix(r, "docker.io/")
	return strings.TrimPrefix(r, "library/")
}

// Bind sets e.Baseline to the baseline of the event's container (nil for
// the host, a container without one, or one still being learned).
func (s *Set) Bind(e *event.Event) {
	e.Baseline = nil
	if e.Proc == nil || e.Proc.Container == nil || e.Proc.Container.IsHost() {
		return
	}
	c := e.Proc.Container
	if c == s.lastC && s.lastX != nil {
		e.Baseline = s.lastX
		return
	}
	x, ok := s.byCtr[c]
	if !ok {
		if len(s.byCtr) >= maxCached {
			clear(s.byCtr)
			s.lastC, s.lastX = nil, nil
		}
		x = s.Lookup(c)
		if x == nil && s.learn != nil && c.ImageRepository != "" {
			s.learn.start(c, e.Time)
		}
		s.byCtr[c] = x
	}
	if x != nil {
		e.Baseline = x
		s.lastC, s.lastX = c, x
		return
	}
	if s.learn != nil {
		if x := s.learn.observe(s, c, e); x != nil {
			e.Baseline = x
		}
	}
}

// DriftTag marks the rules whose alerts Report keeps to one per
// container and item.
const DriftTag = "drift"

// Report says whether a match of rule (with tags) on e is sent: the
// first drift alert of an item in a container is, later ones are counted.
// Rules not tagged drift are always sent.
func (s *Set) Report(rule string, tags []string, e *event.Event) bool {
	if !slices.Contains(tags, DriftTag) {
		return true
	}
	id := ""
	if e.Proc != nil && e.Proc.Container != nil {
		id = e.Proc.Container.ID
	}
	key := id + "\x00" + rule + "\x00" + ItemOf(e)
	if n, ok := s.alerted[key]; ok {
		s.alerted[key] = n + 1
		s.repeats++
		return false
	}
	if len(s.alerted) < s.DropOver {
		s.alerted[key] = 1
	}
	return true
}

// ItemOf names the drift item an event is about: the program of an
// exec, the file of an open, the destination of a connect, the port of a
// listen or bind, the capability of a capability check, otherwise the
// syscall.
func ItemOf(e *event.Event) string {
	t := e.Type.String()
	if n, ok := capOf(e); ok {
		return "cap " + capName(n)
	}
	switch {
	case isExec(e) && e.Proc != nil:
		return "exe " + e.Proc.ExePath + " " + programOf(e)
	case e.FD != nil && (e.FD.Type == event.FDFile || e.FD.Type == event.FDDirectory) && (strings.HasPrefix(t, "open") || t == "creat"):
		return "file " + e.FD.Name
	case e.FD != nil && e.FD.IsIP() && t == "connect":
		return "dest " + DestName(protoOf(e.FD), e.FD.RemoteIP(), e.FD.RemotePort())
	case e.FD != nil && e.FD.IsIP() && (t == "listen" || t == "bind"):
		return "port " + ListenName(protoOf(e.FD), e.FD.LocalPort())
	}
	return "syscall " + t
}

// Learn makes the Set learn a baseline for each workload that has none:
// for window (event time) from the first event of its first container,
// merging every replica, then written to dir (atomically; a file marked
// reviewed is never overwritten) and bound, so the workload switches to
// detection by itself. log gets one line per baseline written.
func (s *Set) Learn(dir string, window time.Duration, log io.Writer) error {
	if window <= 0 {
		return errors.New("learn: the window must be positive")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("learn: %s is not a directory", dir)
	}
	s.learn = &learning{dir: dir, window: window, byKey: map[Workload]*Learner{}}
	s.log = log
	return nil
}

// Learning is how many workloads are being learned.
func (s *Set) Learning() int {
	if s.learn == nil {
		return 0
	}
	return len(s.learn.byKey)
}

type learning struct {
	dir    string
	window time.Duration
	byKey  map[Workload]*Learner
}

// workloadOf is the workload a learned baseline is for: the image
// (digest when the engine knows it, else the tag), so replicas merge.
func workloadOf(c *event.Container) Workload {
	w := Workload{Image: c.ImageRepository}
	if c.ImageDigest != "" && validDigest(c.ImageDigest) {
		w.Digest = c.ImageDigest
	} else {
		w.Tag = c.ImageTag
		if w.Tag == "" {
			w.Tag = "latest"
		}
	}
	return w
}

func (l *learning) start(c *event.Container, now int64) {
	w := workloadOf(c)
	if w.check() != nil {
		return
	}
	if _, ok := l.byKey[w]; !ok {
		l.byKey[w] = NewLearner(w, now)
	}
}

// observe adds e to its workload's learner; when the window is over it
// finishes the baseline and returns it bound.
func (l *learning) observe(s *Set, c *event.Container, e *event.Event) *Index {
	w := workloadOf(c)
	ln, ok := l.byKey[w]
	if !ok {
		return nil
	}
	ln.AddContainer(c)
	if e.Time-ln.start < int64(l.window) {
		ln.Add(e)
		return nil
	}
	delete(l.byKey, w)
	x, err := l.finish(ln, e.Time)
	if err != nil {
		if s.log != nil {
			fmt.Fprintf(s.log, "palisade: learn %s: %s\n", escape.Text(w.String()), escape.Line(err.Error()))
		}
		return nil
	}
	s.entries = append(s.entries, x)
	clear(s.byCtr) // every replica looks its baseline up again
	s.lastC, s.lastX = nil, nil
	if s.log != nil {
		fmt.Fprintf(s.log, "palisade: learned %s: %s (%d executables, %d syscalls, %d write paths, %d destinations, %d ports); detecting drift\n",
			escape.Text(w.String()), escape.Text(filepath.Join(l.dir, x.name)), len(x.Baseline.Executables), len(x.Baseline.Syscalls[x.Baseline.Arch]),
			len(x.Baseline.Writes), len(x.Baseline.Destinations), len(x.Baseline.Listen))
	}
	return x
}

// finish writes the learner's baseline unless a reviewed one is there,
// which is loaded instead.
func (l *learning) finish(ln *Learner, now int64) (*Index, error) {
	file := filepath.Join(l.dir, FileName(ln.w))
	if data, err := os.ReadFile(file); err == nil {
		if old, err := Parse(file, data, syscalls.CaptureArch().Name); err == nil && old.Reviewed {
			return Compile(old, filepath.Base(file)), nil
		} else if err != nil && strings.Contains(string(data), `"reviewed": true`) {
			return nil, fmt.Errorf("%v (a reviewed baseline is never overwritten)", err)
		}
	}
	b := ln.Baseline(now)
	data, err := b.Marshal()
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(file, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return nil, err
	}
	return Compile(b, filepath.Base(file)), nil
}

// Names lists the bound baselines' names, sorted.
func (s *Set) Names() []string {
	var out []string
	for _, x := range s.entries {
		out = append(out, x.name)
	}
	sort.Strings(out)
	return out
}

// Indexes returns the bound baselines.
func (s *Set) Indexes() []*Index { return append([]*Index(nil), s.entries...) }
