package yamlpos

import (
	"bytes"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Root unwraps a document node to its content.
func Root(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// Get follows path (string keys into mappings, int indexes into sequences)
// from n. It returns the key node of the last mapping step (or the item for
// a sequence step) and the value node; both are nil when the path is absent.
func Get(n *yaml.Node, path ...any) (key, val *yaml.Node) {
	val = Root(n)
	key = val
	for _, p := range path {
		val = Root(val)
		if val == nil {
			return nil, nil
		}
		switch p := p.(type) {
		case string:
			if val.Kind != yaml.MappingNode {
				return nil, nil
			}
			found := false
			for i := 0; i+1 < len(val.Content); i += 2 {
				if val.Content[i].Value == p {
					key, val = val.Content[i], val.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return nil, nil
			}
		case int:
			if val.Kind != yaml.SequenceNode || p < 0 || p >= len(val.Content) {
				return nil, nil
			}
			val = val.Content[p]
			key = val
		default:
			return nil, nil
		}
	}
	return key, Root(val)
}

// Line is the line of the key at path, or 0 when it is absent.
func Line(n *yaml.Node, path ...any) int {
	k, _ := Get(n, path...)
	if k == nil {
		return 0
	}
	return k.Line
}

// FirstLine returns the line of the first of paths that exists, or 0.
func FirstLine(n *yaml.Node, paths ...[]any) int {
	for _, p := range paths {
		if l := Line(n, p...); l > 0 {
			return l
		}
	}
	return 0
}

// FindDotted looks up a dotted field path as encoding/json reports it
// ("spec.template.spec.containers.securityContext.privileged"), searching
// every item where a step crosses a sequence. It returns the line of the
// deepest key it could reach.
func FindDotted(n *yaml.Node, dotted string) int {
	parts := strings.Split(dotted, ".")
	return findParts(Root(n), parts, 0)
}

func findParts(n *yaml.Node, parts []string, best int) int {
	n = Root(n)
	if n == nil || len(parts) == 0 {
		return best
	}
	switch n.Kind {
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(parts[0]); err == nil && i >= 0 && i < len(n.Content) {
			return findParts(n.Content[i], parts[1:], n.Content[i].Line)
		}
		for _, item := range n.Content {
			if l := findParts(item, parts, best); l > best {
				return l
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == parts[0] {
				return findParts(n.Content[i+1], parts[1:], n.Content[i].Line)
			}
		}
	}
	return best
}

// Doc is one document of a multi-document stream.
type Doc struct {
	Data []byte
	// Offset is the number of lines before the document in the stream; add
	// it to a line within Data to get the line in the file.
	Offset int
}

// Split cuts a stream at its "---" separators. A separator line is blanked
// and kept as the first line of the document it opens, so line numbers and
// any content after the marker stay in place.
func Split(data []byte) []Doc {
	buf := append([]byte(nil), data...)
	var docs []Doc
	start, startLine, line := 0, 0, 0
	for i := 0; i < len(buf); line++ {
		end := bytes.IndexByte(buf[i:], '\n')
		if end < 0 {
			end = len(buf)
		} else {
			end += i
		}
		l := buf[i:end]
		if bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r') {
			docs = append(docs, Doc{Data: buf[start:i], Offset: startLine})
			copy(l, "   ")
			start, startLine = i, line
		}
		i = end + 1
	}
	docs = append(docs, Doc{Data: buf[start:], Offset: startLine})
	out := docs[:0]
	for _, d := range docs {
		if !Blank(d.Data) {
			out = append(out, d)
		}
	}
	return out
}

// Blank reports whether a document holds only whitespace and comments.
func Blank(data []byte) bool {
	for _, l := range bytes.Split(data, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) > 0 && t[0] != '#' {
			return false
		}
	}
	return true
}
