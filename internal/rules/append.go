package rules

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/palisade-sec/palisade/internal/event"
)

// AppendOutput is one entry of Falco's append_output configuration: text
// added to the output of the rules it matches, and fields added to their
// JSON output_fields only.
type AppendOutput struct {
	Match       AppendMatch  `yaml:"match"`
	ExtraOutput string       `yaml:"extra_output"`
	ExtraFields []ExtraField `yaml:"extra_fields"`
}

// AppendMatch selects rules; every condition given must hold, and an empty
// match selects every rule.
type AppendMatch struct {
	Source string   `yaml:"source"`
	Rule   string   `yaml:"rule"`
	Tags   []string `yaml:"tags"` // the rule has every one
}

// ExtraField is a field name (its value is extracted from the event) or a
// fixed NAME: VALUE pair, in which ${VAR} is taken from the environment.
type ExtraField struct {
	Name  string
	Value string
	Fixed bool
}

// UnmarshalYAML takes "proc.name" or {name: value}.
func (f *ExtraField) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		f.Name = n.Value
		return nil
	case yaml.MappingNode:
		if len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode && n.Content[1].Kind == yaml.ScalarNode {
			f.Name, f.Value, f.Fixed = n.Content[0].Value, os.ExpandEnv(n.Content[1].Value), true
			return nil
		}
	}
	return fmt.Errorf("line %d: an extra field is a field name or one NAME: VALUE pair", n.Line)
}

// DefaultAppendOutput is what watch and replay append when the config
// says nothing: the container and pod of every syscall rule's alert, as
// Falco appends them, so that Falco's own rule files (whose outputs do not
// name the container) still say where an alert came from. A field the
// rule's output already prints is not printed twice.
var DefaultAppendOutput = []AppendOutput{{
	Match:       AppendMatch{Source: event.SourceSyscall},
	ExtraOutput: "container_id=%container.id container_name=%container.name container_image=%container.image.repository container_image_tag=%container.image.tag k8s_ns=%k8s.ns.name k8s_pod_name=%k8s.pod.name",
}}

func (a *AppendOutput) matches(r *Rule) bool {
	m := a.Match
	if m.Source != "" && m.Source != r.Source {
		return false
	}
	if m.Rule != "" && m.Rule != r.Name {
		return false
	}
	for _, t := range m.Tags {
		if !slices.Contains(r.Tags, t) {
			return false
		}
	}
	return true
}

// withAppended returns the rule's output text with the extra output of
// every matching entry, leaving out each space-separated piece whose
// fields the output already prints, and the extra fields to add.
func (c *compiler) withAppended(r *Rule, base *outputFormat, entries []AppendOutput) (string, []ExtraField, error) {
	text := r.Output
	var extra []ExtraField
	printed := map[string]bool{}
	for _, f := range base.fields {
		printed[f.name] = true
	}
	for i := range entries {
		a := &entries[i]
		if !a.matches(r) {
			continue
		}
		for _, piece := range strings.Fields(a.ExtraOutput) {
			pf, err := c.compileOutput(piece)
			if err != nil {
				return "", nil, fmt.Errorf("append_output[%d].extra_output: %w", i, err)
			}
			dup := len(pf.fields) > 0
			for _, f := range pf.fields {
				dup = dup && printed[f.name]
			}
			if dup {
				continue
			}
			for _, f := range pf.fields {
				printed[f.name] = true
			}
			text += " " + piece
		}
		extra = append(extra, a.ExtraFields...)
	}
	return text, extra, nil
}

// checkAppendOutput compiles every entry once, so a bad field is one error
// naming the entry rather than one per rule.
func (c *compiler) checkAppendOutput() error {
	for i, a := range c.appendOutput {
		out, err := c.compileOutput(a.ExtraOutput)
		if err == nil {
			err = c.compileExtraFields(out, a.ExtraFields)
		}
		if err != nil {
			return fmt.Errorf("append_output[%d]: %w", i, err)
		}
	}
	return nil
}
