package rules

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// exceptionsAST builds the condition that the rule's exceptions add:
//
//	not ((f1 c1 v1 and f2 c2 v2) or (...)) and not (...)
//
// with one "not" per exception that has values.
func (c *compiler) exceptionsAST(r *Rule) (Node, error) {
	var terms []Node
	for _, e := range r.Exceptions {
		if len(e.Values) == 0 {
			continue
		}
		ops := make([]Operand, len(e.Fields))
		for i, f := range e.Fields {
			op, err := parseOperand(f, e)
			if err != nil {
				return nil, err
			}
			ops[i] = op
		}
		var alts []Node
		for _, v := range e.Values {
			if e.Single {
				if isListOp(e.Comps[0]) {
					// Collected below into one list check.
					continue
				}
				alts = append(alts, &Check{at: nodeAt(e, v), Left: ops[0], Op: e.Comps[0], Right: valueNode(e, v, false)})
				continue
			}
			var conj []Node
			for i, item := range v.Content {
				conj = append(conj, &Check{at: nodeAt(e, item), Left: ops[i], Op: e.Comps[i], Right: valueNode(e, resolveAlias(item), isListOp(e.Comps[i]))})
			}
			alts = append(alts, andOf(conj))
		}
		if e.Single && isListOp(e.Comps[0]) {
			lv := &ListValue{at: nodeAt(e, e.Values[0])}
			for _, v := range e.Values {
				lv.Items = append(lv.Items, flatValues(e, v)...)
			}
			alts = append(alts, &Check{at: lv.at, Left: ops[0], Op: e.Comps[0], Right: lv})
		}
		var inner Node
		if len(alts) == 1 {
			inner = alts[0]
		} else {
			inner = &BoolExpr{at: nodeAt(e, e.Values[0]), Op: "or", Terms: alts}
		}
		terms = append(terms, &NotExpr{at: inner.holder(), X: inner})
	}
	if len(terms) == 0 {
		return nil, nil
	}
	return andOf(terms), nil
}

func andOf(ns []Node) Node {
	if len(ns) == 1 {
		return ns[0]
	}
	return &BoolExpr{at: ns[0].holder(), Op: "and", Terms: ns}
}

func nodeAt(e *Exception, n *yaml.Node) at {
	return at{src: newSource(e.file, n), off: 0}
}

// valueNode turns a YAML value into a Value, or a ListValue for list
// operators (a sequence, or a scalar that may name a list).
func valueNode(e *Exception, n *yaml.Node, list bool) Node {
	if !list {
		return &Value{at: nodeAt(e, n), Text: n.Value, Quoted: n.Style == yaml.DoubleQuotedStyle || n.Style == yaml.SingleQuotedStyle}
	}
	return &ListValue{at: nodeAt(e, n), Items: flatValues(e, n)}
}

func flatValues(e *Exception, n *yaml.Node) []*Value {
	if n.Kind == yaml.SequenceNode {
		var out []*Value
		for _, c := range n.Content {
			out = append(out, flatValues(e, resolveAlias(c))...)
		}
		return out
	}
	return []*Value{{at: nodeAt(e, n), Text: n.Value}}
}

// parseOperand parses an exception's field name (with optional argument or
// transformer).
func parseOperand(text string, e *Exception) (Operand, error) {
	src := textSource(e.pos.File, text)
	p := &parser{src: src, in: text}
	var op Operand
	if t, ok := p.transformer(); ok {
		x, err := p.parseTransform(0, t)
		if err != nil {
			return nil, &Error{Pos: e.pos, Msg: fmt.Sprintf("exception %s: %s", e.Name, err.(*Error).Msg)}
		}
		op = x
	} else {
		name := p.word()
		f, err := p.fieldRest(0, name)
		if err != nil {
			return nil, &Error{Pos: e.pos, Msg: fmt.Sprintf("exception %s: %s", e.Name, err.(*Error).Msg)}
		}
		op = f
	}
	if p.pos != len(text) || text == "" {
		return nil, &Error{Pos: e.pos, Msg: fmt.Sprintf("exception %s: %q is not a field", e.Name, text)}
	}
	// Errors about this field point at the exception.
	switch o := op.(type) {
	case *FieldRef:
		o.at = excAt(e)
	case *Transform:
		o.at = excAt(e)
	}
	return op, nil
}

// excAt is a position holder that reports the exception's own position.
func excAt(e *Exception) at {
	return at{src: &Source{Text: "", segments: []segment{{file: e.file, node: &yaml.Node{Line: e.pos.Line, Column: e.pos.Col}}}}, off: 0}
}
