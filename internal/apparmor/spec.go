package apparmor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/palisade-sec/palisade/internal/spelling"
	"github.com/palisade-sec/palisade/internal/srcpos"
)

// Spec is the short policy a profile is generated from.
type Spec struct {
	// Name is the profile name, used with docker run --security-opt apparmor=NAME.
	Name string `json:"name" yaml:"name"`
	// Abstractions are extra includes from /etc/apparmor.d/abstractions
	// (abstractions/base is always included).
	Abstractions []string     `json:"abstractions,omitempty" yaml:"abstractions,omitempty,flow"`
	Files        Files        `json:"files" yaml:"files"`
	Network      []string     `json:"network,omitempty" yaml:"network,omitempty,flow"`
	Capabilities []string     `json:"capabilities,omitempty" yaml:"capabilities,omitempty,flow"`
	Signal       []SignalRule `json:"signal,omitempty" yaml:"signal,omitempty"`
	Ptrace       []PtraceRule `json:"ptrace,omitempty" yaml:"ptrace,omitempty"`
	Mount        []MountRule  `json:"mount,omitempty" yaml:"mount,omitempty"`
}

// Files lists path globs by the access they are granted.
type Files struct {
	Read   []string `json:"read,omitempty" yaml:"read,omitempty,flow"`     // r
	Write  []string `json:"write,omitempty" yaml:"write,omitempty,flow"`   // rw (create, truncate, read back)
	Append []string `json:"append,omitempty" yaml:"append,omitempty,flow"` // ra (log files)
	Exec   []string `json:"exec,omitempty" yaml:"exec,omitempty,flow"`     // mrix (run inside this profile)
	Lock   []string `json:"lock,omitempty" yaml:"lock,omitempty,flow"`     // k
	Deny   []string `json:"deny,omitempty" yaml:"deny,omitempty,flow"`     // deny mrwlkx, wins over every grant
}

// SignalRule allows sending or receiving signals to or from another profile.
type SignalRule struct {
	Access  []string `json:"access" yaml:"access,flow"`                       // send, receive
	Signals []string `json:"signals,omitempty" yaml:"signals,omitempty,flow"` // empty: all signals
	Peer    string   `json:"peer" yaml:"peer"`
}

// PtraceRule allows ptrace between this profile and a peer profile.
type PtraceRule struct {
	Access []string `json:"access" yaml:"access,flow"` // read, trace, readby, tracedby
	Peer   string   `json:"peer" yaml:"peer"`
}

// MountRule allows one mount (and the matching umount of its target).
type MountRule struct {
	FSType  string   `json:"fstype,omitempty" yaml:"fstype,omitempty"`
	Source  string   `json:"source,omitempty" yaml:"source,omitempty"`
	Target  string   `json:"target" yaml:"target"`
	Options []string `json:"options,omitempty" yaml:"options,omitempty,flow"`
}

// ErrorList is every problem found in a spec, sorted by position. Its Error
// is one line: the first problem and how many more there are.
type ErrorList = srcpos.ErrorList

// maxSpecSize bounds a spec file; real ones are a few hundred bytes.
const maxSpecSize = 1 << 20

// ParseSpec reads a spec. file names the input in error messages. The
// returned error is an ErrorList when the input is YAML but not a valid spec.
func ParseSpec(file string, data []byte) (*Spec, error) {
	if len(data) > maxSpecSize {
		return nil, ErrorList{{Pos: srcpos.Position{File: file}, Msg: fmt.Sprintf("spec is %d bytes, more than the %d allowed", len(data), maxSpecSize)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrorList{{Pos: srcpos.Position{File: file}, Msg: "empty spec (want at least name:)"}}
		}
		return nil, ErrorList{yamlError(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, ErrorList{{Pos: srcpos.Position{File: file, Line: extra.Line, Col: extra.Column}, Msg: "more than one YAML document; a spec is one document"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, ErrorList{yamlError(file, err)}
	}
	p := &specParser{file: file}
	spec := p.spec(&doc)
	if len(p.errs) > 0 {
		p.errs.Sort()
		return nil, p.errs
	}
	return spec, nil
}

// yamlError turns a yaml syntax error ("yaml: line 3: ...") into file:line:col.
func yamlError(file string, err error) *srcpos.Error {
	msg := strings.Join(strings.Fields(err.Error()), " ") // one line
	msg = strings.TrimPrefix(msg, "yaml: ")
	var line int
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		rest := msg[strings.Index(msg, ":")+1:]
		return &srcpos.Error{Pos: srcpos.Position{File: file, Line: line, Col: 1}, Msg: strings.TrimSpace(rest)}
	}
	return &srcpos.Error{Pos: srcpos.Position{File: file}, Msg: msg}
}

type specParser struct {
	file string
	errs ErrorList
}

func (p *specParser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs.Addf(srcpos.Position{File: p.file, Line: n.Line, Col: n.Column}, format, args...)
}

// field is one key a mapping accepts and how to read its value.
type field struct {
	name string
	read func(v *yaml.Node)
}

// mapping reads a mapping node: every key must be one of fields, at most once.
func (p *specParser) mapping(n *yaml.Node, what string, fields []field) {
	if n.Kind == yaml.AliasNode {
		p.errorf(n, "%s: YAML aliases are not allowed in a spec", what)
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping, not %s", what, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: keys must be plain words", what)
			continue
		}
		var f *field
		for j := range fields {
			if fields[j].name == k.Value {
				f = &fields[j]
			}
		}
		if f == nil {
			names := make([]string, len(fields))
			for j := range fields {
				names[j] = fields[j].name
			}
			p.errorf(k, "unknown key %q in %s%s (want one of %s)", k.Value, what, suggest(k.Value, names), strings.Join(names, ", "))
			continue
		}
		if seen[k.Value] {
			p.errorf(k, "duplicate key %q in %s", k.Value, what)
			continue
		}
		seen[k.Value] = true
		if v.Kind == yaml.AliasNode {
			p.errorf(v, "%s.%s: YAML aliases are not allowed in a spec", what, k.Value)
			continue
		}
		f.read(v)
	}
}

// scalar reads a string value; null counts as empty.
func (p *specParser) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a single value, not %s", what, kindName(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

// list reads a sequence of scalars (or null, meaning empty), checking each
// with check, which returns the canonical value or an error message.
func (p *specParser) list(n *yaml.Node, what string, check func(string) (string, string)) []string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list, not %s", what, kindName(n))
		return nil
	}
	var out []string
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
			p.errorf(item, "%s: each entry must be a single value, not %s", what, kindName(item))
			continue
		}
		v, msg := check(item.Value)
		if msg != "" {
			p.errorf(item, "%s: %s", what, msg)
			continue
		}
		out = append(out, v)
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "a document"
}

// spec reads the top-level document.
func (p *specParser) spec(doc *yaml.Node) *Spec {
	s := &Spec{}
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	var nameNode *yaml.Node
	p.mapping(root, "the spec", []field{
		{"name", func(v *yaml.Node) {
			nameNode = v
			if name, ok := p.scalar(v, "name"); ok {
				if name == "" {
					return
				}
				if msg := checkProfileName(name); msg != "" {
					p.errorf(v, "name: %s", msg)
				}
				s.Name = name
			}
		}},
		{"abstractions", func(v *yaml.Node) {
			s.Abstractions = p.list(v, "abstractions", checkAbstraction)
		}},
		{"files", func(v *yaml.Node) { p.files(v, &s.Files) }},
		{"network", func(v *yaml.Node) { s.Network = p.list(v, "network", checkNetwork) }},
		{"capabilities", func(v *yaml.Node) { s.Capabilities = p.list(v, "capabilities", checkCapability) }},
		{"signal", func(v *yaml.Node) { s.Signal = p.signals(v) }},
		{"ptrace", func(v *yaml.Node) { s.Ptrace = p.ptraces(v) }},
		{"mount", func(v *yaml.Node) { s.Mount = p.mounts(v) }},
	})
	if root.Kind == yaml.MappingNode && nameNode == nil {
		p.errorf(root, "missing name: (the profile name, e.g. name: nginx-web)")
	} else if nameNode != nil && s.Name == "" && nameNode.Kind == yaml.ScalarNode {
		p.errorf(nameNode, "name: must not be empty")
	}
	return s
}

func (p *specParser) files(n *yaml.Node, f *Files) {
	grant := func(key string, dst *[]string) field {
		return field{key, func(v *yaml.Node) {
			*dst = p.list(v, "files."+key, checkGrantPath)
		}}
	}
	p.mapping(n, "files", []field{
		grant("read", &f.Read),
		grant("write", &f.Write),
		grant("append", &f.Append),
		grant("exec", &f.Exec),
		grant("lock", &f.Lock),
		{"deny", func(v *yaml.Node) { f.Deny = p.list(v, "files.deny", checkDenyPath) }},
	})
}

// seq calls each for every item of a sequence node (null: none).
func (p *specParser) seq(n *yaml.Node, what string, each func(*yaml.Node)) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of rules, not %s", what, kindName(n))
		return
	}
	for _, item := range n.Content {
		each(item)
	}
}

func (p *specParser) peer(v *yaml.Node, what string, dst *string) {
	if s, ok := p.scalar(v, what); ok {
		if msg := checkPeer(s); msg != "" {
			p.errorf(v, "%s: %s", what, msg)
			return
		}
		*dst = s
	}
}

func (p *specParser) signals(n *yaml.Node) []SignalRule {
	var out []SignalRule
	p.seq(n, "signal", func(item *yaml.Node) {
		var r SignalRule
		before := len(p.errs)
		p.mapping(item, "signal rule", []field{
			{"access", func(v *yaml.Node) { r.Access = p.list(v, "signal.access", checkOneOf(signalAccess)) }},
			{"signals", func(v *yaml.Node) { r.Signals = p.list(v, "signal.signals", checkSignal) }},
			{"peer", func(v *yaml.Node) { p.peer(v, "signal.peer", &r.Peer) }},
		})
		if len(p.errs) > before {
			return
		}
		if len(r.Access) == 0 {
			p.errorf(item, "signal rule needs access: [send] and/or [receive]")
			return
		}
		if r.Peer == "" {
			p.errorf(item, "signal rule needs peer: (the other profile's name)")
			return
		}
		out = append(out, r)
	})
	return out
}

func (p *specParser) ptraces(n *yaml.Node) []PtraceRule {
	var out []PtraceRule
	p.seq(n, "ptrace", func(item *yaml.Node) {
		var r PtraceRule
		before := len(p.errs)
		p.mapping(item, "ptrace rule", []field{
			{"access", func(v *yaml.Node) { r.Access = p.list(v, "ptrace.access", checkOneOf(ptraceAccess)) }},
			{"peer", func(v *yaml.Node) { p.peer(v, "ptrace.peer", &r.Peer) }},
		})
		if len(p.errs) > before {
			return
		}
		if len(r.Access) == 0 {
			p.errorf(item, "ptrace rule needs access: (read, trace, readby, tracedby)")
			return
		}
		if r.Peer == "" {
			p.errorf(item, "ptrace rule needs peer: (the other profile's name)")
			return
		}
		out = append(out, r)
	})
	return out
}

func (p *specParser) mounts(n *yaml.Node) []MountRule {
	var out []MountRule
	p.seq(n, "mount", func(item *yaml.Node) {
		var r MountRule
		before := len(p.errs)
		p.mapping(item, "mount rule", []field{
			{"fstype", func(v *yaml.Node) {
				if s, ok := p.scalar(v, "mount.fstype"); ok {
					if msg := checkFSType(s); msg != "" {
						p.errorf(v, "mount.fstype: %s", msg)
					}
					r.FSType = s
				}
			}},
			{"source", func(v *yaml.Node) {
				if s, ok := p.scalar(v, "mount.source"); ok {
					if msg := checkMountSource(s); msg != "" {
						p.errorf(v, "mount.source: %s", msg)
					}
					r.Source = s
				}
			}},
			{"target", func(v *yaml.Node) {
				if s, ok := p.scalar(v, "mount.target"); ok {
					c, msg := checkGrantPath(s)
					if msg != "" {
						p.errorf(v, "mount.target: %s", msg)
					}
					r.Target = c
				}
			}},
			{"options", func(v *yaml.Node) { r.Options = p.list(v, "mount.options", checkOneOf(mountOptions)) }},
		})
		if len(p.errs) > before {
			return
		}
		if r.Target == "" {
			p.errorf(item, "mount rule needs target: (an absolute path)")
			return
		}
		out = append(out, r)
	})
	return out
}

// suggest returns ` (did you mean "x"?)` when a close name exists.
func suggest(got string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(got), n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int { return spelling.Distance(a, b) }

// EncodeSpec writes s as spec YAML that ParseSpec reads back to the same
// Spec; lists are sorted and de-duplicated so the output is deterministic.
func EncodeSpec(s *Spec) ([]byte, error) {
	c := *s
	c.Abstractions = uniq(s.Abstractions)
	c.Network = uniq(s.Network)
	c.Capabilities = uniq(s.Capabilities)
	c.Files = Files{
		Read: uniq(s.Files.Read), Write: uniq(s.Files.Write), Append: uniq(s.Files.Append),
		Exec: uniq(s.Files.Exec), Lock: uniq(s.Files.Lock), Deny: uniq(s.Files.Deny),
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&c); err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	return b.Bytes(), nil
}
