package rules

import (
	"sort"

	"github.com/palisade-sec/palisade/internal/event"
)

// typeBits is a bitset of event types.
type typeBits []uint64

func newTypeBits() typeBits { return make(typeBits, (event.NumTypes()+64)/64+1) }

func (b *typeBits) add(t event.Type) {
	for int(t)/64 >= len(*b) {
		*b = append(*b, 0)
	}
	(*b)[t/64] |= 1 << (t % 64)
}

func (b typeBits) has(t event.Type) bool {
	i := int(t) / 64
	return i < len(b) && b[i]&(1<<(t%64)) != 0
}

// typeSet is the set of event types a condition can match: either exactly
// the types in set, or (inverted) every type except those.
type typeSet struct {
	set      map[event.Type]bool
	inverted bool
}

func allTypes() typeSet { return typeSet{set: map[event.Type]bool{}, inverted: true} }

func (s typeSet) has(t event.Type) bool { return s.set[t] != s.inverted }

func (s typeSet) isAll() bool { return s.inverted && len(s.set) == 0 }

func (s typeSet) complement() typeSet { return typeSet{set: s.set, inverted: !s.inverted} }

func intersect(a, b typeSet) typeSet {
	switch {
	case a.inverted && b.inverted:
		return typeSet{set: union(a.set, b.set), inverted: true}
	case a.inverted:
		return typeSet{set: minus(b.set, a.set)}
	case b.inverted:
		return typeSet{set: minus(a.set, b.set)}
	}
	out := map[event.Type]bool{}
	for t := range a.set {
		if b.set[t] {
			out[t] = true
		}
	}
	return typeSet{set: out}
}

func unionSets(a, b typeSet) typeSet {
	switch {
	case a.inverted && b.inverted:
		out := map[event.Type]bool{}
		for t := range a.set {
			if b.set[t] {
				out[t] = true
			}
		}
		return typeSet{set: out, inverted: true}
	case a.inverted:
		return typeSet{set: minus(a.set, b.set), inverted: true}
	case b.inverted:
		return typeSet{set: minus(b.set, a.set), inverted: true}
	}
	return typeSet{set: union(a.set, b.set)}
}

func union(a, b map[event.Type]bool) map[event.Type]bool {
	out := make(map[event.Type]bool, len(a)+len(b))
	for t := range a {
		out[t] = true
	}
	for t := range b {
		out[t] = true
	}
	return out
}

func minus(a, b map[event.Type]bool) map[event.Type]bool {
	out := map[event.Type]bool{}
	for t := range a {
		if !b[t] {
			out[t] = true
		}
	}
	return out
}

// names lists the types (for an inverted set, the excluded ones).
func (s typeSet) names() []string {
	out := make([]string, 0, len(s.set))
	for t := range s.set {
		out = append(out, t.String())
	}
	sort.Strings(out)
	return out
}

// eventTypes computes the types an expanded condition can match. pure
// reports whether the result depends on the event type alone, which is
// what lets `not` invert it exactly.
func eventTypes(n Node) (s typeSet, pure bool) { return typesOf(n, false) }

// syscallTypes computes the types whose syscalls the capture must select
// for an expanded condition: as eventTypes, but a check evt.is_io_uring =
// true matches no syscall (io_uring records are captured whatever the
// selection), so `evt.type = write and evt.is_io_uring = true` costs no
// capture of write(2).
func syscallTypes(n Node) typeSet {
	s, _ := typesOf(n, true)
	return s
}

// isIOUringCheck says whether n is evt.is_io_uring = true.
func isIOUringCheck(n *Check) bool {
	f, ok := n.Left.(*FieldRef)
	v, vok := n.Right.(*Value)
	return ok && vok && f.Name == "evt.is_io_uring" && !f.HasArg && (n.Op == "=" || n.Op == "==") && v.Text == "true"
}

func typesOf(n Node, uring bool) (s typeSet, pure bool) {
	switch n := n.(type) {
	case *BoolExpr:
		s, pure = typesOf(n.Terms[0], uring)
		for _, t := range n.Terms[1:] {
			ts, tp := typesOf(t, uring)
			if n.Op == "and" {
				s = intersect(s, ts)
			} else {
				s = unionSets(s, ts)
			}
			pure = pure && tp
		}
		return s, pure
	case *NotExpr:
		s, pure = typesOf(n.X, uring)
		if pure {
			return s.complement(), true
		}
		return allTypes(), false
	case *Check:
		if uring && isIOUringCheck(n) {
			return typeSet{set: map[event.Type]bool{}}, false
		}
		f, ok := n.Left.(*FieldRef)
		if !ok || f.Name != "evt.type" || f.HasArg {
			return allTypes(), false
		}
		vals, ok := literals(n.Right)
		if !ok {
			return allTypes(), false
		}
		set := map[event.Type]bool{}
		for _, v := range vals {
			set[event.TypeOf(v.Text)] = true
		}
		switch n.Op {
		case "=", "==", "in", "intersects":
			return typeSet{set: set}, true
		case "!=":
			return typeSet{set: set, inverted: true}, true
		}
		return allTypes(), false
	}
	return allTypes(), false
}
