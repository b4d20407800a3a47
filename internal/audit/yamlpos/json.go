package yamlpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// MaxDepth bounds nesting (and alias expansion) when converting to JSON.
const MaxDepth = 256

// yaml11Bools are the plain scalars YAML 1.1 (and so kubectl, through
// sigs.k8s.io/yaml) reads as booleans; yaml.v3 follows YAML 1.2 and keeps
// them as strings.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// ToJSON converts a parsed YAML node to JSON the way kubectl's YAML reader
// does: YAML 1.1 booleans, merge keys, aliases resolved, non-string keys as
// their text. It lets one yaml.v3 parse serve both positions and decoding.
func ToJSON(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, n, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var errDepth = errors.New("YAML nested too deeply (or an alias loop)")

func writeJSON(b *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > MaxDepth {
		return errDepth
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return writeJSON(b, n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			b.WriteString("null")
			return nil
		}
		return writeJSON(b, n.Alias, depth+1)
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case yaml.MappingNode:
		pairs, err := mappingPairs(n, depth)
		if err != nil {
			return err
		}
		b.WriteByte('{')
		for i, p := range pairs {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, p.key)
			b.WriteByte(':')
			if err := writeJSON(b, p.val, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case yaml.ScalarNode:
		writeScalar(b, n)
		return nil
	}
	return fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

type pair struct {
	key string
	val *yaml.Node
}

// mappingPairs lists a mapping's entries with merge keys (<<) expanded;
// explicit keys win over merged ones and, as in YAML readers, a later
// duplicate key replaces an earlier one.
func mappingPairs(n *yaml.Node, depth int) ([]pair, error) {
	var out []pair
	index := map[string]int{}
	add := func(k string, v *yaml.Node, override bool) {
		if i, ok := index[k]; ok {
			if override {
				out[i].val = v
			}
			return
		}
		index[k] = len(out)
		out = append(out, pair{k, v})
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		add(keyText(k), v, true)
	}
	for _, m := range merges {
		m = deref(m)
		var sources []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{m}
		case yaml.SequenceNode:
			sources = m.Content
		}
		for _, s := range sources {
			s = deref(s)
			if s.Kind != yaml.MappingNode {
				continue
			}
			if depth > MaxDepth {
				return nil, errDepth
			}
			sub, err := mappingPairs(s, depth+1)
			if err != nil {
				return nil, err
			}
			for _, p := range sub {
				add(p.key, p.val, false)
			}
		}
	}
	return out, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < MaxDepth; i++ {
		n = n.Alias
	}
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

func keyText(k *yaml.Node) string {
	k = deref(k)
	if k.Kind == yaml.ScalarNode {
		// kubectl's reader turns YAML 1.1 boolean keys into "true"/"false".
		if v, ok := yaml11Bools[k.Value]; ok && k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 && k.Tag == "!!str" {
			return strconv.FormatBool(v)
		}
		if k.ShortTag() == "!!null" {
			return "null"
		}
		return k.Value
	}
	return fmt.Sprintf("line%d", k.Line)
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

func writeScalar(b *bytes.Buffer, n *yaml.Node) {
	plain := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
		return
	case "!!bool":
		if v, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
			b.WriteString(strconv.FormatBool(v))
			return
		}
	case "!!int":
		v := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(v, 0, 64); err == nil {
			b.WriteString(strconv.FormatInt(i, 10))
			return
		}
		if u, err := strconv.ParseUint(v, 0, 64); err == nil {
			b.WriteString(strconv.FormatUint(u, 10))
			return
		}
	case "!!float":
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
			return
		}
	case "!!str":
		if plain && n.Tag == "!!str" {
			if v, ok := yaml11Bools[n.Value]; ok {
				b.WriteString(strconv.FormatBool(v))
				return
			}
		}
	}
	writeString(b, n.Value)
}
