package exposure

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/spelling"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// TableFile is the embedded table's name in error messages.
const TableFile = "internal/exposure/data/kernel-cves.yaml"

//go:embed data/kernel-cves.yaml
var tableData []byte

// Builtin returns the embedded table. It panics if the table is malformed,
// which TestBuiltinTable rules out.
var Builtin = sync.OnceValue(func() *Table {
	t, err := Parse(TableFile, tableData)
	if err != nil {
		panic(err)
	}
	return t
})

// Table is the parsed list of bugs, in file order.
type Table struct {
	Bugs []*Bug
}

// Only returns the table's bugs of one component.
func (t *Table) Only(component string) *Table {
	out := &Table{}
	for _, b := range t.Bugs {
		if b.Component == component {
			out.Bugs = append(out.Bugs, b)
		}
	}
	return out
}

// Components of a bug.
const (
	ComponentKernel = "kernel"
	ComponentRunc   = "runc"
)

// Bug is one table entry.
type Bug struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Component  string `json:"component"`
	Impact     string `json:"impact"`
	Summary    string `json:"summary"`
	Introduced string `json:"introduced,omitempty"`
	// Fixed holds the first fixed release of each branch; for the kernel a
	// MAJOR.MINOR entry is the mainline release with the fix.
	Fixed []string `json:"fixed,omitempty"`
	// Vendor is set for a bug only one distribution's kernels carry.
	Vendor     string          `json:"vendor,omitempty"`
	Confidence string          `json:"confidence"`
	Needs      []Need          `json:"needs"`
	Notes      string          `json:"notes,omitempty"`
	Sources    []string        `json:"sources"`
	Pos        srcpos.Position `json:"-"`

	introduced *Version
	mainline   *Version
	stable     []Version
	runcIntro  *RuntimeVersion
	runcFixed  *RuntimeVersion
}

// Need kinds.
const (
	NeedSyscall = "syscall"
	NeedCap     = "cap"
	NeedUserns  = "userns"
	NeedModule  = "module"
	NeedConfig  = "config"
	NeedCgroup  = "cgroup"
	NeedDevice  = "device"
	NeedBPF     = "bpf"
	NeedTrigger = "trigger"
)

// Need is one thing reaching a bug takes; a bug needs all of its Needs.
type Need struct {
	Kind string `json:"kind"`
	// Syscall, with Args (arg0 first) the values a filter is asked about,
	// and What the call as C for messages.
	Syscall string   `json:"syscall,omitempty"`
	Args    []uint64 `json:"args,omitempty"`
	What    string   `json:"what,omitempty"`
	// Cap is a capability name without CAP_; InUserns means holding it in
	// a user namespace the attacker creates is enough.
	Cap      string `json:"cap,omitempty"`
	InUserns bool   `json:"in_userns,omitempty"`
	// Module and its Kconfig symbol; Config alone for a kernel option.
	Module string `json:"module,omitempty"`
	Config string `json:"config,omitempty"`
	// Cgroup is "v1"; Device a device path; BPF "unprivileged".
	Cgroup  string          `json:"cgroup,omitempty"`
	Device  string          `json:"device,omitempty"`
	BPF     string          `json:"bpf,omitempty"`
	Trigger string          `json:"trigger,omitempty"`
	Pos     srcpos.Position `json:"-"`
}

// Call is the syscall as C: What, or the name and arguments.
func (n Need) Call() string {
	if n.What != "" {
		return n.What
	}
	if len(n.Args) == 0 {
		return n.Syscall + "()"
	}
	parts := make([]string, len(n.Args))
	for i, a := range n.Args {
		parts[i] = "0x" + strconv.FormatUint(a, 16)
	}
	return n.Syscall + "(" + strings.Join(parts, ", ") + ")"
}

var (
	idRE     = regexp.MustCompile(`^CVE-\d{4}-\d{4,7}$`)
	configRE = regexp.MustCompile(`^CONFIG_[A-Z0-9_]+$`)
	moduleRE = regexp.MustCompile(`^[a-z0-9_]+$`)
)

var bugKeys = []string{"id", "name", "component", "impact", "summary", "introduced", "fixed", "vendor", "confidence", "needs", "notes", "sources"}
var needKeys = []string{"syscall", "args", "what", "cap", "in_userns", "module", "config", "cgroup", "device", "bpf", "trigger", "userns"}

// parser walks the YAML node tree, collecting errors with positions.
type parser struct {
	file string
	errs srcpos.ErrorList
}

func (p *parser) pos(n *yaml.Node) srcpos.Position {
	return srcpos.Position{File: p.file, Line: n.Line, Col: n.Column}
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs.Addf(p.pos(n), format, args...)
}

// Parse reads a table. Every problem is reported as file:line:col; the
// table is returned only when there are none.
//
//	table = "bugs:" { bug } .
func Parse(file string, data []byte) (*Table, error) {
	p := &parser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, srcpos.Errorf(srcpos.Position{File: file}, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, srcpos.Errorf(srcpos.Position{File: file, Line: max(doc.Line, 1)}, "want a mapping with a bugs: list")
	}
	root := doc.Content[0]
	var bugs *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "bugs" {
			p.errorf(k, "unknown key %q (want bugs)", k.Value)
			continue
		}
		bugs = v
	}
	if bugs == nil {
		p.errorf(root, "no bugs: list")
	} else if bugs.Kind != yaml.SequenceNode {
		p.errorf(bugs, "bugs must be a list")
	} else {
		t := &Table{}
		seen := map[string]srcpos.Position{}
		for _, n := range bugs.Content {
			b := p.bug(n)
			if b == nil {
				continue
			}
			if prev, dup := seen[b.ID]; dup {
				p.errorf(n, "%s is listed twice (first at line %d)", b.ID, prev.Line)
			}
			seen[b.ID] = b.Pos
			t.Bugs = append(t.Bugs, b)
		}
		if len(p.errs) == 0 {
			return t, nil
		}
	}
	p.errs.Sort()
	return nil, p.errs.Err()
}

// fields checks a mapping's keys against want and returns key → value node.
func (p *parser) fields(n *yaml.Node, want []string, what string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping", what)
		return nil
	}
	m := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(want, k.Value) {
			hint := ""
			if s, ok := spelling.Closest(k.Value, want, 3); ok {
				hint = fmt.Sprintf(" (did you mean %s?)", s)
			}
			p.errorf(k, "unknown key %q in %s%s", k.Value, what, hint)
			continue
		}
		if _, dup := m[k.Value]; dup {
			p.errorf(k, "%s given twice", k.Value)
		}
		m[k.Value] = v
	}
	return m
}

func (p *parser) str(n *yaml.Node, key string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s must be a string", key)
		return ""
	}
	return n.Value
}

func (p *parser) strs(n *yaml.Node, key string) []string {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list", key)
		return nil
	}
	var out []string
	for _, e := range n.Content {
		out = append(out, p.str(e, key))
	}
	return out
}

// bug parses one entry.
//
//	bug = "id" "name" "component" "impact" "summary" ["introduced"] ["fixed"] ["vendor"] "confidence" "needs" ["notes"] "sources" .
func (p *parser) bug(n *yaml.Node) *Bug {
	before := len(p.errs)
	m := p.fields(n, bugKeys, "a bug")
	if m == nil {
		return nil
	}
	b := &Bug{Pos: p.pos(n)}
	b.ID = p.str(m["id"], "id")
	b.Name = p.str(m["name"], "name")
	b.Component = p.str(m["component"], "component")
	b.Impact = p.str(m["impact"], "impact")
	b.Summary = p.str(m["summary"], "summary")
	b.Introduced = p.str(m["introduced"], "introduced")
	b.Fixed = p.strs(m["fixed"], "fixed")
	b.Vendor = p.str(m["vendor"], "vendor")
	b.Confidence = p.str(m["confidence"], "confidence")
	b.Notes = p.str(m["notes"], "notes")
	b.Sources = p.strs(m["sources"], "sources")
	for _, k := range []string{"id", "name", "component", "impact", "summary", "confidence", "needs", "sources"} {
		if m[k] == nil {
			p.errorf(n, "missing %s", k)
		}
	}
	at := func(key string) *yaml.Node {
		if v := m[key]; v != nil {
			return v
		}
		return n
	}
	if b.ID != "" && !idRE.MatchString(b.ID) {
		p.errorf(at("id"), "id %q is not a CVE id (CVE-YYYY-NNNN)", b.ID)
	}
	check := func(key, val string, allowed ...string) {
		if val != "" && !slices.Contains(allowed, val) {
			p.errorf(at(key), "%s %q: want one of %s", key, val, strings.Join(allowed, ", "))
		}
	}
	check("component", b.Component, ComponentKernel, ComponentRunc)
	check("impact", b.Impact, "breakout", "escalation", "leak")
	check("confidence", b.Confidence, "high", "medium", "low")
	check("vendor", b.Vendor, "ubuntu", "debian", "rhel", "suse")
	for i, s := range b.Sources {
		if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
			p.errorf(m["sources"].Content[i], "source %q is not a URL", s)
		}
	}
	if m["sources"] != nil && len(b.Sources) == 0 {
		p.errorf(m["sources"], "a bug needs at least one source")
	}
	switch b.Component {
	case ComponentKernel:
		p.kernelVersions(b, m, at)
	case ComponentRunc:
		p.runcVersions(b, m, at)
	}
	if nn := m["needs"]; nn != nil {
		if nn.Kind != yaml.SequenceNode || len(nn.Content) == 0 {
			p.errorf(nn, "needs must be a non-empty list")
		} else {
			for _, e := range nn.Content {
				if need, ok := p.need(e, b.Component); ok {
					b.Needs = append(b.Needs, need)
				}
			}
		}
	}
	if len(p.errs) > before {
		return nil
	}
	return b
}

func (p *parser) kernelVersions(b *Bug, m map[string]*yaml.Node, at func(string) *yaml.Node) {
	if b.Introduced != "" {
		v, err := ParseVersion(b.Introduced)
		if err != nil {
			p.errorf(at("introduced"), "introduced: %v", err)
		} else {
			b.introduced = &v
		}
	}
	branches := map[Version]bool{}
	for i, s := range b.Fixed {
		node := m["fixed"].Content[i]
		v, err := ParseVersion(s)
		if err != nil {
			p.errorf(node, "fixed: %v", err)
			continue
		}
		if v.Patch < 0 {
			if b.mainline != nil {
				p.errorf(node, "fixed: two mainline releases (%s and %s); list one, the first with the fix", b.mainline, v)
				continue
			}
			b.mainline = &v
			continue
		}
		if branches[v.Branch()] {
			p.errorf(node, "fixed: the %s branch is listed twice", v.Branch())
		}
		branches[v.Branch()] = true
		b.stable = append(b.stable, v)
	}
	switch {
	case b.Vendor == "" && b.mainline == nil && b.Fixed != nil:
		p.errorf(at("fixed"), "fixed: no mainline release (MAJOR.MINOR) listed")
	case b.Vendor == "" && m["fixed"] == nil:
		p.errorf(at("id"), "%s: an upstream bug needs fixed: (a vendor-only bug sets vendor:)", b.ID)
	}
	if b.mainline != nil {
		for _, s := range b.stable {
			if s.Branch().Compare(*b.mainline) >= 0 {
				p.errorf(at("fixed"), "fixed: stable %s is not on a branch before mainline %s", s, b.mainline)
			}
		}
		if b.introduced != nil && b.introduced.Compare(*b.mainline) >= 0 {
			p.errorf(at("introduced"), "introduced %s is not before the fix in %s", b.introduced, b.mainline)
		}
	}
}

func (p *parser) runcVersions(b *Bug, m map[string]*yaml.Node, at func(string) *yaml.Node) {
	if b.Introduced != "" {
		v := ParseRuntimeVersion(b.Introduced)
		if !v.Known {
			p.errorf(at("introduced"), "introduced: %q is not a runc version", b.Introduced)
		}
		b.runcIntro = &v
	}
	if len(b.Fixed) != 1 {
		p.errorf(at("fixed"), "fixed: a runc bug lists exactly one release")
		return
	}
	v := ParseRuntimeVersion(b.Fixed[0])
	if !v.Known {
		p.errorf(at("fixed"), "fixed: %q is not a runc version", b.Fixed[0])
	}
	b.runcFixed = &v
}

// need parses one requirement: a mapping with exactly one kind key, plus
// that kind's modifiers.
//
//	need = syscall ["args"] ["what"] | cap ["in_userns"] | userns | module ["config"] | config | cgroup | device | bpf | trigger .
func (p *parser) need(n *yaml.Node, component string) (Need, bool) {
	before := len(p.errs)
	m := p.fields(n, needKeys, "a need")
	if m == nil {
		return Need{}, false
	}
	nd := Need{Pos: p.pos(n)}
	kinds := []string{}
	for _, k := range []string{NeedSyscall, NeedCap, NeedUserns, NeedModule, NeedCgroup, NeedDevice, NeedBPF, NeedTrigger} {
		if m[k] != nil {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 && m[NeedConfig] != nil {
		kinds = append(kinds, NeedConfig)
	}
	if len(kinds) != 1 {
		p.errorf(n, "a need has exactly one of syscall, cap, userns, module, config, cgroup, device, bpf, trigger (got %d)", len(kinds))
		return Need{}, false
	}
	nd.Kind = kinds[0]
	allowedMods := map[string][]string{
		NeedSyscall: {"args", "what"}, NeedCap: {"in_userns"}, NeedModule: {"config"},
	}
	for k, v := range m {
		if k != nd.Kind && !slices.Contains(allowedMods[nd.Kind], k) {
			p.errorf(v, "%s does not go with %s", k, nd.Kind)
		}
	}
	switch nd.Kind {
	case NeedSyscall:
		nd.Syscall = p.str(m["syscall"], "syscall")
		if _, ok := syscalls.Number("x86_64", nd.Syscall); nd.Syscall != "" && !ok {
			p.errorf(m["syscall"], "unknown syscall %q", nd.Syscall)
		}
		nd.What = p.str(m["what"], "what")
		if a := m["args"]; a != nil {
			if a.Kind != yaml.SequenceNode || len(a.Content) > 6 {
				p.errorf(a, "args must be a list of at most 6 integers")
			} else {
				for _, e := range a.Content {
					v, err := strconv.ParseUint(e.Value, 0, 64)
					if err != nil || e.Kind != yaml.ScalarNode {
						p.errorf(e, "argument %q is not an unsigned integer", e.Value)
					}
					nd.Args = append(nd.Args, v)
				}
			}
		}
	case NeedCap:
		nd.Cap = strings.TrimPrefix(p.str(m["cap"], "cap"), "CAP_")
		if _, ok := caps.Number(nd.Cap); !ok {
			p.errorf(m["cap"], "unknown capability %q", nd.Cap)
		}
		if v := m["in_userns"]; v != nil {
			nd.InUserns = p.boolean(v, "in_userns")
		}
	case NeedUserns:
		if !p.boolean(m["userns"], "userns") {
			p.errorf(m["userns"], "userns: false needs nothing; remove it")
		}
	case NeedModule:
		nd.Module = p.str(m["module"], "module")
		if !moduleRE.MatchString(nd.Module) {
			p.errorf(m["module"], "module %q: want a module name like nf_tables", nd.Module)
		}
		nd.Config = p.str(m["config"], "config")
		if m["config"] == nil {
			p.errorf(n, "module %s needs config: (its Kconfig symbol, to tell built-in from absent)", nd.Module)
		}
	case NeedConfig:
		nd.Config = p.str(m["config"], "config")
	case NeedCgroup:
		nd.Cgroup = p.str(m["cgroup"], "cgroup")
		if nd.Cgroup != "v1" {
			p.errorf(m["cgroup"], "cgroup %q: only v1 is a need", nd.Cgroup)
		}
	case NeedDevice:
		nd.Device = p.str(m["device"], "device")
		if !strings.HasPrefix(nd.Device, "/dev/") {
			p.errorf(m["device"], "device %q: want a /dev path", nd.Device)
		}
	case NeedBPF:
		nd.BPF = p.str(m["bpf"], "bpf")
		if nd.BPF != "unprivileged" {
			p.errorf(m["bpf"], "bpf %q: only unprivileged is a need", nd.BPF)
		}
	case NeedTrigger:
		nd.Trigger = p.str(m["trigger"], "trigger")
	}
	if nd.Config != "" && !configRE.MatchString(nd.Config) {
		p.errorf(m["config"], "config %q: want a Kconfig symbol like CONFIG_NF_TABLES", nd.Config)
	}
	if (component == ComponentRunc) != (nd.Kind == NeedTrigger) {
		p.errorf(n, "%s bugs need %s", component, map[bool]string{true: "only triggers", false: "no trigger"}[component == ComponentRunc])
	}
	return nd, len(p.errs) == before
}

func (p *parser) boolean(n *yaml.Node, key string) bool {
	if n.Kind != yaml.ScalarNode || (n.Value != "true" && n.Value != "false") {
		p.errorf(n, "%s must be true or false", key)
		return false
	}
	return n.Value == "true"
}
