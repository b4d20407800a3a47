package rules

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/fields"
	"github.com/palisade-sec/palisade/internal/glob"
	"github.com/palisade-sec/palisade/internal/spelling"
)

// matcher is a compiled condition.
type matcher func(e *event.Event) bool

// compiledRule is a rule ready to evaluate.
type compiledRule struct {
	rule  *Rule
	match matcher
	types typeSet
	// sysTypes: the types whose syscalls the capture must select (syscallTypes).
	sysTypes typeSet
	output   *outputFormat
	expanded Node
	fields   map[string]bool // field names its condition and output read
	// independent: reported besides the first match (Options.IndependentTags).
	independent bool
}

// compiler expands macros and lists and compiles checks for one ruleset.
type compiler struct {
	l            *loader
	expanding    map[string]bool
	warnings     ErrorList
	unknownTypes map[string]bool
	noReorder    bool
	appendOutput []AppendOutput
	// used collects the field names the rule being compiled reads.
	used map[string]bool
}

// expand returns n with macros replaced by their (expanded) conditions and
// list names inside list values replaced by their items.
func (c *compiler) expand(n Node) (Node, error) {
	switch n := n.(type) {
	case *BoolExpr:
		out := &BoolExpr{at: n.at, Op: n.Op, Terms: make([]Node, len(n.Terms))}
		for i, t := range n.Terms {
			x, err := c.expand(t)
			if err != nil {
				return nil, err
			}
			out.Terms[i] = x
		}
		return out, nil
	case *NotExpr:
		x, err := c.expand(n.X)
		if err != nil {
			return nil, err
		}
		return &NotExpr{at: n.at, X: x}, nil
	case *Ident:
		m, ok := c.l.macros[n.Name]
		if !ok {
			msg := fmt.Sprintf("undefined macro %q", n.Name)
			if s := suggestName(n.Name, c.l.macros); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			return nil, &Error{Pos: n.Position(), Msg: msg}
		}
		if m.ast == nil {
			return nil, &Error{Pos: n.Position(), Msg: fmt.Sprintf("macro %q has errors", n.Name)}
		}
		if c.expanding[n.Name] {
			return nil, &Error{Pos: n.Position(), Msg: fmt.Sprintf("macro %q refers to itself", n.Name)}
		}
		m.used = true
		c.expanding[n.Name] = true
		x, err := c.expand(m.ast)
		delete(c.expanding, n.Name)
		return x, err
	case *Check:
		out := *n
		if lv, ok := n.Right.(*ListValue); ok {
			items, err := c.expandList(lv.Items, map[string]bool{})
			if err != nil {
				return nil, err
			}
			out.Right = &ListValue{at: lv.at, Items: items}
		}
		return &out, nil
	}
	return n, nil
}

// expandList replaces values naming a list with that list's items,
// recursively (lists may contain lists).
func (c *compiler) expandList(items []*Value, seen map[string]bool) ([]*Value, error) {
	out := make([]*Value, 0, len(items))
	for _, v := range items {
		if l, ok := c.l.lists[v.Text]; ok && !v.Quoted {
			if seen[v.Text] {
				return nil, &Error{Pos: v.Position(), Msg: fmt.Sprintf("list %q refers to itself", v.Text)}
			}
			l.used = true
			seen[v.Text] = true
			vals := make([]*Value, len(l.Items))
			for i, it := range l.Items {
				vals[i] = listItemValue(v.at, it)
			}
			sub, err := c.expandList(vals, seen)
			delete(seen, v.Text)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// listItemValue turns a list item into a value. Falco splices list items
// into the condition text, so an item written with quotes ('"10.0.0.0/8"')
// is a quoted string whose quotes are not part of the value.
func listItemValue(pos at, item string) *Value {
	if len(item) >= 2 && (item[0] == '"' || item[0] == '\'') && item[len(item)-1] == item[0] {
		p := &parser{src: textSource("list", item), in: item}
		if s, err := p.quoted(); err == nil && p.pos == len(item) {
			return &Value{at: pos, Text: s, Quoted: true}
		}
	}
	return &Value{at: pos, Text: item}
}

func suggestName[T any](name string, m map[string]T) string {
	best, bestD := "", 1<<30
	for k := range m {
		if d := editDistance(name, k); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if bestD <= 2 && bestD < len(name)/2 {
		return best
	}
	return ""
}

func editDistance(a, b string) int { return spelling.Distance(a, b) }

// compile turns an expanded AST into a matcher.
func (c *compiler) compile(n Node) (matcher, error) {
	switch n := n.(type) {
	case nil:
		return func(*event.Event) bool { return true }, nil
	case *BoolExpr:
		ms := make([]matcher, len(n.Terms))
		for i, t := range n.Terms {
			m, err := c.compile(t)
			if err != nil {
				return nil, err
			}
			ms[i] = m
		}
		if n.Op == "and" {
			return andMatcher(ms), nil
		}
		return orMatcher(ms), nil
	case *NotExpr:
		m, err := c.compile(n.X)
		if err != nil {
			return nil, err
		}
		return func(e *event.Event) bool { return !m(e) }, nil
	case *Check:
		return c.compileCheck(n)
	case *Ident:
		return nil, &Error{Pos: n.Position(), Msg: fmt.Sprintf("undefined macro %q", n.Name)}
	}
	return nil, fmt.Errorf("unexpected node %T", n)
}

func andMatcher(ms []matcher) matcher {
	switch len(ms) {
	case 1:
		return ms[0]
	case 2:
		a, b := ms[0], ms[1]
		return func(e *event.Event) bool { return a(e) && b(e) }
	case 3:
		a, b, c := ms[0], ms[1], ms[2]
		return func(e *event.Event) bool { return a(e) && b(e) && c(e) }
	case 4:
		a, b, c, d := ms[0], ms[1], ms[2], ms[3]
		return func(e *event.Event) bool { return a(e) && b(e) && c(e) && d(e) }
	}
	// Longer chains: the first terms decide almost every event, so call
	// them directly and loop only over the rest.
	a, b, rest := ms[0], ms[1], ms[2:]
	return func(e *event.Event) bool {
		if !a(e) || !b(e) {
			return false
		}
		for _, m := range rest {
			if !m(e) {
				return false
			}
		}
		return true
	}
}

func orMatcher(ms []matcher) matcher {
	switch len(ms) {
	case 1:
		return ms[0]
	case 2:
		a, b := ms[0], ms[1]
		return func(e *event.Event) bool { return a(e) || b(e) }
	case 3:
		a, b, c := ms[0], ms[1], ms[2]
		return func(e *event.Event) bool { return a(e) || b(e) || c(e) }
	}
	return func(e *event.Event) bool {
		for _, m := range ms {
			if m(e) {
				return true
			}
		}
		return false
	}
}

// operand binds the left (or val()) side of a check to an extractor.
func (c *compiler) operand(o Operand) (fields.Extractor, error) {
	switch o := o.(type) {
	case *FieldRef:
		x, err := fields.Lookup(o.Name, o.Arg, o.HasArg)
		if err != nil {
			return x, &Error{Pos: o.Position(), Msg: err.Error()}
		}
		if c.used != nil {
			c.used[o.Name] = true
		}
		return x, nil
	case *Transform:
		inner, err := c.operand(o.X)
		if err != nil {
			return inner, err
		}
		if o.Fn == "val" {
			return inner, nil
		}
		return transform(o, inner)
	}
	return fields.Extractor{}, fmt.Errorf("unexpected operand %T", o)
}

func transform(t *Transform, x fields.Extractor) (fields.Extractor, error) {
	if x.Str == nil || x.Kind != fields.String {
		return x, &Error{Pos: t.Position(), Msg: fmt.Sprintf("transformer %s() needs a string field, %s is %s", t.Fn, t.X.String(), x.Kind)}
	}
	get := x.Str
	out := fields.Extractor{Field: x.Field, Kind: fields.String, Multi: x.Multi}
	switch t.Fn {
	case "tolower":
		out.Str = func(e *event.Event, i int) (string, bool) { v, ok := get(e, i); return strings.ToLower(v), ok }
	case "toupper":
		out.Str = func(e *event.Event, i int) (string, bool) { v, ok := get(e, i); return strings.ToUpper(v), ok }
	case "basename":
		out.Str = func(e *event.Event, i int) (string, bool) {
			v, ok := get(e, i)
			if !ok {
				return "", false
			}
			if j := strings.LastIndexByte(v, '/'); j >= 0 {
				return v[j+1:], true
			}
			return v, true
		}
	case "b64":
		out.Str = func(e *event.Event, i int) (string, bool) {
			v, ok := get(e, i)
			if !ok {
				return "", false
			}
			d, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return "", false
			}
			return string(d), true
		}
	case "len":
		out.Kind, out.Str = fields.Int, nil
		out.Int = func(e *event.Event, i int) (int64, bool) { v, ok := get(e, i); return int64(len(v)), ok }
	default:
		return x, &Error{Pos: t.Position(), Msg: fmt.Sprintf("unknown transformer %s()", t.Fn)}
	}
	return out, nil
}

// checkCounter, when set (by tests, before compiling), counts every check
// evaluation: a machine-independent measure of evaluation work.
var checkCounter *int64

func (c *compiler) compileCheck(ch *Check) (matcher, error) {
	m, err := c.compileCheckInner(ch)
	if err != nil || checkCounter == nil {
		return m, err
	}
	n := checkCounter
	return func(e *event.Event) bool { *n++; return m(e) }, nil
}

func (c *compiler) compileCheckInner(ch *Check) (matcher, error) {
	if f, ok := ch.Left.(*FieldRef); ok && f.Name == "evt.type" && !f.HasArg {
		if m, ok, err := c.compileEvtType(ch); ok || err != nil {
			return m, err
		}
	}
	x, err := c.operand(ch.Left)
	if err != nil {
		return nil, err
	}
	errorf := func(format string, args ...any) error {
		return &Error{Pos: ch.Position(), Msg: fmt.Sprintf(format, args...)}
	}
	if ch.Op == "exists" {
		return existsMatcher(x), nil
	}
	// Right side is another field: compare values.
	if r, ok := ch.Right.(Operand); ok {
		y, err := c.operand(r)
		if err != nil {
			return nil, err
		}
		return fieldCompare(ch, x, y)
	}
	vals, _ := literals(ch.Right)
	if _, list := ch.Right.(*ListValue); list && !isListOp(ch.Op) {
		return nil, errorf("operator %s takes one value, not a list", ch.Op)
	}
	if !isListOp(ch.Op) && len(vals) != 1 {
		return nil, errorf("operator %s needs exactly one value", ch.Op)
	}
	switch x.Kind {
	case fields.String:
		if x.Int != nil && isNumOp(ch.Op) {
			// A rendered argument compared numerically (evt.arg.uid < 1000).
			return intCheck(ch, x, vals, errorf)
		}
		return strCheck(ch, x, vals, errorf)
	case fields.Int, fields.Port, fields.Bool:
		return intCheck(ch, x, vals, errorf)
	case fields.IPAddr, fields.IPNet:
		return ipCheck(ch, x, vals, errorf)
	}
	return nil, errorf("field %s has an unsupported type", ch.Left.String())
}

// literals returns the values on a check's right side: the one value, or a
// list's items; ok is false for anything else (a field, a transform, nil).
func literals(n Node) (vals []*Value, ok bool) {
	switch r := n.(type) {
	case *Value:
		return []*Value{r}, true
	case *ListValue:
		return r.Items, true
	}
	return nil, false
}

func isNumOp(op string) bool { return op == "<" || op == "<=" || op == ">" || op == ">=" }

// compileEvtType compiles evt.type =, !=, in against the event's Type.
func (c *compiler) compileEvtType(ch *Check) (matcher, bool, error) {
	vals, ok := literals(ch.Right)
	if !ok {
		return nil, false, nil
	}
	neg := false
	switch ch.Op {
	case "=", "==", "in", "intersects":
	case "!=":
		neg = true
	default:
		return nil, false, nil
	}
	set := newTypeBits()
	for _, v := range vals {
		set.add(event.TypeOf(v.Text))
	}
	if neg {
		return func(e *event.Event) bool { return !set.has(e.Type) }, true, nil
	}
	if len(vals) == 1 {
		t := event.TypeOf(vals[0].Text)
		return func(e *event.Event) bool { return e.Type == t }, true, nil
	}
	return func(e *event.Event) bool { return set.has(e.Type) }, true, nil
}

// warnUnknownTypes warns once per name about evt.type values that no
// event can have.
func (c *compiler) warnUnknownTypes(n Node) {
	switch n := n.(type) {
	case *BoolExpr:
		for _, t := range n.Terms {
			c.warnUnknownTypes(t)
		}
	case *NotExpr:
		c.warnUnknownTypes(n.X)
	case *Check:
		f, ok := n.Left.(*FieldRef)
		if !ok || f.Name != "evt.type" {
			return
		}
		vals, _ := literals(n.Right)
		for _, v := range vals {
			if t := event.TypeOf(v.Text); !t.Known() && !c.unknownTypes[v.Text] {
				c.unknownTypes[v.Text] = true
				c.warnings = append(c.warnings, &Error{Pos: v.Position(), Msg: fmt.Sprintf("unknown event type %q: no event will have it", v.Text)})
			}
		}
	}
}

func existsMatcher(x fields.Extractor) matcher {
	switch {
	case x.Str != nil:
		get := x.Str
		return func(e *event.Event) bool { _, ok := get(e, 0); return ok }
	case x.Int != nil:
		get := x.Int
		return func(e *event.Event) bool { _, ok := get(e, 0); return ok }
	default:
		get := x.IP
		return func(e *event.Event) bool { _, ok := get(e, 0); return ok }
	}
}

// strMatch applies pred to the field's value (any value, for multi fields);
// a missing value never matches.
func strMatch(x fields.Extractor, pred func(string) bool) matcher {
	return anyMatch(x.Multi, x.Str, pred)
}

// anyMatch applies pred to the value get returns (to any of them, for a
// multi-valued field); a missing value never matches.
func anyMatch[T any](multi bool, get func(*event.Event, int) (T, bool), pred func(T) bool) matcher {
	if multi {
		return func(e *event.Event) bool {
			for i := 0; ; i++ {
				v, ok := get(e, i)
				if !ok {
					return false
				}
				if pred(v) {
					return true
				}
			}
		}
	}
	return func(e *event.Event) bool {
		v, ok := get(e, 0)
		return ok && pred(v)
	}
}

// stringSetThreshold is the list size above which `in` uses a hash set.
const stringSetThreshold = 8

func strCheck(ch *Check, x fields.Extractor, vals []*Value, errorf func(string, ...any) error) (matcher, error) {
	get := x.Str
	if len(vals) == 0 {
		return func(*event.Event) bool { return false }, nil
	}
	v := vals[0].Text
	switch ch.Op {
	case "=", "==":
		if !x.Multi {
			return func(e *event.Event) bool { s, ok := get(e, 0); return ok && s == v }, nil
		}
		return strMatch(x, func(s string) bool { return s == v }), nil
	case "!=":
		if !x.Multi {
			return func(e *event.Event) bool { s, ok := get(e, 0); return ok && s != v }, nil
		}
		return strMatch(x, func(s string) bool { return s != v }), nil
	case "contains":
		if !x.Multi {
			return func(e *event.Event) bool { s, ok := get(e, 0); return ok && strings.Contains(s, v) }, nil
		}
		return strMatch(x, func(s string) bool { return strings.Contains(s, v) }), nil
	case "icontains":
		lv := strings.ToLower(v)
		return strMatch(x, func(s string) bool { return containsFold(s, lv) }), nil
	case "startswith":
		if !x.Multi {
			return func(e *event.Event) bool { s, ok := get(e, 0); return ok && strings.HasPrefix(s, v) }, nil
		}
		return strMatch(x, func(s string) bool { return strings.HasPrefix(s, v) }), nil
	case "endswith":
		if !x.Multi {
			return func(e *event.Event) bool { s, ok := get(e, 0); return ok && strings.HasSuffix(s, v) }, nil
		}
		return strMatch(x, func(s string) bool { return strings.HasSuffix(s, v) }), nil
	case "bcontains", "bstartswith":
		b, err := hex.DecodeString(strings.ReplaceAll(v, " ", ""))
		if err != nil {
			return nil, errorf("operator %s needs a hex byte string, %q is not one", ch.Op, v)
		}
		bs := string(b)
		if ch.Op == "bcontains" {
			return strMatch(x, func(s string) bool { return strings.Contains(s, bs) }), nil
		}
		return strMatch(x, func(s string) bool { return strings.HasPrefix(s, bs) }), nil
	case "glob":
		return strMatch(x, func(s string) bool { return glob.Match(v, s, 0) }), nil
	case "iglob":
		return strMatch(x, func(s string) bool { return glob.Match(v, s, glob.Fold) }), nil
	case "regex":
		re, err := regexp.Compile("^(?:" + v + ")$")
		if err != nil {
			return nil, errorf("invalid regular expression %q: %v", v, err)
		}
		return strMatch(x, re.MatchString), nil
	case "in", "intersects":
		if len(vals) <= stringSetThreshold {
			list := make([]string, len(vals))
			for i, v := range vals {
				list[i] = v.Text
			}
			if !x.Multi {
				return func(e *event.Event) bool {
					s, ok := get(e, 0)
					if !ok {
						return false
					}
					for _, v := range list {
						if s == v {
							return true
						}
					}
					return false
				}, nil
			}
			return strMatch(x, func(s string) bool {
				for _, v := range list {
					if s == v {
						return true
					}
				}
				return false
			}), nil
		}
		set := newStringSet(vals)
		if !x.Multi {
			return func(e *event.Event) bool {
				s, ok := get(e, 0)
				return ok && set.has(s)
			}, nil
		}
		return strMatch(x, set.has), nil
	case "pmatch":
		t := newPathTrie()
		for _, v := range vals {
			t.add(v.Text)
		}
		if !x.Multi {
			return func(e *event.Event) bool { s, ok := get(e, 0); return ok && t.match(s) }, nil
		}
		return strMatch(x, t.match), nil
	}
	return nil, errorf("operator %s is not supported for string field %s", ch.Op, ch.Left.String())
}

// stringSet is a hash set with a cheap prefilter: most values a rule meets
// are not in its list, and a (length, first byte) bitmap rejects most of
// them without hashing.
type stringSet struct {
	m     map[string]struct{}
	first [256]uint64 // bit n set: some member has this first byte and length n (n < 64; 63 = longer)
	empty bool
}

func newStringSet(vals []*Value) *stringSet {
	s := &stringSet{m: make(map[string]struct{}, len(vals))}
	for _, v := range vals {
		s.m[v.Text] = struct{}{}
		if v.Text == "" {
			s.empty = true
			continue
		}
		s.first[v.Text[0]] |= 1 << min(len(v.Text), 63)
	}
	return s
}

func (s *stringSet) has(v string) bool {
	if v == "" {
		return s.empty
	}
	if s.first[v[0]]&(1<<min(len(v), 63)) == 0 {
		return false
	}
	_, ok := s.m[v]
	return ok
}

// containsFold reports whether s contains lowerSub, ignoring ASCII case,
// without allocating.
func containsFold(s, lowerSub string) bool {
	n := len(lowerSub)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 32
			}
			if c != lowerSub[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

func parseInt(s string, kind fields.Kind) (int64, bool) {
	if kind == fields.Bool {
		switch strings.ToLower(s) {
		case "true":
			return 1, true
		case "false":
			return 0, true
		}
		return 0, false
	}
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		u, uerr := strconv.ParseUint(s, 0, 64)
		if uerr != nil {
			return 0, false
		}
		n = int64(u)
	}
	return n, true
}

func intCheck(ch *Check, x fields.Extractor, vals []*Value, errorf func(string, ...any) error) (matcher, error) {
	nums := make([]int64, len(vals))
	for i, v := range vals {
		n, ok := parseInt(v.Text, x.Kind)
		if !ok {
			want := "a number"
			if x.Kind == fields.Bool {
				want = "true or false"
			}
			return nil, &Error{Pos: v.Position(), Msg: fmt.Sprintf("field %s is %s: %q is not %s", ch.Left.String(), x.Kind, v.Text, want)}
		}
		nums[i] = n
	}
	get := x.Int
	if !x.Multi && len(nums) == 1 {
		// Direct closures for the common single-value checks: one call less.
		n := nums[0]
		switch ch.Op {
		case "=", "==", "in", "intersects":
			return func(e *event.Event) bool { v, ok := get(e, 0); return ok && v == n }, nil
		case "!=":
			return func(e *event.Event) bool { v, ok := get(e, 0); return ok && v != n }, nil
		case ">=":
			return func(e *event.Event) bool { v, ok := get(e, 0); return ok && v >= n }, nil
		case "<":
			return func(e *event.Event) bool { v, ok := get(e, 0); return ok && v < n }, nil
		}
	}
	var pred func(int64) bool
	switch ch.Op {
	case "=", "==":
		n := nums[0]
		pred = func(v int64) bool { return v == n }
	case "!=":
		n := nums[0]
		pred = func(v int64) bool { return v != n }
	case "<":
		n := nums[0]
		pred = func(v int64) bool { return v < n }
	case "<=":
		n := nums[0]
		pred = func(v int64) bool { return v <= n }
	case ">":
		n := nums[0]
		pred = func(v int64) bool { return v > n }
	case ">=":
		n := nums[0]
		pred = func(v int64) bool { return v >= n }
	case "in", "intersects":
		pred = func(v int64) bool {
			for _, n := range nums {
				if v == n {
					return true
				}
			}
			return false
		}
	default:
		return nil, errorf("operator %s is not supported for %s field %s", ch.Op, x.Kind, ch.Left.String())
	}
	return anyMatch(x.Multi, get, pred), nil
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func ipCheck(ch *Check, x fields.Extractor, vals []*Value, errorf func(string, ...any) error) (matcher, error) {
	prefixes := make([]netip.Prefix, len(vals))
	for i, v := range vals {
		p, ok := parsePrefix(v.Text)
		if !ok {
			return nil, &Error{Pos: v.Position(), Msg: fmt.Sprintf("field %s is an IP address: %q is not an address or CIDR", ch.Left.String(), v.Text)}
		}
		prefixes[i] = p
	}
	contains := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	var pred func(netip.Addr) bool
	switch ch.Op {
	case "=", "==", "in", "intersects":
		pred = contains
	case "!=":
		pred = func(a netip.Addr) bool { return !contains(a) }
	default:
		return nil, errorf("operator %s is not supported for IP field %s", ch.Op, ch.Left.String())
	}
	return anyMatch(x.Multi, x.IP, pred), nil
}

// fieldCompare compares two fields' values (val() and right-hand
// transformers).
func fieldCompare(ch *Check, x, y fields.Extractor) (matcher, error) {
	errorf := func(format string, args ...any) error {
		return &Error{Pos: ch.Position(), Msg: fmt.Sprintf(format, args...)}
	}
	if (x.Str != nil) != (y.Str != nil) || (x.IP != nil) != (y.IP != nil) {
		return nil, errorf("cannot compare %s (%s) with %s (%s)", ch.Left.String(), x.Kind, ch.Right.String(), y.Kind)
	}
	switch {
	case x.Str != nil:
		var pred func(a, b string) bool
		switch ch.Op {
		case "=", "==", "in", "intersects":
			pred = func(a, b string) bool { return a == b }
		case "!=":
			pred = func(a, b string) bool { return a != b }
		case "contains":
			pred = strings.Contains
		case "icontains":
			pred = func(a, b string) bool { return containsFold(a, strings.ToLower(b)) }
		case "startswith":
			pred = strings.HasPrefix
		case "endswith":
			pred = strings.HasSuffix
		case "glob":
			pred = func(a, b string) bool { return glob.Match(b, a, 0) }
		case "iglob":
			pred = func(a, b string) bool { return glob.Match(b, a, glob.Fold) }
		case "pmatch":
			pred = func(a, b string) bool { return pathUnder(a, b) }
		default:
			return nil, errorf("operator %s cannot compare two string fields", ch.Op)
		}
		return compareFields(x.Str, y.Str, pred), nil
	case x.Int != nil:
		var pred func(a, b int64) bool
		switch ch.Op {
		case "=", "==", "in", "intersects":
			pred = func(a, b int64) bool { return a == b }
		case "!=":
			pred = func(a, b int64) bool { return a != b }
		case "<":
			pred = func(a, b int64) bool { return a < b }
		case "<=":
			pred = func(a, b int64) bool { return a <= b }
		case ">":
			pred = func(a, b int64) bool { return a > b }
		case ">=":
			pred = func(a, b int64) bool { return a >= b }
		default:
			return nil, errorf("operator %s cannot compare two numeric fields", ch.Op)
		}
		return compareFields(x.Int, y.Int, pred), nil
	default:
		if ch.Op != "=" && ch.Op != "==" && ch.Op != "!=" {
			return nil, errorf("operator %s cannot compare two IP fields", ch.Op)
		}
		neg := ch.Op == "!="
		gx, gy := x.IP, y.IP
		return func(e *event.Event) bool {
			a, ok := gx(e, 0)
			if !ok {
				return false
			}
			b, ok := gy(e, 0)
			return ok && (a == b) != neg
		}, nil
	}
}

// compareFields matches when both fields have a value and pred holds for
// them.
func compareFields[T any](gx, gy func(*event.Event, int) (T, bool), pred func(a, b T) bool) matcher {
	return func(e *event.Event) bool {
		a, ok := gx(e, 0)
		if !ok {
			return false
		}
		b, ok := gy(e, 0)
		return ok && pred(a, b)
	}
}

// pathUnder reports whether p equals dir or lies below it.
func pathUnder(p, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return strings.HasPrefix(p, "/")
	}
	return p == dir || (strings.HasPrefix(p, dir) && len(p) > len(dir) && p[len(dir)] == '/')
}

// pathTrie answers pmatch: is a path equal to or below any listed path.
type pathTrie struct {
	children map[string]*pathTrie
	terminal bool
}

func newPathTrie() *pathTrie { return &pathTrie{children: map[string]*pathTrie{}} }

func (t *pathTrie) add(p string) {
	p = path.Clean(p)
	n := t
	for _, part := range splitPath(p) {
		c, ok := n.children[part]
		if !ok {
			c = newPathTrie()
			n.children[part] = c
		}
		n = c
	}
	n.terminal = true
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// match walks p's components without allocating.
func (t *pathTrie) match(p string) bool {
	n := t
	if n.terminal {
		return true
	}
	for len(p) > 0 {
		for len(p) > 0 && p[0] == '/' {
			p = p[1:]
		}
		if p == "" {
			break
		}
		i := strings.IndexByte(p, '/')
		part := p
		if i >= 0 {
			part, p = p[:i], p[i:]
		} else {
			p = ""
		}
		c, ok := n.children[part]
		if !ok {
			return false
		}
		if c.terminal {
			return true
		}
		n = c
	}
	return false
}
