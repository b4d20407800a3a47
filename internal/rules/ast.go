package rules

import (
	"strings"
)

// Node is a parsed condition expression. String returns the canonical form
// used in golden tests and by `rules explain`: every and/or is parenthesised,
// every value double-quoted.
type Node interface {
	String() string
	Position() Position
	holder() at
}

// at records where a node came from so compile errors can point at the
// original file, line and column.
type at struct {
	src *Source
	off int
}

func (a at) holder() at { return a }

// Position maps the node's offset back to its file.
func (a at) Position() Position {
	if a.src == nil {
		return Position{}
	}
	return a.src.Position(a.off)
}

// BoolExpr is a chain of terms joined by one boolean operator ("and"/"or").
type BoolExpr struct {
	at
	Op    string
	Terms []Node
}

func (b *BoolExpr) String() string {
	parts := make([]string, len(b.Terms))
	for i, t := range b.Terms {
		parts[i] = t.String()
	}
	return "(" + strings.Join(parts, " "+b.Op+" ") + ")"
}

// NotExpr negates its operand.
type NotExpr struct {
	at
	X Node
}

func (n *NotExpr) String() string { return "not " + n.X.String() }

// Ident is a bare identifier in condition position: a macro reference.
type Ident struct {
	at
	Name string
}

func (i *Ident) String() string { return i.Name }

// Check compares an operand with an operator and (except for exists) a
// right-hand side.
type Check struct {
	at
	Left  Operand
	Op    string
	Right Node // *Value, *ListValue, *FieldRef or *Transform; nil for exists
}

func (c *Check) String() string {
	if c.Right == nil {
		return c.Left.String() + " " + c.Op
	}
	return c.Left.String() + " " + c.Op + " " + c.Right.String()
}

// Operand is a field or a transformer applied to a field.
type Operand interface {
	Node
	operand()
}

// FieldRef names a field, with its optional [argument].
type FieldRef struct {
	at
	Name   string
	Arg    string
	HasArg bool
}

func (f *FieldRef) operand() {}
func (f *FieldRef) String() string {
	if f.HasArg {
		return f.Name + "[" + f.Arg + "]"
	}
	return f.Name
}

// Transform applies a transformer (tolower, toupper, b64, basename, len) or
// val() to an operand.
type Transform struct {
	at
	Fn string
	X  Operand
}

func (t *Transform) operand()       {}
func (t *Transform) String() string { return t.Fn + "(" + t.X.String() + ")" }

// Value is a literal on the right-hand side.
type Value struct {
	at
	Text   string
	Quoted bool
}

// String writes a value bare when it was bare in the source (so list names
// stay list names) and quoted otherwise.
func (v *Value) String() string {
	if !v.Quoted && isBareValue(v.Text) {
		return v.Text
	}
	return quoteValue(v.Text)
}

// quoteValue quotes as the condition language does: only the quote and the
// backslash are escaped (it has no \n-style escapes).
func quoteValue(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

func isBareValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r', '\f', '\v', '\b', '(', ')', ',', '=', '"', '\'':
			return false
		}
	}
	return true
}

// ListValue is a parenthesised list of values (list names not yet expanded).
type ListValue struct {
	at
	Items []*Value
}

func (l *ListValue) String() string {
	parts := make([]string, len(l.Items))
	for i, v := range l.Items {
		parts[i] = v.String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
