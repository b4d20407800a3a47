package baseline

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/apparmor"
	"github.com/palisade-sec/palisade/internal/record"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Version is the baseline file format this package writes and reads.
const Version = 1

// Baseline is what one workload was seen doing, the union over its
// recordings and replicas.
type Baseline struct {
	Version int `json:"palisade_baseline"`
	// Reviewed marks a baseline a person has read and accepted: learning
	// never overwrites it, and merge clears it (the content changed).
	Reviewed bool     `json:"reviewed"`
	Workload Workload `json:"workload"`
	// Arch is the native architecture of the machine that saw the
	// workload; a baseline for another one is refused, not misread.
	Arch string `json:"arch"`
	// SyscallsComplete: Syscalls hold every call the workload made (a
	// recording). A learned baseline saw only the calls watch captured;
	// it detects drift among those but cannot make a seccomp profile.
	SyscallsComplete bool `json:"syscalls_complete"`
	// CapabilitiesChecked: the kernel's capability checks were recorded,
	// so Capabilities is the complete needed set.
	CapabilitiesChecked bool   `json:"capabilities_checked"`
	FirstSeen           string `json:"first_seen"` // RFC 3339
	LastSeen            string `json:"last_seen"`
	// Sources are the recordings and containers (replicas) merged.
	Sources []string `json:"sources"`
	// Executables are the files run (the kernel's path of the image).
	Executables []Item `json:"executables"`
	// Programs are the paths programs were run by (a symlink's own path:
	// busybox's /bin/wget and /bin/httpd are one executable, two programs).
	Programs []Item `json:"programs"`
	// Syscalls by arch ("x86_64", and "x86" for the 32-bit compat ABI).
	Syscalls map[string][]Item `json:"syscalls"`
	// SyscallArgs are the argument values the seccomp profile filters on
	// (record.ArgFilters).
	SyscallArgs map[string][]uint64 `json:"syscall_args,omitempty"`
	// Writes are the paths opened for writing or created, as globs: *
	// one path element, ** any number, ? one byte.
	Writes []Item `json:"writes"`
	// Destinations are outbound connections: "tcp 10.0.0.5:5432",
	// "udp [fd00::1]:53", "tcp 10.0.0.0/8:443", "tcp 10.1.2.3:*".
	Destinations []Item `json:"destinations"`
	// Listen are listening ports: "tcp 80".
	Listen []Item `json:"listen"`
	// Capabilities the workload needed (Docker spelling).
	Capabilities []Item `json:"capabilities"`
	// SetIDExec, UIDs and GIDs are kept for the profile (no-new-privileges,
	// --user).
	SetIDExec []string `json:"setid_exec"`
	UIDs      []uint32 `json:"uids"`
	GIDs      []uint32 `json:"gids"`
}

// Item is one thing the workload did: how often and when.
type Item struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
	First string `json:"first_seen,omitempty"` // RFC 3339
	Last  string `json:"last_seen,omitempty"`
}

// Workload is what a baseline is bound to: an image (repository, and a
// digest or a tag), and optionally one container name or one Kubernetes
// workload. Several containers matching it (replicas) share the baseline.
type Workload struct {
	Image     string `json:"image"`
	Tag       string `json:"tag,omitempty"`
	Digest    string `json:"digest,omitempty"`
	Container string `json:"container,omitempty"`
	// K8sNamespace and K8sWorkload select pods: the namespace, and the
	// controller's name the pod's name starts with (name-<hash>...).
	K8sNamespace string `json:"k8s_namespace,omitempty"`
	K8sWorkload  string `json:"k8s_workload,omitempty"`
}

// String is the workload as a user writes it: image[:tag][@digest], then
// the container or Kubernetes selector.
func (w Workload) String() string {
	s := w.Image
	if w.Tag != "" {
		s += ":" + w.Tag
	}
	if w.Digest != "" {
		s += "@" + w.Digest
	}
	if w.Container != "" {
		s += " container " + w.Container
	}
	if w.K8sWorkload != "" || w.K8sNamespace != "" {
		s += " k8s " + w.K8sNamespace + "/" + w.K8sWorkload
	}
	return s
}

// ParseImage splits an image reference (repo[:tag][@sha256:...]) into a
// Workload's image fields.
func ParseImage(ref string) (Workload, error) {
	var w Workload
	if ref == "" {
		return w, fmt.Errorf("empty image reference")
	}
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		w.Digest = ref[i+1:]
		ref = ref[:i]
		if !validDigest(w.Digest) {
			return w, fmt.Errorf("image digest %q: want sha256: and 64 hex digits", w.Digest)
		}
	}
	// A tag is after the last ':' that follows the last '/' (a registry
	// host:port has its ':' before a '/').
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		w.Tag = ref[i+1:]
		ref = ref[:i]
	}
	w.Image = ref
	return w, w.check()
}

func validDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// check says what is wrong with a workload's fields.
func (w Workload) check() error {
	if w.Image == "" {
		return fmt.Errorf("workload: no image")
	}
	for _, f := range []struct{ name, v string }{{"image", w.Image}, {"tag", w.Tag}, {"container", w.Container}, {"k8s_namespace", w.K8sNamespace}, {"k8s_workload", w.K8sWorkload}} {
		if len(f.v) > 255 {
			return fmt.Errorf("workload %s: longer than 255 bytes", f.name)
		}
		for _, c := range f.v {
			if c < 0x21 || c == 0x7f || c >= 0x80 {
				return fmt.Errorf("workload %s %q: only printable ASCII without spaces", f.name, f.v)
			}
		}
	}
	if w.Digest != "" && !validDigest(w.Digest) {
		return fmt.Errorf("workload digest %q: want sha256: and 64 hex digits", w.Digest)
	}
	return nil
}

// New returns an empty baseline of w on the capture's native arch.
func New(w Workload) *Baseline {
	return &Baseline{Version: Version, Workload: w, Arch: syscalls.CaptureArch().Name, Syscalls: map[string][]Item{}}
}

// FromRecording makes the baseline of workload w from a recording: every
// item seen once per recording, between its first start and last end,
// syscalls counted as recorded, written paths globbed as the AppArmor
// generator globs them.
func FromRecording(rec *record.Recording, w Workload) (*Baseline, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
	b := New(w)
	b.SyscallsComplete = true
	b.CapabilitiesChecked = rec.Caps.Collected
	var first, last time.Time
	for _, s := range rec.Sources {
		if t, err := time.Parse(time.RFC3339Nano, s.Start); err == nil && (first.IsZero() || t.Before(first)) {
			first = t
		}
		if t, err := time.Parse(time.RFC3339Nano, s.End); err == nil && t.After(last) {
			last = t
		}
		what := "recording"
		if s.Container != "" {
			what += " of container " + s.Container
		} else if len(s.Command) > 0 {
			what += " of " + strings.Join(s.Command, " ")
		}
		b.Sources = append(b.Sources, what+" "+s.Start)
	}
	if last.IsZero() {
		last = first
	}
	b.FirstSeen, b.LastSeen = stamp(first), stamp(last)
	item := func(name string, n uint64) Item {
		return Item{Name: name, Count: n, First: b.FirstSeen, Last: b.LastSeen}
	}
	for _, e := range rec.Executables {
		b.Executables = append(b.Executables, item(e, 1))
	}
	for _, p := range rec.Programs {
		b.Programs = append(b.Programs, item(p, 1))
	}
	for arch, m := range rec.Syscalls {
		for n, c := range m {
			b.Syscalls[arch] = append(b.Syscalls[arch], item(n, c))
		}
	}
	if len(rec.Args) > 0 {
		b.SyscallArgs = map[string][]uint64{}
		for n, v := range rec.Args {
			b.SyscallArgs[n] = slices.Clone(v)
		}
	}
	for _, g := range WriteGlobs(append(slices.Clone(rec.Files.Write), rec.Files.Create...)) {
		b.Writes = append(b.Writes, item(g, 1))
	}
	for _, e := range rec.Connect {
		if d, ok := endpointDest(e); ok {
			b.Destinations = append(b.Destinations, item(d, 1))
		}
	}
	for _, e := range rec.Listen {
		if e.Family == "inet" || e.Family == "inet6" {
			b.Listen = append(b.Listen, item(ListenName(e.Proto, e.Port), 1))
		}
	}
	for _, c := range rec.Caps.Needed() {
		b.Capabilities = append(b.Capabilities, item(c, 1))
	}
	b.SetIDExec = slices.Clone(rec.SetIDExec)
	b.UIDs, b.GIDs = slices.Clone(rec.UIDs), slices.Clone(rec.GIDs)
	b.normalize()
	return b, nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func endpointDest(e record.Endpoint) (string, bool) {
	if e.Family != "inet" && e.Family != "inet6" {
		return "", false
	}
	a, err := netip.ParseAddr(e.IP)
	if err != nil {
		return "", false
	}
	proto := e.Proto
	if proto == "" {
		proto = "tcp"
	}
	return DestName(proto, a, e.Port), true
}

// DestName is a destination item: "tcp 10.0.0.5:5432", "udp [::1]:53".
func DestName(proto string, a netip.Addr, port uint16) string {
	return proto + " " + netip.AddrPortFrom(a.Unmap(), port).String()
}

// ListenName is a listening port item: "tcp 80".
func ListenName(proto string, port uint16) string {
	if proto == "" {
		proto = "tcp"
	}
	return proto + " " + strconv.Itoa(int(port))
}

// WriteGlobs generalises written paths as the AppArmor generator does
// (files sharing a directory become dir/*, several globbed subdirectories
// dir/**, /proc/<pid> any pid), keeping the device files every profile
// may write (/dev/null...) that the generator leaves to its base rules.
func WriteGlobs(paths []string) []string {
	spec, d, err := apparmor.FromObserved("baseline", apparmor.Observed{Write: paths})
	if err != nil {
		return nil
	}
	var out []string
	for _, g := range append(slices.Clone(spec.Files.Write), d.Covered...) {
		out = append(out, fromAppArmor(g))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// fromAppArmor turns AppArmor's variables into plain globs.
func fromAppArmor(g string) string {
	g = strings.ReplaceAll(g, "@{PROC}", "/proc")
	g = strings.ReplaceAll(g, "@{pid}", "*")
	return strings.ReplaceAll(g, "@{tid}", "*")
}

// Merge unions baselines of one workload on one arch: counts add up,
// first and last seen widen, sources are concatenated. The result is not
// reviewed (its content is new).
func Merge(bs ...*Baseline) (*Baseline, error) {
	if len(bs) == 0 {
		return nil, fmt.Errorf("merge: no baselines")
	}
	out := New(bs[0].Workload)
	out.Arch = bs[0].Arch
	out.SyscallsComplete, out.CapabilitiesChecked = true, true
	for i, b := range bs {
		if b.Arch != out.Arch {
			return nil, fmt.Errorf("merge: baseline %d is for %s, the first for %s", i+1, b.Arch, out.Arch)
		}
		if b.Workload != out.Workload {
			return nil, fmt.Errorf("merge: baseline %d is for %s, the first for %s", i+1, b.Workload, out.Workload)
		}
		out.add(b)
	}
	out.normalize()
	return out, nil
}

// add unions b into out (same workload and arch).
func (out *Baseline) add(b *Baseline) {
	out.SyscallsComplete = out.SyscallsComplete && b.SyscallsComplete
	out.CapabilitiesChecked = out.CapabilitiesChecked && b.CapabilitiesChecked
	out.FirstSeen = minStamp(out.FirstSeen, b.FirstSeen)
	out.LastSeen = maxStamp(out.LastSeen, b.LastSeen)
	out.Sources = append(out.Sources, b.Sources...)
	out.Executables = mergeItems(out.Executables, b.Executables)
	out.Programs = mergeItems(out.Programs, b.Programs)
	for arch, l := range b.Syscalls {
		out.Syscalls[arch] = mergeItems(out.Syscalls[arch], l)
	}
	for n, v := range b.SyscallArgs {
		if out.SyscallArgs == nil {
			out.SyscallArgs = map[string][]uint64{}
		}
		out.SyscallArgs[n] = append(out.SyscallArgs[n], v...)
	}
	out.Writes = mergeItems(out.Writes, b.Writes)
	out.Destinations = mergeItems(out.Destinations, b.Destinations)
	out.Listen = mergeItems(out.Listen, b.Listen)
	out.Capabilities = mergeItems(out.Capabilities, b.Capabilities)
	out.SetIDExec = append(out.SetIDExec, b.SetIDExec...)
	out.UIDs = append(out.UIDs, b.UIDs...)
	out.GIDs = append(out.GIDs, b.GIDs...)
}

func minStamp(a, b string) string {
	if a == "" || (b != "" && b < a) {
		return b
	}
	return a
}

func maxStamp(a, b string) string {
	if b > a {
		return b
	}
	return a
}

// mergeItems unions two item lists by name, sorted.
func mergeItems(a, b []Item) []Item {
	byName := make(map[string]Item, len(a)+len(b))
	for _, l := range [][]Item{a, b} {
		for _, it := range l {
			if have, ok := byName[it.Name]; ok {
				have.Count += it.Count
				have.First = minStamp(have.First, it.First)
				have.Last = maxStamp(have.Last, it.Last)
				it = have
			}
			byName[it.Name] = it
		}
	}
	out := make([]Item, 0, len(byName))
	for _, it := range byName {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// normalize sorts and deduplicates every list so equal baselines encode to
// equal bytes, and turns nil lists into empty ones.
func (b *Baseline) normalize() {
	for _, p := range []*[]Item{&b.Executables, &b.Programs, &b.Writes, &b.Destinations, &b.Listen, &b.Capabilities} {
		*p = mergeItems(*p, nil)
	}
	if b.Syscalls == nil {
		b.Syscalls = map[string][]Item{}
	}
	for a, l := range b.Syscalls {
		b.Syscalls[a] = mergeItems(l, nil)
	}
	for n, v := range b.SyscallArgs {
		slices.Sort(v)
		b.SyscallArgs[n] = slices.Compact(v)
	}
	if b.Sources == nil {
		b.Sources = []string{}
	}
	b.SetIDExec = sortedSet(b.SetIDExec)
	b.UIDs, b.GIDs = sortedSet(b.UIDs), sortedSet(b.GIDs)
}

func sortedSet[T string | uint32](l []T) []T {
	l = append(make([]T, 0, len(l)), l...)
	slices.Sort(l)
	return slices.Compact(l)
}

// Recording turns the baseline back into a recording for the profile
// generators (internal/profile): syscalls with their argument values,
// writes (as globs), executables, listening ports, capabilities and ids.
func (b *Baseline) Recording() *record.Recording {
	r := record.New()
	r.Sources = []record.Source{{Start: b.FirstSeen, End: b.LastSeen, Ended: "baseline", Container: b.Workload.String()}}
	for arch, l := range b.Syscalls {
		m := map[string]uint64{}
		for _, it := range l {
			m[it.Name] = it.Count
		}
		r.Syscalls[arch] = m
	}
	if len(b.SyscallArgs) > 0 {
		r.Args = map[string][]uint64{}
		for n, v := range b.SyscallArgs {
			r.Args[n] = slices.Clone(v)
		}
	}
	for _, it := range b.Writes {
		r.Files.Write = append(r.Files.Write, it.Name)
	}
	for _, it := range b.Executables {
		r.Executables = append(r.Executables, it.Name)
		r.Files.Exec = append(r.Files.Exec, it.Name)
	}
	for _, it := range b.Listen {
		proto, port, _ := strings.Cut(it.Name, " ")
		n, _ := strconv.Atoi(port)
		r.Listen = append(r.Listen, record.Endpoint{Family: "inet", Proto: proto, Port: uint16(n)})
	}
	r.Caps.Collected = b.CapabilitiesChecked
	if b.CapabilitiesChecked {
		r.Caps.Reason, r.Caps.Source = "", record.CapSource
		for _, it := range b.Capabilities {
			r.Caps.Checked = append(r.Caps.Checked, record.CheckedCap{Name: it.Name, Granted: it.Count, Needed: true})
		}
	} else {
		for _, it := range b.Capabilities {
			r.Caps.Inferred = append(r.Caps.Inferred, record.InferredCap{Name: it.Name, Evidence: []string{"baseline"}})
		}
	}
	r.SetIDExec = slices.Clone(b.SetIDExec)
	r.UIDs, r.GIDs = slices.Clone(b.UIDs), slices.Clone(b.GIDs)
	return r
}

// FileName is the file a baseline of w is kept in within a directory: the
// workload's fields with every byte outside [A-Za-z0-9._-] turned to '_'.
func FileName(w Workload) string {
	parts := []string{w.Image}
	if w.Tag != "" {
		parts = append(parts, w.Tag)
	}
	if w.Digest != "" {
		parts = append(parts, strings.TrimPrefix(w.Digest, "sha256:")[:12])
	}
	if w.Container != "" {
		parts = append(parts, "c-"+w.Container)
	}
	if w.K8sNamespace != "" || w.K8sWorkload != "" {
		parts = append(parts, "k8s-"+w.K8sNamespace+"-"+w.K8sWorkload)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, strings.Join(parts, "_"))
	name = strings.TrimLeft(name, ".")
	if len(name) > 200 {
		name = name[:200]
	}
	return path.Clean(name) + ".json"
}
