package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Version is the Recording format this package writes and reads.
const Version = 1

// Recording is what one or more observed runs of a workload did.
type Recording struct {
	Version int `json:"version"`
	// Sources are the runs this recording covers (several after Merge).
	Sources []Source `json:"sources"`
	// Syscalls counts calls by arch ("x86_64", "x86" for the 32-bit compat
	// ABI) and name, failed calls included: a profile that refused a call
	// the workload expected to fail would still change its behaviour.
	Syscalls map[string]map[string]uint64 `json:"syscalls"`
	// Unnamed are syscall numbers with no name in the arch's table.
	Unnamed map[string][]int `json:"unnamed_syscalls,omitempty"`
	// Args are argument values seen for the syscalls a profile filters on
	// (see ArgFilters).
	Args  map[string][]uint64 `json:"args,omitempty"`
	Files Files               `json:"files"`
	// Executables are the programs run (the kernel's path of the image).
	Executables []string `json:"executables"`
	// Programs are the paths programs were run by: the file name exec was
	// given (a symlink's own path, such as busybox's /bin/wget), absolute
	// ones only. Recordings made before it was kept have none.
	Programs []string `json:"programs,omitempty"`
	// SetIDExec are programs whose exec changed the uid or gid (setuid or
	// setgid files): no-new-privileges would stop that change.
	SetIDExec []string   `json:"setid_exec"`
	Sockets   []Socket   `json:"sockets"`
	Bind      []Endpoint `json:"bind"`
	Listen    []Endpoint `json:"listen"`
	Connect   []Endpoint `json:"connect"`
	// UIDs and GIDs are the effective ids the workload ran with.
	UIDs      []uint32     `json:"uids"`
	GIDs      []uint32     `json:"gids"`
	IDChanges []IDChange   `json:"id_changes"`
	Caps      Capabilities `json:"capabilities"`
	// Processes is how many processes were followed.
	Processes int `json:"processes"`
	// Lost counts kernel records dropped (ring buffer full) while recording:
	// when it is not 0 the recording may miss syscalls.
	Lost uint64 `json:"lost_records"`
}

// Source is one recorded run.
type Source struct {
	Command   []string `json:"command,omitempty"`
	Container string   `json:"container,omitempty"`
	Kernel    string   `json:"kernel,omitempty"`
	Start     string   `json:"start"` // RFC 3339
	End       string   `json:"end"`
	// Ended says why recording stopped: exited, duration, interrupted.
	Ended    string `json:"ended"`
	ExitCode *int   `json:"exit_code,omitempty"`
}

// Files are absolute paths; a directory that was opened for listing ends
// in "/".
type Files struct {
	Read   []string `json:"read"`
	Write  []string `json:"write"`
	Create []string `json:"create"`
	Exec   []string `json:"exec"`
}

// Socket is a socket(2) or socketpair(2) call that succeeded. Type has
// SOCK_NONBLOCK and SOCK_CLOEXEC cleared.
type Socket struct {
	Family   string `json:"family"`
	Domain   int    `json:"domain"`
	Type     int    `json:"type"`
	Protocol int    `json:"protocol"`
}

// Endpoint is an address the workload bound, listened on or connected to.
type Endpoint struct {
	Family string `json:"family"`
	Proto  string `json:"proto,omitempty"` // tcp, udp when known
	IP     string `json:"ip,omitempty"`
	Port   uint16 `json:"port,omitempty"`
	Path   string `json:"path,omitempty"` // AF_UNIX
}

// IDChange is a credential-changing call (setuid family, setgroups).
type IDChange struct {
	Syscall string    `json:"syscall"`
	Args    []int64   `json:"args"`
	OK      bool      `json:"ok"`
	From    [2]uint32 `json:"from"` // uid, euid before the call (as last seen)
	To      [2]uint32 `json:"to"`   // uid, euid after it
}

// Capabilities are what the recording knows of the capabilities the
// workload needed.
type Capabilities struct {
	// Collected is true only when capability checks (cap_capable) were
	// recorded; Needed is then complete.
	Collected bool `json:"collected"`
	// Source says where Checked came from when Collected.
	Source string `json:"source,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Inferred are capabilities the syscalls alone prove were used.
	Inferred []InferredCap `json:"inferred"`
	// Checked are the capability checks the kernel made for the followed
	// processes (after their exec), by capability, when Collected.
	Checked []CheckedCap `json:"checked,omitempty"`
}

// CheckedCap counts the kernel's checks of one capability.
type CheckedCap struct {
	Name    string `json:"name"` // Docker spelling: CHOWN
	Granted uint64 `json:"granted"`
	Denied  uint64 `json:"denied"`
	// Needed: granted at least once, and not a check the kernel makes
	// whatever the workload needs (see SysAdminProbe).
	Needed bool   `json:"needed"`
	Note   string `json:"note,omitempty"`
}

// CapSource is Capabilities.Source for checks from the kernel.
const CapSource = "capability:cap_capable tracepoint"

// SysAdminProbe is why granted SYS_ADMIN checks alone do not make it
// needed.
const SysAdminProbe = "the kernel checks SYS_ADMIN (noaudit) on every mmap, brk and exec to size overcommit and the tracepoint cannot tell that probe from a real need; only a successful mount, umount2, pivot_root, sethostname or setdomainname proves it"

// Needed returns the capabilities the recording shows the workload
// needed (Docker names, sorted): the inferred ones and, when checks were
// collected, those checked, granted and needed.
func (c Capabilities) Needed() []string {
	var out []string
	for _, i := range c.Inferred {
		out = append(out, i.Name)
	}
	for _, k := range c.Checked {
		if k.Needed {
			out = append(out, k.Name)
		}
	}
	return union(out, nil)
}

// addChecked adds n granted or denied checks of capability name.
func addChecked(list []CheckedCap, name string, granted, denied uint64) []CheckedCap {
	i := slices.IndexFunc(list, func(c CheckedCap) bool { return c.Name == name })
	if i < 0 {
		list = append(list, CheckedCap{Name: name})
		i = len(list) - 1
	}
	c := &list[i]
	c.Granted += granted
	c.Denied += denied
	c.Needed = c.Granted > 0 && name != "SYS_ADMIN"
	c.Note = ""
	if name == "SYS_ADMIN" && c.Granted > 0 {
		c.Note = SysAdminProbe
	}
	return list
}

// InferredCap is one capability and the calls that needed it.
type InferredCap struct {
	Name     string   `json:"name"` // Docker spelling: NET_BIND_SERVICE
	Evidence []string `json:"evidence"`
}

// NotCollectedReason is why Caps.Collected is false today.
const NotCollectedReason = "capability checks were not recorded (the capability:cap_capable tracepoint needs Linux 6.15 or later); only capabilities proven by syscalls (privileged ports, uid/gid changes, setgroups, mount) are listed, so the capability set is partial"

// New returns an empty Recording of the current version.
func New() *Recording {
	return &Recording{
		Version:  Version,
		Syscalls: map[string]map[string]uint64{},
		Caps:     Capabilities{Reason: NotCollectedReason},
	}
}

// Arches returns the architectures the recording saw calls on, the
// capture's native one first.
func (r *Recording) Arches() []string {
	var out []string
	for a, m := range r.Syscalls {
		if len(m) > 0 {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i] == nativeArch) != (out[j] == nativeArch) {
			return out[i] == nativeArch
		}
		return out[i] < out[j]
	})
	return out
}

// SyscallNames returns the sorted names seen on arch.
func (r *Recording) SyscallNames(arch string) []string {
	var out []string
	for n := range r.Syscalls[arch] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Merge unions recordings: counts add up, every set is the union, sources
// are concatenated. A capability set is collected only if every input's was.
func Merge(recs ...*Recording) *Recording {
	out := New()
	if len(recs) > 0 {
		out.Caps.Collected = true
		out.Caps.Reason = ""
	}
	for _, r := range recs {
		out.Sources = append(out.Sources, r.Sources...)
		for arch, m := range r.Syscalls {
			if out.Syscalls[arch] == nil {
				out.Syscalls[arch] = map[string]uint64{}
			}
			for n, c := range m {
				out.Syscalls[arch][n] += c
			}
		}
		for arch, l := range r.Unnamed {
			if out.Unnamed == nil {
				out.Unnamed = map[string][]int{}
			}
			out.Unnamed[arch] = union(out.Unnamed[arch], l)
		}
		for n, l := range r.Args {
			if out.Args == nil {
				out.Args = map[string][]uint64{}
			}
			out.Args[n] = union(out.Args[n], l)
		}
		out.Files.Read = union(out.Files.Read, r.Files.Read)
		out.Files.Write = union(out.Files.Write, r.Files.Write)
		out.Files.Create = union(out.Files.Create, r.Files.Create)
		out.Files.Exec = union(out.Files.Exec, r.Files.Exec)
		out.Executables = union(out.Executables, r.Executables)
		out.Programs = union(out.Programs, r.Programs)
		out.SetIDExec = union(out.SetIDExec, r.SetIDExec)
		out.Sockets = unionBy(out.Sockets, r.Sockets, socketKey)
		out.Bind = unionBy(out.Bind, r.Bind, endpointKey)
		out.Listen = unionBy(out.Listen, r.Listen, endpointKey)
		out.Connect = unionBy(out.Connect, r.Connect, endpointKey)
		out.UIDs = union(out.UIDs, r.UIDs)
		out.GIDs = union(out.GIDs, r.GIDs)
		out.IDChanges = unionBy(out.IDChanges, r.IDChanges, func(c IDChange) string { return fmt.Sprint(c) })
		if !r.Caps.Collected {
			out.Caps.Collected = false
			out.Caps.Reason = r.Caps.Reason
		} else if out.Caps.Source == "" {
			out.Caps.Source = r.Caps.Source
		}
		for _, c := range r.Caps.Inferred {
			out.Caps.Inferred = addCap(out.Caps.Inferred, c.Name, c.Evidence...)
		}
		for _, c := range r.Caps.Checked {
			out.Caps.Checked = addChecked(out.Caps.Checked, c.Name, c.Granted, c.Denied)
		}
		out.Processes += r.Processes
		out.Lost += r.Lost
	}
	if !out.Caps.Collected {
		out.Caps.Source = ""
	}
	out.normalize()
	return out
}

func addCap(list []InferredCap, name string, evidence ...string) []InferredCap {
	for i := range list {
		if list[i].Name == name {
			list[i].Evidence = union(list[i].Evidence, evidence)
			return list
		}
	}
	return append(list, InferredCap{Name: name, Evidence: union(nil, evidence)})
}

// normalize sorts every set so equal recordings encode to equal bytes, and
// turns nil lists into empty ones so the JSON always has every key.
func (r *Recording) normalize() {
	for _, p := range []*[]string{&r.Files.Read, &r.Files.Write, &r.Files.Create, &r.Files.Exec, &r.Executables, &r.SetIDExec} {
		*p = union(*p, nil)
	}
	for a, l := range r.Unnamed {
		r.Unnamed[a] = union(l, nil)
	}
	for n, l := range r.Args {
		r.Args[n] = union(l, nil)
	}
	r.UIDs, r.GIDs = union(r.UIDs, nil), union(r.GIDs, nil)
	r.Sockets = unionBy(r.Sockets, nil, socketKey)
	r.Bind = unionBy(r.Bind, nil, endpointKey)
	r.Listen = unionBy(r.Listen, nil, endpointKey)
	r.Connect = unionBy(r.Connect, nil, endpointKey)
	if r.IDChanges == nil {
		r.IDChanges = []IDChange{}
	}
	if r.Sources == nil {
		r.Sources = []Source{}
	}
	sort.Slice(r.Caps.Inferred, func(i, j int) bool { return r.Caps.Inferred[i].Name < r.Caps.Inferred[j].Name })
	if r.Caps.Inferred == nil {
		r.Caps.Inferred = []InferredCap{}
	}
	sort.Slice(r.Caps.Checked, func(i, j int) bool { return r.Caps.Checked[i].Name < r.Caps.Checked[j].Name })
}

func socketKey(s Socket) string { return fmt.Sprintf("%05d/%05d/%05d", s.Domain, s.Type, s.Protocol) }
func endpointKey(e Endpoint) string {
	return fmt.Sprintf("%s/%s/%s/%05d/%s", e.Family, e.Proto, e.IP, e.Port, e.Path)
}

type ordered interface {
	~string | ~int | ~uint32 | ~uint64
}

// union returns the sorted set of a and b (never nil).
func union[T ordered](a, b []T) []T {
	out := append(append(make([]T, 0, len(a)+len(b)), a...), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

func unionBy[T any](a, b []T, key func(T) string) []T {
	seen := map[string]T{}
	for _, l := range [][]T{a, b} {
		for _, v := range l {
			seen[key(v)] = v
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, seen[k])
	}
	return out
}

// Marshal encodes the recording as indented JSON with a final newline.
func (r *Recording) Marshal() ([]byte, error) {
	r.normalize()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode recording: %w", err)
	}
	return append(b, '\n'), nil
}

// Parse reads a recording; name is used in errors, which carry
// name:line:col where the JSON says where.
func Parse(name string, data []byte) (*Recording, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	r := &Recording{}
	if err := dec.Decode(r); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, srcpos.Errorf(srcpos.At(name, data, se.Offset), "%s", se.Error())
		case errors.As(err, &te):
			return nil, srcpos.Errorf(srcpos.At(name, data, te.Offset), "%s: want %s, got %s", te.Field, te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return nil, srcpos.Errorf(srcpos.Position{File: name}, "%s (is this a palisade recording?)", strings.TrimPrefix(err.Error(), "json: "))
		case errors.Is(err, io.EOF):
			return nil, srcpos.Errorf(srcpos.Position{File: name}, "empty file, not a recording")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, srcpos.Errorf(srcpos.At(name, data, int64(len(data))), "unexpected end of file")
		}
		return nil, srcpos.Wrap(srcpos.Position{File: name}, err)
	}
	if dec.More() {
		return nil, srcpos.Errorf(srcpos.At(name, data, dec.InputOffset()), "data after the recording")
	}
	file := srcpos.Position{File: name}
	if r.Version != Version {
		return nil, srcpos.Errorf(file, "recording version %d, this palisade reads version %d", r.Version, Version)
	}
	if r.Syscalls == nil {
		return nil, srcpos.Errorf(file, "no \"syscalls\" object: not a palisade recording")
	}
	for arch := range r.Syscalls {
		if c, ok := syscalls.Canonical(arch); !ok || c != arch {
			return nil, srcpos.Errorf(file, "syscalls: unknown architecture %q", arch)
		}
	}
	r.normalize()
	return r, nil
}
