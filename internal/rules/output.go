package rules

import (
	"fmt"
	"strings"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/fields"
)

// outputFormat is a rule's output compiled into literal text and fields.
type outputFormat struct {
	parts  []outputPart
	fields []outputField // distinct fields, in order of first use
	extras []extraField  // append_output's extra_fields: output_fields only
}

type extraField struct {
	name  string
	x     fields.Extractor
	fixed bool // value, not x
	value string
}

type outputPart struct {
	text  string
	field int // index into fields, -1 for literal text
}

type outputField struct {
	name string // as written: proc.aname[2], toupper(proc.name)
	x    fields.Extractor
}

// compileOutput parses "%field" references: %proc.name, %proc.aname[2],
// %toupper(proc.name); "%%" is a literal percent sign.
func (c *compiler) compileOutput(text string) (*outputFormat, error) {
	out := &outputFormat{}
	index := map[string]int{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out.parts = append(out.parts, outputPart{text: lit.String(), field: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(text); {
		ch := text[i]
		if ch != '%' {
			lit.WriteByte(ch)
			i++
			continue
		}
		if i+1 < len(text) && text[i+1] == '%' {
			lit.WriteByte('%')
			i += 2
			continue
		}
		j := i + 1
		// %(field) wraps a field so text may follow it directly.
		wrapped := j < len(text) && text[j] == '('
		if wrapped {
			j++
		}
		start := j
		src := textSource("output", text[start:])
		p := &parser{src: src, in: text[start:]}
		var op Operand
		if !(p.pos < len(p.in) && isIdentStart(p.in[p.pos])) {
			lit.WriteByte('%')
			i++
			continue
		}
		if t, ok := p.transformer(); ok {
			x, err := p.parseTransform(0, t)
			if err != nil {
				return nil, fmt.Errorf("output: %s", err.(*Error).Msg)
			}
			op = x
		} else {
			name := p.word()
			if !strings.Contains(name, ".") {
				lit.WriteByte('%')
				i++
				continue
			}
			f, err := p.fieldRest(0, name)
			if err != nil {
				return nil, fmt.Errorf("output: %s", err.(*Error).Msg)
			}
			op = f
		}
		j = start + p.pos
		if wrapped {
			if j < len(text) && text[j] == ')' {
				j++
			}
		}
		x, err := c.operand(op)
		if err != nil {
			return nil, fmt.Errorf("output: %s", err.(*Error).Msg)
		}
		key := op.String()
		idx, ok := index[key]
		if !ok {
			idx = len(out.fields)
			index[key] = idx
			out.fields = append(out.fields, outputField{name: key, x: x})
		}
		flush()
		out.parts = append(out.parts, outputPart{field: idx})
		i = j
	}
	flush()
	return out, nil
}

// compileExtraFields adds append_output's extra fields to out.
func (c *compiler) compileExtraFields(out *outputFormat, extra []ExtraField) error {
	for _, f := range extra {
		if f.Fixed {
			out.extras = append(out.extras, extraField{name: f.Name, value: f.Value, fixed: true})
			continue
		}
		pf, err := c.compileOutput("%" + f.Name)
		if err != nil || len(pf.fields) != 1 || len(pf.parts) != 1 {
			if err == nil {
				err = fmt.Errorf("output: %q is not a field", f.Name)
			}
			return fmt.Errorf("append_output extra_fields: %w", err)
		}
		out.extras = append(out.extras, extraField{name: pf.fields[0].name, x: pf.fields[0].x})
	}
	return nil
}

// render formats the output text and collects output_fields (nil values
// for fields not present, printed as <NA>).
func (o *outputFormat) render(e *event.Event) (string, map[string]any) {
	vals := make([]string, len(o.fields))
	fieldsOut := make(map[string]any, len(o.fields))
	for i, f := range o.fields {
		v := f.x.Value(e)
		fieldsOut[f.name] = v
		if s, ok := f.x.Format(e); ok {
			vals[i] = s
		} else {
			vals[i] = fields.NA
		}
	}
	for _, f := range o.extras {
		if f.fixed {
			fieldsOut[f.name] = f.value
		} else {
			fieldsOut[f.name] = f.x.Value(e)
		}
	}
	var b strings.Builder
	for _, p := range o.parts {
		if p.field < 0 {
			b.WriteString(p.text)
		} else {
			b.WriteString(vals[p.field])
		}
	}
	return b.String(), fieldsOut
}
