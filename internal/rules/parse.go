package rules

import (
	"fmt"
	"strings"
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 100

// ParseCondition parses a condition in Falco's filter language.
func ParseCondition(src *Source) (Node, error) {
	p := &parser{src: src, in: src.Text}
	n, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	p.blank()
	if p.pos < len(p.in) {
		return nil, p.errorf(p.pos, "unexpected %s after the end of the condition", p.describe())
	}
	return n, nil
}

// ParseConditionString parses text not taken from a file (tests, the CLI).
func ParseConditionString(text string) (Node, error) {
	return ParseCondition(textSource("condition", text))
}

type parser struct {
	src   *Source
	in    string
	pos   int
	depth int
}

func (p *parser) errorf(off int, format string, args ...any) error {
	return &Error{Pos: p.src.Position(off), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) at(off int) at { return at{src: p.src, off: off} }

// describe names what is at the cursor, for error messages.
func (p *parser) describe() string {
	if p.pos >= len(p.in) {
		return "end of condition"
	}
	end := p.pos
	for end < len(p.in) && end-p.pos < 20 && !isBlank(p.in[end]) {
		end++
	}
	if end == p.pos {
		end++
	}
	return fmt.Sprintf("%q", p.in[p.pos:end])
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\b'
}

func (p *parser) blank() bool {
	start := p.pos
	for p.pos < len(p.in) && isBlank(p.in[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' || c == '_' }

// keyword reports whether word is at the cursor and ends there (not
// followed by an identifier character), and consumes it if so.
func (p *parser) keyword(word string) bool {
	if !strings.HasPrefix(p.in[p.pos:], word) {
		return false
	}
	end := p.pos + len(word)
	if end < len(p.in) {
		if c := p.in[end]; isIdentChar(c) || c == '.' {
			return false
		}
	}
	p.pos = end
	return true
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf(p.pos, "condition nested deeper than %d levels", maxDepth)
	}
	return nil
}

// parseExpr parses
//
//	Expr ::= AndExpr ('or' AndExpr)*
func (p *parser) parseExpr() (Node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	return p.parseChain("or", p.parseAnd)
}

// parseAnd parses
//
//	AndExpr ::= NotExpr ('and' NotExpr)*
func (p *parser) parseAnd() (Node, error) { return p.parseChain("and", p.parseNot) }

// parseChain parses one or more terms joined by the keyword op; a single
// term is returned as it is.
func (p *parser) parseChain(op string, term func() (Node, error)) (Node, error) {
	p.blank()
	start := p.pos
	first, err := term()
	if err != nil {
		return nil, err
	}
	terms := []Node{first}
	for {
		save := p.pos
		p.blank()
		if !p.keyword(op) {
			p.pos = save
			break
		}
		t, err := term()
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return &BoolExpr{at: p.at(start), Op: op, Terms: terms}, nil
}

// parseNot parses
//
//	NotExpr ::= ('not')* Check
func (p *parser) parseNot() (Node, error) {
	p.blank()
	start := p.pos
	if p.keyword("not") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		x, err := p.parseNot()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &NotExpr{at: p.at(start), X: x}, nil
	}
	return p.parseCheck()
}

// parseCheck parses
//
//	Check ::= '(' Expr ')' | Operand Condition | Identifier
func (p *parser) parseCheck() (Node, error) {
	p.blank()
	start := p.pos
	if p.pos >= len(p.in) {
		return nil, p.errorf(p.pos, "expected a check, a macro or '(' but the condition ends here")
	}
	if p.in[p.pos] == '(' {
		p.pos++
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		p.blank()
		if p.pos >= len(p.in) || p.in[p.pos] != ')' {
			return nil, p.errorf(start, "unbalanced parentheses: '(' is never closed")
		}
		p.pos++
		return x, nil
	}
	if p.in[p.pos] == ')' {
		return nil, p.errorf(p.pos, "unbalanced parentheses: unexpected ')'")
	}
	if !isIdentStart(p.in[p.pos]) {
		return nil, p.errorf(p.pos, "expected a field, a macro or '(' but found %s", p.describe())
	}
	if op, ok := p.transformer(); ok {
		x, err := p.parseTransform(start, op)
		if err != nil {
			return nil, err
		}
		return p.parseCondition(start, x)
	}
	name := p.word()
	if name == "and" || name == "or" {
		p.pos = start
		return nil, p.errorf(start, "expected a check, a macro or '(' but found %s", p.describe())
	}
	if !strings.Contains(name, ".") {
		return &Ident{at: p.at(start), Name: name}, nil
	}
	f, err := p.fieldRest(start, name)
	if err != nil {
		return nil, err
	}
	return p.parseCondition(start, f)
}

// transformers usable on the left (and, with val, on the right).
var transformerNames = []string{"tolower", "toupper", "b64", "basename", "len", "val"}

// transformer reports whether a transformer call starts at the cursor.
func (p *parser) transformer() (string, bool) {
	for _, t := range transformerNames {
		if strings.HasPrefix(p.in[p.pos:], t+"(") {
			return t, true
		}
	}
	return "", false
}

// parseTransform parses
//
//	Transform ::= Name '(' (Transform | Field) ')'
func (p *parser) parseTransform(start int, fn string) (Operand, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.pos += len(fn) + 1
	p.blank()
	inner := p.pos
	var x Operand
	if t, ok := p.transformer(); ok {
		if fn == "val" {
			return nil, p.errorf(inner, "val() takes a field, not a transformer")
		}
		var err error
		if x, err = p.parseTransform(inner, t); err != nil {
			return nil, err
		}
	} else {
		if p.pos >= len(p.in) || !isIdentStart(p.in[p.pos]) {
			return nil, p.errorf(p.pos, "%s() needs a field argument, found %s", fn, p.describe())
		}
		name := p.word()
		if !strings.Contains(name, ".") {
			return nil, p.errorf(inner, "%s() needs a field argument, %q is not a field", fn, name)
		}
		f, err := p.fieldRest(inner, name)
		if err != nil {
			return nil, err
		}
		x = f
	}
	p.blank()
	if p.pos >= len(p.in) || p.in[p.pos] != ')' {
		return nil, p.errorf(start, "unbalanced parentheses: %s( is never closed", fn)
	}
	p.pos++
	return &Transform{at: p.at(start), Fn: fn, X: x}, nil
}

// word consumes [a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z0-9_]+)*.
func (p *parser) word() string {
	start := p.pos
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		if isIdentChar(c) {
			p.pos++
			continue
		}
		if c == '.' && p.pos+1 < len(p.in) && isIdentChar(p.in[p.pos+1]) {
			p.pos++
			continue
		}
		break
	}
	return p.in[start:p.pos]
}

// fieldRest parses the optional argument of a field:
//
//	Field ::= FieldName ('[' FieldArg ']')?
func (p *parser) fieldRest(start int, name string) (*FieldRef, error) {
	f := &FieldRef{at: p.at(start), Name: name}
	if p.pos < len(p.in) && p.in[p.pos] == '[' {
		p.pos++
		argStart := p.pos
		if p.pos < len(p.in) && (p.in[p.pos] == '"' || p.in[p.pos] == '\'') {
			s, err := p.quoted()
			if err != nil {
				return nil, err
			}
			f.Arg = s
		} else {
			for p.pos < len(p.in) && p.in[p.pos] != ']' && p.in[p.pos] != '[' && !isBlank(p.in[p.pos]) && p.in[p.pos] != '"' && p.in[p.pos] != '\'' {
				p.pos++
			}
			f.Arg = p.in[argStart:p.pos]
		}
		if p.pos >= len(p.in) || p.in[p.pos] != ']' {
			return nil, p.errorf(argStart-1, "field %s: '[' is never closed", name)
		}
		p.pos++
		f.HasArg = true
	}
	return f, nil
}

// Operators, longest first so "<=" wins over "<".
var symbolOps = []string{"==", "!=", "<=", ">=", "=", "<", ">"}
var wordOps = []string{"exists", "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "glob", "iglob", "pmatch", "in", "intersects", "regex"}

func isListOp(op string) bool { return op == "in" || op == "intersects" || op == "pmatch" }

// parseCondition parses
//
//	Condition ::= 'exists' | ListOp ListValue | Op (Value | Transform)
func (p *parser) parseCondition(start int, left Operand) (Node, error) {
	p.blank()
	opPos := p.pos
	op := ""
	for _, s := range symbolOps {
		if strings.HasPrefix(p.in[p.pos:], s) {
			op = s
			p.pos += len(s)
			break
		}
	}
	if op == "" {
		for _, w := range wordOps {
			if p.keyword(w) {
				op = w
				break
			}
		}
	}
	if op == "" {
		return nil, p.errorf(opPos, "expected an operator after %s, found %s", left.String(), p.describe())
	}
	c := &Check{at: p.at(start), Left: left, Op: op}
	if op == "exists" {
		return c, nil
	}
	p.blank()
	if t, ok := p.transformer(); ok {
		r, err := p.parseTransform(p.pos, t)
		if err != nil {
			return nil, err
		}
		c.Right = r
		return c, nil
	}
	if isListOp(op) {
		r, err := p.parseListValue()
		if err != nil {
			return nil, err
		}
		c.Right = r
		return c, nil
	}
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	c.Right = v
	return c, nil
}

// parseListValue parses
//
//	ListValue ::= '(' (Value (',' Value)*)? ')' | Identifier
func (p *parser) parseListValue() (*ListValue, error) {
	start := p.pos
	if p.pos < len(p.in) && isIdentStart(p.in[p.pos]) {
		name := p.word()
		return &ListValue{at: p.at(start), Items: []*Value{{at: p.at(start), Text: name}}}, nil
	}
	if p.pos >= len(p.in) || p.in[p.pos] != '(' {
		return nil, p.errorf(p.pos, "expected a list '(...)' or a list name, found %s", p.describe())
	}
	p.pos++
	l := &ListValue{at: p.at(start)}
	p.blank()
	if p.pos < len(p.in) && p.in[p.pos] == ')' {
		p.pos++
		return l, nil
	}
	for {
		p.blank()
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		l.Items = append(l.Items, v)
		p.blank()
		if p.pos >= len(p.in) {
			return nil, p.errorf(start, "unbalanced parentheses: list '(' is never closed")
		}
		if p.in[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.in[p.pos] == ')' {
			p.pos++
			return l, nil
		}
		return nil, p.errorf(p.pos, "expected ',' or ')' in list, found %s", p.describe())
	}
}

// parseValue parses
//
//	Value ::= QuotedStr | BareStr     BareStr ::= [^ \t\n\r\f\v\b(),="']+
func (p *parser) parseValue() (*Value, error) {
	start := p.pos
	if p.pos >= len(p.in) {
		return nil, p.errorf(p.pos, "expected a value but the condition ends here")
	}
	if c := p.in[p.pos]; c == '"' || c == '\'' {
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		return &Value{at: p.at(start), Text: s, Quoted: true}, nil
	}
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		if isBlank(c) || c == '(' || c == ')' || c == ',' || c == '=' || c == '"' || c == '\'' {
			break
		}
		p.pos++
	}
	if p.pos == start {
		return nil, p.errorf(p.pos, "expected a value, found %s", p.describe())
	}
	return &Value{at: p.at(start), Text: p.in[start:p.pos]}, nil
}

// quoted consumes a single- or double-quoted string; a backslash escapes the
// quote character and itself.
func (p *parser) quoted() (string, error) {
	start := p.pos
	q := p.in[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		if c == '\\' && p.pos+1 < len(p.in) && (p.in[p.pos+1] == q || p.in[p.pos+1] == '\\') {
			b.WriteByte(p.in[p.pos+1])
			p.pos += 2
			continue
		}
		if c == q {
			p.pos++
			return b.String(), nil
		}
		b.WriteByte(c)
		p.pos++
	}
	return "", p.errorf(start, "unterminated quoted string")
}
