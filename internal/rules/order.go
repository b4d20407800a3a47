package rules

import (
	"sort"
	"strings"
)

// Conjunct ordering. An "and" fails as soon as one term fails, so terms that
// usually fail should run first. Most events meet a rule only to miss it,
// and the checks that make them miss are the ones on names and addresses
// (fd.name startswith /etc, proc.name in (...)); flags such as
// evt.is_open_read or fd.num >= 0 are true for almost every event the index
// offers. Terms have no side effects and a missing field makes only its own
// check false, so any order gives the same result.

// selectiveFields are fields whose checks rarely hold for a random event.
var selectiveFields = map[string]bool{
	"fd.name": true, "fd.directory": true, "fd.filename": true, "fd.nameraw": true,
	"proc.name": true, "proc.pname": true, "proc.exepath": true, "proc.exe": true, "proc.cmdline": true,
	"proc.args": true, "proc.pexepath": true, "proc.pcmdline": true, "fd.sip": true, "fd.snet": true,
	"fd.sport": true, "fd.rip": true, "fd.rnet": true, "fd.rport": true, "fd.lport": true, "fd.cip": true,
	"container.image.repository": true, "user.name": true, "evt.arg": true,
	// Most events are the host's or a workload's without a baseline.
	"baseline.exists": true,
	// Within a rule that covers several event types, a branch's evt.type
	// check is the cheapest way out for the other types.
	"evt.type": true,
}

// termCost ranks a term: lower runs earlier.
func termCost(n Node) int {
	switch n := n.(type) {
	case *NotExpr:
		// "not selective" is usually true: it rarely ends an "and".
		return 20 + termCost(n.X)
	case *BoolExpr:
		worst := 0
		for _, t := range n.Terms {
			worst = max(worst, termCost(t))
		}
		if n.Op == "or" {
			return worst + 5
		}
		return worst
	case *Check:
		cost := 10
		if f, ok := n.Left.(*FieldRef); ok {
			name := f.Name
			if strings.HasPrefix(name, "evt.arg.") {
				name = "evt.arg"
			}
			if selectiveFields[name] && n.Op != "!=" && n.Op != "exists" {
				cost = 0
			}
			if f.Name == "proc.aname" && !f.HasArg {
				cost += 6 // walks the ancestry
			}
		} else {
			cost += 4 // transformers
		}
		switch n.Op {
		case "glob", "iglob", "regex", "contains", "icontains", "bcontains":
			cost += 3
		}
		return cost
	}
	return 10
}

// orderConjuncts reorders the terms of every "and" by cost, keeping the
// written order among equals.
func orderConjuncts(n Node) Node {
	switch n := n.(type) {
	case *BoolExpr:
		terms := make([]Node, len(n.Terms))
		for i, t := range n.Terms {
			terms[i] = orderConjuncts(t)
		}
		if n.Op == "and" {
			sort.SliceStable(terms, func(i, j int) bool { return termCost(terms[i]) < termCost(terms[j]) })
		}
		return &BoolExpr{at: n.at, Op: n.Op, Terms: terms}
	case *NotExpr:
		return &NotExpr{at: n.at, X: orderConjuncts(n.X)}
	}
	return n
}
