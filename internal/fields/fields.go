package fields

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/spelling"
)

// Kind is the type of a field's values.
type Kind uint8

// Field kinds.
const (
	String Kind = iota
	Int
	Bool
	IPAddr // an address; compared with an address or contained in a CIDR
	IPNet  // an address compared by CIDR containment
	Port
)

func (k Kind) String() string {
	return [...]string{"string", "int64", "bool", "ipaddr", "ipnet", "port"}[k]
}

// ArgMode says whether a field takes a [argument].
type ArgMode uint8

// Argument modes.
const (
	NoArg ArgMode = iota
	OptionalIndex
	RequiredIndex
	RequiredKey
	OptionalKey
)

// Field describes one filter field.
type Field struct {
	Name  string
	Kind  Kind
	Desc  string
	Arg   ArgMode
	Multi bool // several values; a comparison holds if any value matches
	make  func(arg string, idx int) Extractor
}

// Extractor reads one field (with its argument bound) from events. Exactly
// one of Str, Int and IP is set, by Kind. For Multi fields, i selects the
// value (0, 1, ...) and ok=false ends the sequence; otherwise i is 0.
type Extractor struct {
	Field *Field
	Kind  Kind
	Multi bool
	Str   func(e *event.Event, i int) (string, bool)
	Int   func(e *event.Event, i int) (int64, bool)
	IP    func(e *event.Event, i int) (netip.Addr, bool)
}

// Format renders the field's (first) value as text for outputs.
func (x *Extractor) Format(e *event.Event) (string, bool) {
	switch {
	case x.Str != nil:
		return x.Str(e, 0)
	case x.Int != nil:
		v, ok := x.Int(e, 0)
		if !ok {
			return "", false
		}
		if x.Kind == Bool {
			return strconv.FormatBool(v != 0), true
		}
		return strconv.FormatInt(v, 10), true
	case x.IP != nil:
		v, ok := x.IP(e, 0)
		if !ok {
			return "", false
		}
		return v.String(), true
	}
	return "", false
}

// Value returns the field's (first) value as a JSON-friendly Go value:
// string, int64, bool or nil when not present.
func (x *Extractor) Value(e *event.Event) any {
	switch {
	case x.Str != nil:
		if v, ok := x.Str(e, 0); ok {
			return v
		}
	case x.Int != nil:
		if v, ok := x.Int(e, 0); ok {
			if x.Kind == Bool {
				return v != 0
			}
			return v
		}
	case x.IP != nil:
		if v, ok := x.IP(e, 0); ok {
			return v.String()
		}
	}
	return nil
}

var registry = map[string]*Field{}

func register(f *Field) {
	if _, dup := registry[f.Name]; dup {
		panic("fields: duplicate field " + f.Name)
	}
	registry[f.Name] = f
}

// All returns every registered field, sorted by name.
func All() []*Field {
	out := make([]*Field, 0, len(registry))
	for _, f := range registry {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns the field with this exact name.
func Get(name string) (*Field, bool) {
	f, ok := registry[name]
	return f, ok
}

// UnknownFieldError reports a field name that is not registered.
type UnknownFieldError struct {
	Name    string
	Suggest string
}

func (e *UnknownFieldError) Error() string {
	if e.Suggest != "" {
		return fmt.Sprintf("unknown field %q (did you mean %s?)", e.Name, e.Suggest)
	}
	return fmt.Sprintf("unknown field %q", e.Name)
}

// Lookup binds a field name and its optional argument to an extractor.
// evt.arg.NAME and evt.rawarg.NAME are accepted for any NAME.
func Lookup(name, arg string, hasArg bool) (Extractor, error) {
	if rest, ok := strings.CutPrefix(name, "evt.arg."); ok && !hasArg {
		return argByName(rest, false), nil
	}
	if rest, ok := strings.CutPrefix(name, "evt.rawarg."); ok && !hasArg {
		return argByName(rest, true), nil
	}
	f, ok := registry[name]
	if !ok {
		return Extractor{}, &UnknownFieldError{Name: name, Suggest: suggest(name)}
	}
	idx := 0
	switch f.Arg {
	case NoArg:
		if hasArg {
			return Extractor{}, fmt.Errorf("field %s takes no argument", name)
		}
	case RequiredIndex, OptionalIndex:
		if !hasArg && f.Arg == RequiredIndex {
			return Extractor{}, fmt.Errorf("field %s needs an index argument, e.g. %s[1]", name, name)
		}
		if hasArg {
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 {
				return Extractor{}, fmt.Errorf("field %s: index %q is not a non-negative number", name, arg)
			}
			idx = n
		} else {
			idx = -1
		}
	case RequiredKey:
		if !hasArg || arg == "" {
			return Extractor{}, fmt.Errorf("field %s needs an argument, e.g. %s[NAME]", name, name)
		}
	}
	x := f.make(arg, idx)
	x.Field, x.Kind = f, f.Kind
	if f.Multi && (f.Arg == NoArg || idx < 0) {
		x.Multi = true
	}
	return x, nil
}

// suggest returns the registered name closest to name, if close enough.
func suggest(name string) string {
	best, bestD := "", 1<<30
	for n := range registry {
		d := distance(name, n)
		if d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	if bestD <= 3 && bestD < len(name)/2+1 {
		return best
	}
	return ""
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int { return spelling.Distance(a, b) }

// Constructors used by the field tables.

func str(name, desc string, fn func(e *event.Event) (string, bool)) {
	strI(name, desc, func(e *event.Event, _ int) (string, bool) { return fn(e) })
}

// strI registers an extractor that is called directly (one indirect call
// per extraction on the hot path).
func strI(name, desc string, fn func(e *event.Event, i int) (string, bool)) {
	register(&Field{Name: name, Kind: String, Desc: desc, make: func(string, int) Extractor {
		return Extractor{Str: fn}
	}})
}

func num(name, desc string, fn func(e *event.Event) (int64, bool)) {
	numI(name, desc, Int, func(e *event.Event, _ int) (int64, bool) { return fn(e) })
}

func numI(name, desc string, kind Kind, fn func(e *event.Event, i int) (int64, bool)) {
	register(&Field{Name: name, Kind: kind, Desc: desc, make: func(string, int) Extractor {
		return Extractor{Int: fn}
	}})
}

func boolean(name, desc string, fn func(e *event.Event) (bool, bool)) {
	register(&Field{Name: name, Kind: Bool, Desc: desc, make: func(string, int) Extractor {
		return Extractor{Int: func(e *event.Event, _ int) (int64, bool) {
			v, ok := fn(e)
			if v {
				return 1, ok
			}
			return 0, ok
		}}
	}})
}

// boolI registers a boolean extractor called directly (hot fields).
func boolI(name, desc string, fn func(e *event.Event, i int) (int64, bool)) {
	numI(name, desc, Bool, fn)
}

func ip(name, desc string, kind Kind, fn func(e *event.Event) (netip.Addr, bool)) {
	register(&Field{Name: name, Kind: kind, Desc: desc, make: func(string, int) Extractor {
		return Extractor{IP: func(e *event.Event, _ int) (netip.Addr, bool) { return fn(e) }}
	}})
}

func port(name, desc string, fn func(e *event.Event) (int64, bool)) {
	register(&Field{Name: name, Kind: Port, Desc: desc, make: func(string, int) Extractor {
		return Extractor{Int: func(e *event.Event, _ int) (int64, bool) { return fn(e) }}
	}})
}
