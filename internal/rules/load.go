package rules

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/input"
)

// EngineVersion is the Falco rules-engine version whose language Palisade
// implements; files that require a later one are refused.
const EngineVersion = "0.57.0"

// File is one rule file's name (for messages) and contents.
type File struct {
	Name string
	Data []byte
}

// ReadFiles reads rule files, in order, each bounded by input.RuleFile's
// limit; it gives up when ctx ends.
func ReadFiles(ctx context.Context, paths ...string) ([]File, error) {
	out := make([]File, 0, len(paths))
	for _, p := range paths {
		b, err := input.ReadFile(ctx, p, input.RuleFile)
		if err != nil {
			return nil, fmt.Errorf("read rules: %w", err)
		}
		out = append(out, File{Name: p, Data: b})
	}
	return out, nil
}

// List is a named list of values.
type List struct {
	Name  string
	Items []string
	Pos   Position
	used  bool
}

// Macro is a named condition fragment.
type Macro struct {
	Name string
	Cond *Source
	Pos  Position
	ast  Node
	used bool
}

// Exception is one entry of a rule's exceptions.
type Exception struct {
	Name   string
	Fields []string
	Single bool // fields was a single field, values a flat list
	Comps  []string
	Values []*yaml.Node // each a tuple (sequence) or, for Single, a scalar/sequence value
	file   *fileText
	pos    Position
}

// Rule is a loaded rule: its definition, and after compilation its matcher.
type Rule struct {
	Name                string
	Desc                string
	Output              string
	Priority            alert.Priority
	Tags                []string
	Enabled             bool
	Source              string
	Cond                *Source
	Exceptions          []*Exception
	WarnEvttypes        bool
	SkipIfUnknownFilter bool
	Pos                 Position

	outputPos Position
	compiled  *compiledRule
}

// loader accumulates definitions across files in order.
type loader struct {
	lists      map[string]*List
	listOrder  []*List
	macros     map[string]*Macro
	macroOrder []*Macro
	rules      map[string]*Rule
	ruleOrder  []*Rule
	errs       ErrorList
	warns      ErrorList
	file       *fileText
}

func newLoader() *loader {
	return &loader{lists: map[string]*List{}, macros: map[string]*Macro{}, rules: map[string]*Rule{}}
}

func (l *loader) pos(n *yaml.Node) Position {
	if n == nil {
		return Position{File: l.file.name}
	}
	return Position{File: l.file.name, Line: n.Line, Col: n.Column}
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	l.errs = append(l.errs, &Error{Pos: l.pos(n), Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) warnf(n *yaml.Node, format string, args ...any) {
	l.warns = append(l.warns, &Error{Pos: l.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// loadFile adds one file's items.
func (l *loader) loadFile(f File) {
	l.file = &fileText{name: f.Name, data: f.Data}
	dec := yaml.NewDecoder(bytes.NewReader(f.Data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			l.errs = append(l.errs, yamlError(f.Name, err))
			return
		}
		if len(doc.Content) == 0 {
			continue
		}
		top := doc.Content[0]
		if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
			continue
		}
		if top.Kind != yaml.SequenceNode {
			l.errorf(top, "a rules file must be a list of items (- rule:, - macro:, - list:), found a %s", kindName(top))
			continue
		}
		for _, item := range top.Content {
			l.loadItem(item)
		}
	}
}

// yamlError turns a yaml.v3 error ("yaml: line 3: ...") into file:line.
func yamlError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line = n
				msg = strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return &Error{Pos: Position{File: file, Line: line}, Msg: "invalid YAML: " + msg}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// keys maps each key of a mapping node to its key and value nodes.
type keys struct {
	key map[string]*yaml.Node
	val map[string]*yaml.Node
}

func mappingKeys(n *yaml.Node) keys {
	k := keys{key: map[string]*yaml.Node{}, val: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name := n.Content[i].Value
		k.key[name] = n.Content[i]
		k.val[name] = resolveAlias(n.Content[i+1])
	}
	return k
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func (k keys) has(name string) bool { _, ok := k.val[name]; return ok }

func (l *loader) loadItem(item *yaml.Node) {
	item = resolveAlias(item)
	if item.Kind != yaml.MappingNode {
		l.errorf(item, "each item must be a mapping (rule, macro, list, ...), found a %s", kindName(item))
		return
	}
	k := mappingKeys(item)
	switch {
	case k.has("rule"):
		l.loadRule(item, k)
	case k.has("macro"):
		l.loadMacro(item, k)
	case k.has("list"):
		l.loadList(item, k)
	case k.has("required_engine_version"):
		l.checkEngineVersion(k.val["required_engine_version"])
	case k.has("required_plugin_versions"):
		l.checkPlugins(k.val["required_plugin_versions"])
	default:
		l.errorf(item, "unknown item: expected one of rule, macro, list, required_engine_version, required_plugin_versions")
	}
}

// scalar returns a scalar node's value or reports an error.
func (l *loader) scalar(k keys, name, item string) (string, bool) {
	n := k.val[name]
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, "%s: %q must be a string, found a %s", item, name, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (l *loader) boolean(k keys, name, item string) (bool, bool) {
	n := k.val[name]
	if n == nil {
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	l.errorf(n, "%s: %q must be true or false, found %q", item, name, n.Value)
	return false, false
}

func (l *loader) stringList(n *yaml.Node, what string) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "%s must be a list, found a %s", what, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		c = resolveAlias(c)
		if c.Kind != yaml.ScalarNode {
			l.errorf(c, "%s: items must be strings, found a %s", what, kindName(c))
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

func (l *loader) checkUnknownKeys(k keys, item string, allowed ...string) {
	for name, kn := range k.key {
		ok := false
		for _, a := range allowed {
			if name == a {
				ok = true
				break
			}
		}
		if !ok {
			l.warnf(kn, "%s: unknown key %q ignored", item, name)
		}
	}
}

// override parses an item's override: mapping, key -> "append"|"replace".
func (l *loader) override(k keys, item string, appendable, replaceable []string) (map[string]string, bool) {
	n := k.val["override"]
	if n == nil {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s: override must be a mapping of key: append|replace", item)
		return nil, false
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, mode := n.Content[i], n.Content[i+1]
		allowed := replaceable
		if mode.Value == "append" {
			allowed = appendable
		} else if mode.Value != "replace" {
			l.errorf(mode, "%s: override of %q must be append or replace, found %q", item, key.Value, mode.Value)
			return nil, false
		}
		found := false
		for _, a := range allowed {
			if a == key.Value {
				found = true
			}
		}
		if !found {
			l.errorf(key, "%s: key %q cannot be overridden with %s", item, key.Value, mode.Value)
			return nil, false
		}
		if !k.has(key.Value) {
			l.errorf(key, "%s: override names %q but the item does not define it", item, key.Value)
			return nil, false
		}
		out[key.Value] = mode.Value
	}
	return out, true
}

func (l *loader) loadList(item *yaml.Node, k keys) {
	name, ok := l.scalar(k, "list", "list")
	if !ok || name == "" {
		l.errorf(item, "list: name must be a non-empty string")
		return
	}
	what := fmt.Sprintf("list %s", name)
	l.checkUnknownKeys(k, what, "list", "items", "append", "override")
	if !k.has("items") {
		l.errorf(k.key["list"], "%s: missing required key \"items\"", what)
		return
	}
	items := l.stringList(k.val["items"], what+": items")
	ov, ok := l.override(k, what, []string{"items"}, []string{"items"})
	if !ok {
		return
	}
	app, _ := l.boolean(k, "append", what)
	if k.has("append") && k.has("override") {
		l.errorf(k.key["append"], "%s: append and override cannot be used together", what)
		return
	}
	old := l.lists[name]
	if app || ov["items"] == "append" {
		if old == nil {
			l.errorf(k.key["list"], "%s: cannot append to a list that is not defined", what)
			return
		}
		old.Items = append(old.Items, items...)
		return
	}
	if ov["items"] == "replace" && old == nil {
		l.errorf(k.key["list"], "%s: cannot override a list that is not defined", what)
		return
	}
	nl := &List{Name: name, Items: items, Pos: l.pos(k.key["list"])}
	if old != nil {
		*old = *nl
		return
	}
	l.lists[name] = nl
	l.listOrder = append(l.listOrder, nl)
}

func (l *loader) loadMacro(item *yaml.Node, k keys) {
	name, ok := l.scalar(k, "macro", "macro")
	if !ok || name == "" {
		l.errorf(item, "macro: name must be a non-empty string")
		return
	}
	what := fmt.Sprintf("macro %s", name)
	l.checkUnknownKeys(k, what, "macro", "condition", "append", "override")
	if _, ok := l.scalar(k, "condition", what); !ok {
		if !k.has("condition") {
			l.errorf(k.key["macro"], "%s: missing required key \"condition\"", what)
		}
		return
	}
	src := newSource(l.file, k.val["condition"])
	ov, ok := l.override(k, what, []string{"condition"}, []string{"condition"})
	if !ok {
		return
	}
	app, _ := l.boolean(k, "append", what)
	old := l.macros[name]
	if app || ov["condition"] == "append" {
		if old == nil {
			l.errorf(k.key["macro"], "%s: cannot append to a macro that is not defined", what)
			return
		}
		old.Cond = old.Cond.appendSource(" ", src)
		l.parseMacro(old)
		return
	}
	if ov["condition"] == "replace" && old == nil {
		l.errorf(k.key["macro"], "%s: cannot override a macro that is not defined", what)
		return
	}
	m := &Macro{Name: name, Cond: src, Pos: l.pos(k.key["macro"])}
	l.parseMacro(m)
	if old != nil {
		*old = *m
		return
	}
	l.macros[name] = m
	l.macroOrder = append(l.macroOrder, m)
}

func (l *loader) parseMacro(m *Macro) {
	n, err := ParseCondition(m.Cond)
	if err != nil {
		l.addErr(err, fmt.Sprintf("macro %s: ", m.Name))
		m.ast = nil
		return
	}
	m.ast = n
}

// addErr records a parse/compile error, prefixing its message.
func (l *loader) addErr(err error, prefix string) {
	if e, ok := err.(*Error); ok {
		l.errs = append(l.errs, &Error{Pos: e.Pos, Msg: prefix + e.Msg})
		return
	}
	l.errs = append(l.errs, &Error{Msg: prefix + err.Error()})
}

var ruleKeys = []string{"rule", "condition", "output", "desc", "priority", "tags", "enabled", "exceptions", "source", "append", "override", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration"}

func (l *loader) loadRule(item *yaml.Node, k keys) {
	name, ok := l.scalar(k, "rule", "rule")
	if !ok || name == "" {
		l.errorf(item, "rule: name must be a non-empty string")
		return
	}
	what := fmt.Sprintf("rule %q", name)
	l.checkUnknownKeys(k, what, ruleKeys...)
	old := l.rules[name]
	app, _ := l.boolean(k, "append", what)
	if k.has("append") && k.has("override") {
		l.errorf(k.key["append"], "%s: append and override cannot be used together", what)
		return
	}
	ov, ok := l.override(k, what,
		[]string{"condition", "output", "desc", "tags", "exceptions"},
		[]string{"condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter"})
	if !ok {
		return
	}
	switch {
	case k.has("override"):
		if old == nil {
			l.errorf(k.key["rule"], "%s: cannot override a rule that is not defined", what)
			return
		}
		l.overrideRule(old, k, ov, what)
	case app:
		if old == nil {
			l.errorf(k.key["rule"], "%s: cannot append to a rule that is not defined", what)
			return
		}
		mode := map[string]string{}
		for _, key := range []string{"condition", "exceptions", "output", "desc", "tags"} {
			if k.has(key) {
				mode[key] = "append"
			}
		}
		l.overrideRule(old, k, mode, what)
	case old != nil && onlyKeys(k, "rule", "enabled"):
		// Legacy form: redefining just `enabled` toggles an existing rule.
		if v, ok := l.boolean(k, "enabled", what); ok {
			old.Enabled = v
		}
	default:
		r := &Rule{Name: name, Enabled: true, Source: "syscall", WarnEvttypes: true, Pos: l.pos(k.key["rule"])}
		missing := false
		for _, req := range []string{"condition", "output", "desc", "priority"} {
			if !k.has(req) {
				l.errorf(k.key["rule"], "%s: missing required key %q", what, req)
				missing = true
			}
		}
		if missing {
			return
		}
		l.setRuleKeys(r, k, what, nil)
		if old != nil {
			*old = *r
			return
		}
		l.rules[name] = r
		l.ruleOrder = append(l.ruleOrder, r)
	}
}

func onlyKeys(k keys, names ...string) bool {
	if len(k.val) != len(names) {
		return false
	}
	for _, n := range names {
		if !k.has(n) {
			return false
		}
	}
	return true
}

// setRuleKeys copies every present key into r; mode (when non-nil) limits
// it to the overridden keys and says append or replace for each.
func (l *loader) setRuleKeys(r *Rule, k keys, what string, mode map[string]string) {
	want := func(key string) (string, bool) {
		if !k.has(key) {
			return "", false
		}
		if mode == nil {
			return "replace", true
		}
		m, ok := mode[key]
		return m, ok
	}
	if m, ok := want("condition"); ok {
		if _, ok := l.scalar(k, "condition", what); ok {
			src := newSource(l.file, k.val["condition"])
			if m == "append" && r.Cond != nil {
				r.Cond = r.Cond.appendSource(" ", src)
			} else {
				r.Cond = src
			}
		}
	}
	if m, ok := want("output"); ok {
		if v, ok := l.scalar(k, "output", what); ok {
			if m == "append" {
				r.Output = r.Output + " " + strings.TrimSpace(v)
			} else {
				r.Output = strings.TrimSpace(v)
				r.outputPos = l.pos(k.val["output"])
			}
		}
	}
	if m, ok := want("desc"); ok {
		if v, ok := l.scalar(k, "desc", what); ok {
			if m == "append" {
				r.Desc = r.Desc + " " + v
			} else {
				r.Desc = v
			}
		}
	}
	if _, ok := want("priority"); ok {
		if v, ok := l.scalar(k, "priority", what); ok {
			p, good := alert.ParsePriority(v)
			if !good {
				l.errorf(k.val["priority"], "%s: invalid priority %q (want emergency, alert, critical, error, warning, notice, informational or debug)", what, v)
			}
			r.Priority = p
		}
	}
	if m, ok := want("tags"); ok {
		tags := l.stringList(k.val["tags"], what+": tags")
		if m == "append" {
			r.Tags = append(r.Tags, tags...)
		} else {
			r.Tags = tags
		}
	}
	if _, ok := want("enabled"); ok {
		if v, ok := l.boolean(k, "enabled", what); ok {
			r.Enabled = v
		}
	}
	if _, ok := want("warn_evttypes"); ok {
		if v, ok := l.boolean(k, "warn_evttypes", what); ok {
			r.WarnEvttypes = v
		}
	}
	if _, ok := want("skip-if-unknown-filter"); ok {
		if v, ok := l.boolean(k, "skip-if-unknown-filter", what); ok {
			r.SkipIfUnknownFilter = v
		}
	}
	if mode == nil && k.has("source") {
		if v, ok := l.scalar(k, "source", what); ok && v != "" {
			r.Source = v
		}
	}
	if m, ok := want("exceptions"); ok {
		excs := l.exceptions(k.val["exceptions"], what, m == "append")
		if m == "append" {
			l.appendExceptions(r, excs, k.val["exceptions"], what)
		} else {
			r.Exceptions = excs
		}
	}
}

func (l *loader) overrideRule(r *Rule, k keys, mode map[string]string, what string) {
	if k.has("source") {
		if v, _ := l.scalar(k, "source", what); v != "" && v != r.Source {
			l.errorf(k.val["source"], "%s: source %q does not match the rule's source %q", what, v, r.Source)
			return
		}
	}
	l.setRuleKeys(r, k, what, mode)
}

// exceptions parses a rule's exceptions list.
func (l *loader) exceptions(n *yaml.Node, what string, appending bool) []*Exception {
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "%s: exceptions must be a list", what)
		return nil
	}
	var out []*Exception
	for _, en := range n.Content {
		en = resolveAlias(en)
		if en.Kind != yaml.MappingNode {
			l.errorf(en, "%s: each exception must be a mapping with name, fields, comps, values", what)
			continue
		}
		k := mappingKeys(en)
		name, ok := l.scalar(k, "name", what+": exception")
		if !ok || name == "" {
			l.errorf(en, "%s: exception needs a name", what)
			continue
		}
		ew := fmt.Sprintf("%s: exception %s", what, name)
		l.checkUnknownKeys(k, ew, "name", "fields", "comps", "values")
		e := &Exception{Name: name, file: l.file, pos: l.pos(k.key["name"])}
		if f := k.val["fields"]; f != nil {
			if f.Kind == yaml.ScalarNode {
				e.Fields, e.Single = []string{f.Value}, true
			} else {
				e.Fields = l.stringList(f, ew+": fields")
			}
		}
		if c := k.val["comps"]; c != nil {
			if c.Kind == yaml.ScalarNode {
				e.Comps = []string{c.Value}
			} else {
				e.Comps = l.stringList(c, ew+": comps")
			}
		}
		if len(e.Fields) > 0 {
			if len(e.Comps) == 0 {
				for range e.Fields {
					if e.Single {
						e.Comps = append(e.Comps, "in")
					} else {
						e.Comps = append(e.Comps, "=")
					}
				}
			}
			if len(e.Comps) != len(e.Fields) {
				l.errorf(k.val["comps"], "%s: %d comps for %d fields", ew, len(e.Comps), len(e.Fields))
				continue
			}
			for i, c := range e.Comps {
				if !validOp(c) || c == "exists" {
					l.errorf(k.val["comps"], "%s: invalid comparison operator %q for field %s", ew, c, e.Fields[i])
				}
			}
		}
		if appending && len(e.Fields) == 0 {
			// Values for an existing exception; checked against its fields later.
			if v := k.val["values"]; v != nil && v.Kind == yaml.SequenceNode {
				for _, t := range v.Content {
					e.Values = append(e.Values, resolveAlias(t))
				}
			}
			out = append(out, e)
			continue
		}
		if !l.exceptionValues(e, k.val["values"], ew) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func validOp(op string) bool {
	for _, o := range symbolOps {
		if o == op {
			return true
		}
	}
	for _, o := range wordOps {
		if o == op {
			return true
		}
	}
	return false
}

// exceptionValues checks the arity of each values entry and stores them.
func (l *loader) exceptionValues(e *Exception, v *yaml.Node, ew string) bool {
	if v == nil || (v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
		return true
	}
	if v.Kind != yaml.SequenceNode {
		l.errorf(v, "%s: values must be a list", ew)
		return false
	}
	if len(e.Fields) == 0 {
		l.errorf(v, "%s: values given but no fields", ew)
		return false
	}
	ok := true
	for _, t := range v.Content {
		t = resolveAlias(t)
		if e.Single {
			e.Values = append(e.Values, t)
			continue
		}
		if t.Kind != yaml.SequenceNode {
			l.errorf(t, "%s: each value must be a list of %d items (one per field), found a %s", ew, len(e.Fields), kindName(t))
			ok = false
			continue
		}
		if len(t.Content) != len(e.Fields) {
			l.errorf(t, "%s: exception arity mismatch: %d values for %d fields %v", ew, len(t.Content), len(e.Fields), e.Fields)
			ok = false
			continue
		}
		e.Values = append(e.Values, t)
	}
	return ok
}

func (l *loader) appendExceptions(r *Rule, excs []*Exception, n *yaml.Node, what string) {
	for _, e := range excs {
		var found *Exception
		for _, old := range r.Exceptions {
			if old.Name == e.Name {
				found = old
			}
		}
		if found == nil {
			if len(e.Fields) == 0 {
				l.errorf(n, "%s: appended exception %s is new and needs fields", what, e.Name)
				continue
			}
			r.Exceptions = append(r.Exceptions, e)
			continue
		}
		if len(e.Fields) > 0 {
			l.errorf(n, "%s: appending to exception %s may only add values, not fields", what, e.Name)
			continue
		}
		// Re-check arity of appended values against the original fields.
		tmp := &Exception{Name: found.Name, Fields: found.Fields, Single: found.Single, Comps: found.Comps, file: e.file}
		for _, v := range e.Values {
			if !found.Single && (v.Kind != yaml.SequenceNode || len(v.Content) != len(found.Fields)) {
				l.errorf(v, "%s: exception arity mismatch: appended value for exception %s needs %d items", what, e.Name, len(found.Fields))
				continue
			}
			tmp.Values = append(tmp.Values, v)
		}
		found.Values = append(found.Values, tmp.Values...)
	}
}

// parseVersion reads "0.57.0" or a bare number N (meaning 0.N.0).
func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) == 1 {
		n, err := strconv.Atoi(parts[0])
		if err != nil {
			return v, false
		}
		return [3]int{0, n, 0}, true
	}
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func versionLess(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

func (l *loader) checkEngineVersion(n *yaml.Node) {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, "required_engine_version must be a version string")
		return
	}
	want, ok := parseVersion(n.Value)
	if !ok {
		l.errorf(n, "required_engine_version %q is not a version (want e.g. 0.57.0)", n.Value)
		return
	}
	have, _ := parseVersion(EngineVersion)
	if versionLess(have, want) {
		l.errorf(n, "rules require engine version %s, Palisade implements %s", n.Value, EngineVersion)
	}
}

func (l *loader) checkPlugins(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "required_plugin_versions must be a list of {name, version}")
		return
	}
	for _, p := range n.Content {
		p = resolveAlias(p)
		if p.Kind != yaml.MappingNode {
			l.errorf(p, "required_plugin_versions: each entry must be a mapping with name and version")
			continue
		}
		k := mappingKeys(p)
		name, _ := l.scalar(k, "name", "required_plugin_versions")
		version, _ := l.scalar(k, "version", "required_plugin_versions")
		if name == "" || version == "" {
			l.errorf(p, "required_plugin_versions: each entry needs a name and a version")
			continue
		}
		if _, ok := parseVersion(version); !ok {
			l.errorf(k.val["version"], "required_plugin_versions: plugin %s: %q is not a version", name, version)
			continue
		}
		if satisfiedNatively(name) {
			continue
		}
		alt := false
		if a := k.val["alternatives"]; a != nil && a.Kind == yaml.SequenceNode {
			for _, an := range a.Content {
				ak := mappingKeys(resolveAlias(an))
				if v, _ := l.scalar(ak, "name", "alternatives"); satisfiedNatively(v) {
					alt = true
				}
			}
		}
		if !alt {
			l.errorf(p, "rules require plugin %s %s; Palisade does not load plugins (only the container plugin's fields are built in)", name, version)
		}
	}
}

// satisfiedNatively reports plugins whose fields Palisade provides itself.
func satisfiedNatively(name string) bool { return name == "container" }
