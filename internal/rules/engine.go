package rules

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/event"
)

// Matching says whether an event triggers only the first matching rule (in
// load order, Falco's default) or every matching rule.
type Matching int

// Matching modes.
const (
	MatchFirst Matching = iota
	MatchAll
)

// Options tune loading.
type Options struct {
	Matching Matching
	// NoReorder keeps conjuncts in written order (for measuring the
	// reordering; results are the same either way).
	NoReorder bool
	Hostname  string // for alerts; os.Hostname() when empty
	// AppendOutput adds text and fields to the outputs of the rules each
	// entry matches (Falco's append_output); see DefaultAppendOutput.
	AppendOutput []AppendOutput
	// IndependentTags: under MatchFirst, a rule with one of these tags is
	// still evaluated and reported after an earlier rule matched, and
	// its own match does not stop later rules (drift rules: a second
	// opinion beside the detection rules, docs/drift.md).
	IndependentTags []string
}

// Result is what loading reports besides the ruleset.
type Result struct {
	Errors   ErrorList
	Warnings ErrorList
}

// Ruleset is a compiled, immutable set of rules. Eval is safe for
// concurrent use.
type Ruleset struct {
	Rules    []*Rule // every rule, in load order
	Macros   []*Macro
	Lists    []*List
	matching Matching
	hostname string
	byType   [][]*compiledRule // enabled syscall rules for each event type, in load order
	wildcard []*compiledRule   // enabled rules that can match types interned after compilation
	// independent: some enabled rule has an IndependentTags tag.
	independent bool
}

// Load reads rule files in order and compiles them. Errors and warnings
// are returned in the Result; the Ruleset is nil when there are errors.
func Load(files []File, opts Options) (*Ruleset, *Result) {
	l := newLoader()
	for _, f := range files {
		l.loadFile(f)
	}
	rs, res := l.build(opts)
	return rs, res
}

func (l *loader) build(opts Options) (*Ruleset, *Result) {
	c := &compiler{l: l, expanding: map[string]bool{}, unknownTypes: map[string]bool{}, noReorder: opts.NoReorder, appendOutput: opts.AppendOutput}
	rs := &Ruleset{Rules: l.ruleOrder, Macros: l.macroOrder, Lists: l.listOrder, matching: opts.Matching, hostname: opts.Hostname}
	if rs.hostname == "" {
		rs.hostname, _ = os.Hostname()
	}
	if err := c.checkAppendOutput(); err != nil {
		// Each rule would fail the same way: one error, then none of them.
		l.errs = append(l.errs, &Error{Msg: err.Error()})
		c.appendOutput = nil
	}
	var compiled []*compiledRule
	for _, r := range l.ruleOrder {
		if r.Source != event.SourceSyscall {
			l.warns = append(l.warns, &Error{Pos: r.Pos, Msg: fmt.Sprintf("rule %q has source %q; Palisade only produces syscall events, so it never runs", r.Name, r.Source)})
			continue
		}
		cr, err := c.compileRule(r)
		if err != nil {
			var e *Error
			if ee, ok := err.(*Error); ok {
				e = &Error{Pos: ee.Pos, Msg: fmt.Sprintf("rule %q: %s", r.Name, ee.Msg)}
			} else {
				e = &Error{Pos: r.Pos, Msg: fmt.Sprintf("rule %q: %v", r.Name, err)}
			}
			if r.SkipIfUnknownFilter && strings.Contains(e.Msg, "unknown field") {
				l.warns = append(l.warns, &Error{Pos: e.Pos, Msg: e.Msg + " (rule skipped: skip-if-unknown-filter)"})
				continue
			}
			l.errs = append(l.errs, e)
			continue
		}
		r.compiled = cr
		for _, t := range r.Tags {
			if slices.Contains(opts.IndependentTags, t) {
				cr.independent = true
			}
		}
		rs.independent = rs.independent || (cr.independent && r.Enabled)
		if cr.types.isAll() && r.WarnEvttypes {
			l.warns = append(l.warns, &Error{Pos: r.Pos, Msg: fmt.Sprintf("rule %q: condition has no evt.type restriction and runs on every event (slow); add evt.type = ... or set warn_evttypes: false", r.Name)})
		}
		if r.Enabled {
			compiled = append(compiled, cr)
		}
	}
	for _, m := range l.macroOrder {
		if !m.used && m.ast != nil {
			l.warns = append(l.warns, &Error{Pos: m.Pos, Msg: fmt.Sprintf("macro %q is not used by any rule", m.Name)})
		}
	}
	for _, li := range l.listOrder {
		if !li.used {
			l.warns = append(l.warns, &Error{Pos: li.Pos, Msg: fmt.Sprintf("list %q is not used by any rule", li.Name)})
		}
	}
	l.warns = append(l.warns, c.warnings...)
	l.errs.Sort()
	res := &Result{Errors: l.errs, Warnings: l.warns}
	if len(l.errs) > 0 {
		return nil, res
	}
	rs.index(compiled)
	return rs, res
}

func (c *compiler) compileRule(r *Rule) (*compiledRule, error) {
	c.used = map[string]bool{}
	defer func() { c.used = nil }()
	if r.Cond == nil {
		return nil, &Error{Pos: r.Pos, Msg: "missing condition"}
	}
	ast, err := ParseCondition(r.Cond)
	if err != nil {
		return nil, err
	}
	full := ast
	if exc, err := c.exceptionsAST(r); err != nil {
		return nil, err
	} else if exc != nil {
		full = &BoolExpr{at: at{src: r.Cond}, Op: "and", Terms: []Node{ast, exc}}
	}
	expanded, err := c.expand(full)
	if err != nil {
		return nil, err
	}
	c.warnUnknownTypes(expanded)
	// Compile with the evt.type conjuncts removed: the per-type index
	// already guarantees them for every event the rule is offered.
	body := stripTypeChecks(expanded)
	if !c.noReorder && body != nil {
		body = orderConjuncts(body)
	}
	m, err := c.compile(body)
	if err != nil {
		return nil, err
	}
	out, err := c.compileOutput(r.Output)
	if err == nil && len(c.appendOutput) > 0 {
		var text string
		var extra []ExtraField
		if text, extra, err = c.withAppended(r, out, c.appendOutput); err == nil && text != r.Output {
			out, err = c.compileOutput(text)
		}
		if err == nil {
			err = c.compileExtraFields(out, extra)
		}
	}
	if err != nil {
		pos := r.outputPos
		if pos.Line == 0 {
			pos = r.Pos
		}
		return nil, &Error{Pos: pos, Msg: err.Error()}
	}
	ts, _ := eventTypes(expanded)
	return &compiledRule{rule: r, match: m, types: ts, sysTypes: syscallTypes(expanded), output: out, expanded: expanded, fields: c.used}, nil
}

// index builds the per-event-type rule lists.
func (rs *Ruleset) index(compiled []*compiledRule) {
	n := event.NumTypes()
	rs.byType = make([][]*compiledRule, n)
	for _, cr := range compiled {
		for t := 0; t < n; t++ {
			if cr.types.has(event.Type(t)) {
				rs.byType[t] = append(rs.byType[t], cr)
			}
		}
		if cr.types.inverted {
			rs.wildcard = append(rs.wildcard, cr)
		}
	}
}

// Match is one rule that matched an event.
type Match struct {
	Rule *Rule
	cr   *compiledRule
}

// Eval appends to dst the rules the event matches (just the first in load
// order under MatchFirst) and returns the extended slice. It does not
// allocate when dst has room.
func (rs *Ruleset) Eval(e *event.Event, dst []Match) []Match {
	var cands []*compiledRule
	if int(e.Type) < len(rs.byType) {
		cands = rs.byType[e.Type]
	} else {
		// A type interned after compilation: only inverted-set rules can
		// match, and their stripped type checks must be redone here.
		cands = rs.wildcard
	}
	late := int(e.Type) >= len(rs.byType)
	first := false // under MatchFirst: a rule that is not independent matched
	for _, cr := range cands {
		if first && !cr.independent {
			continue
		}
		if late && !cr.types.has(e.Type) {
			continue
		}
		if cr.match(e) {
			dst = append(dst, Match{Rule: cr.rule, cr: cr})
			if rs.matching == MatchFirst && !cr.independent {
				if !rs.independent {
					return dst
				}
				first = true
			}
		}
	}
	return dst
}

// Alert renders a match as an alert in Falco's shape.
func (rs *Ruleset) Alert(m Match, e *event.Event) alert.Alert {
	text, fieldsOut := m.cr.output.render(e)
	t := time.Unix(0, e.Time).UTC()
	host := e.Hostname
	if host == "" {
		host = rs.hostname
	}
	tags := m.Rule.Tags
	if tags == nil {
		tags = []string{}
	}
	return alert.Alert{
		Time:         t,
		Rule:         m.Rule.Name,
		Priority:     m.Rule.Priority,
		Output:       t.Format("15:04:05.000000000") + ": " + m.Rule.Priority.String() + " " + text,
		OutputFields: fieldsOut,
		Source:       m.Rule.Source,
		Tags:         tags,
		Hostname:     host,
	}
}

// Counts summarises a ruleset for `rules validate`.
type Counts struct {
	Rules, EnabledRules, Macros, Lists int
}

// Counts returns how many rules (and enabled rules), macros and lists the
// ruleset holds after overrides.
func (rs *Ruleset) Counts() Counts {
	c := Counts{Rules: len(rs.Rules), Macros: len(rs.Macros), Lists: len(rs.Lists)}
	for _, r := range rs.Rules {
		if r.Enabled {
			c.EnabledRules++
		}
	}
	return c
}

// Rule returns a rule by name.
func (rs *Ruleset) Rule(name string) (*Rule, bool) {
	for _, r := range rs.Rules {
		if r.Name == name {
			return r, true
		}
	}
	return nil, false
}

// Explanation describes a compiled rule for `rules explain`.
type Explanation struct {
	Rule       string   `json:"rule"`
	Enabled    bool     `json:"enabled"`
	Priority   string   `json:"priority"`
	Source     string   `json:"source"`
	Condition  string   `json:"condition"`
	Expanded   string   `json:"expanded_condition"`
	EventTypes []string `json:"event_types"`
	AllTypes   bool     `json:"all_event_types"`
	Excluded   []string `json:"excluded_event_types,omitempty"`
	Fields     []string `json:"fields"`
	Output     string   `json:"output"`
	Tags       []string `json:"tags"`
}

// Explain returns the expanded condition, event types and fields of a rule.
func (rs *Ruleset) Explain(name string) (*Explanation, bool) {
	r, ok := rs.Rule(name)
	if !ok {
		return nil, false
	}
	ex := &Explanation{Rule: r.Name, Enabled: r.Enabled, Priority: r.Priority.String(), Source: r.Source, Output: r.Output, Tags: r.Tags}
	if r.Cond != nil {
		ex.Condition = strings.TrimSpace(r.Cond.Text)
	}
	if cr := r.compiled; cr != nil {
		ex.Expanded = cr.expanded.String()
		if cr.types.inverted {
			ex.AllTypes = true
			ex.Excluded = cr.types.names()
		} else {
			ex.EventTypes = cr.types.names()
		}
		seen := map[string]bool{}
		walkFields(cr.expanded, func(f string) {
			if !seen[f] {
				seen[f] = true
				ex.Fields = append(ex.Fields, f)
			}
		})
	}
	return ex, true
}

// stripTypeChecks flattens nested "and"s and drops conjuncts that depend on
// the event type alone. Their type sets contain the rule's whole set (an
// "and" intersects them), so they hold for every event the index offers.
func stripTypeChecks(n Node) Node {
	b, ok := n.(*BoolExpr)
	if !ok || b.Op != "and" {
		if _, pure := eventTypes(n); pure {
			return nil
		}
		return n
	}
	var terms []Node
	var flatten func(Node)
	flatten = func(x Node) {
		if bx, ok := x.(*BoolExpr); ok && bx.Op == "and" {
			for _, t := range bx.Terms {
				flatten(t)
			}
			return
		}
		if _, pure := eventTypes(x); pure {
			return
		}
		terms = append(terms, x)
	}
	flatten(b)
	switch len(terms) {
	case 0:
		return nil
	case 1:
		return terms[0]
	}
	return &BoolExpr{at: b.at, Op: "and", Terms: terms}
}

func walkFields(n Node, fn func(string)) {
	switch n := n.(type) {
	case *BoolExpr:
		for _, t := range n.Terms {
			walkFields(t, fn)
		}
	case *NotExpr:
		walkFields(n.X, fn)
	case *Check:
		walkFields(n.Left, fn)
		if n.Right != nil {
			walkFields(n.Right, fn)
		}
	case *FieldRef:
		fn(n.String())
	case *Transform:
		walkFields(n.X, fn)
	}
}

// UsesField says whether an enabled rule's condition or output reads the
// field (by name, without an argument: "proc.env" for proc.env[HOME] too),
// so that the capture collects what only such rules need.
func (rs *Ruleset) UsesField(name string) bool {
	for _, r := range rs.Rules {
		if r.Enabled && r.compiled != nil && r.compiled.fields[name] {
			return true
		}
	}
	return false
}

// EventTypes returns the event type names whose syscalls enabled rules
// need captured, and whether some rule can match any type (then the caller
// must capture everything it can). A type a rule matches only together
// with evt.is_io_uring = true is left out: io_uring records come whatever
// syscalls are selected.
func (rs *Ruleset) EventTypes() (names []string, any bool) {
	seen := map[string]bool{}
	for _, r := range rs.Rules {
		cr := r.compiled
		if cr == nil || !r.Enabled {
			continue
		}
		if cr.sysTypes.inverted {
			any = true
			continue
		}
		for _, n := range cr.sysTypes.names() {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names, any
}

// Interested reports whether any enabled rule can match events of type t;
// recorders use it to keep only events that can change an alert.
func (rs *Ruleset) Interested(t event.Type) bool {
	if int(t) < len(rs.byType) {
		return len(rs.byType[t]) > 0
	}
	for _, cr := range rs.wildcard {
		if cr.types.has(t) {
			return true
		}
	}
	return false
}
