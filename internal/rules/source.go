package rules

import (
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/palisade-sec/palisade/internal/srcpos"
)

// Position is a place in a rule file, 1-based. Line 0 means unknown.
type Position = srcpos.Position

// Source is the text of a condition and where each of its bytes came from.
// A condition can be built from several YAML scalars (a rule plus appended
// conditions), so the text is kept as segments.
type Source struct {
	Text     string
	segments []segment
}

type segment struct {
	start int // offset of this segment in Text
	file  *fileText
	node  *yaml.Node
	// positions of each byte of the segment's text in the file, computed on
	// first use (errors are rare; loading must stay fast).
	lines, cols []int
}

// fileText is one loaded rule file's name and bytes.
type fileText struct {
	name string
	data []byte
}

// newSource makes a Source for one YAML scalar.
func newSource(f *fileText, n *yaml.Node) *Source {
	return &Source{Text: n.Value, segments: []segment{{file: f, node: n}}}
}

// textSource makes a Source for text that is not in a file (tests, CLI).
func textSource(name, text string) *Source {
	return &Source{Text: text, segments: []segment{{file: &fileText{name: name, data: []byte(text)}}}}
}

// appendSource returns a new Source with sep and other's text after s's.
func (s *Source) appendSource(sep string, other *Source) *Source {
	out := &Source{Text: s.Text + sep + other.Text}
	out.segments = append(out.segments, s.segments...)
	base := len(s.Text) + len(sep)
	for _, seg := range other.segments {
		seg.start += base
		out.segments = append(out.segments, seg)
	}
	return out
}

// Position returns the file position of byte offset off in Text.
func (s *Source) Position(off int) Position {
	if len(s.segments) == 0 {
		return Position{}
	}
	i := sort.Search(len(s.segments), func(i int) bool { return s.segments[i].start > off }) - 1
	if i < 0 {
		i = 0
	}
	seg := &s.segments[i]
	end := len(s.Text)
	if i+1 < len(s.segments) {
		end = s.segments[i+1].start
	}
	return seg.position(s.Text[seg.start:end], off-seg.start)
}

func (seg *segment) position(text string, off int) Position {
	name := seg.file.name
	if seg.node == nil {
		// Plain text: count lines directly.
		if off > len(text) {
			off = len(text)
		}
		if off < 0 {
			off = 0
		}
		line := 1 + strings.Count(text[:off], "\n")
		col := off - strings.LastIndexByte(text[:off], '\n')
		return Position{File: name, Line: line, Col: col}
	}
	if seg.lines == nil {
		seg.align(text)
	}
	if off >= len(seg.lines) {
		off = len(seg.lines) - 1
	}
	if off < 0 {
		return Position{File: name, Line: seg.node.Line, Col: seg.node.Column}
	}
	return Position{File: name, Line: seg.lines[off], Col: seg.cols[off]}
}

// align maps each byte of a scalar's value to its place in the file. YAML
// folding and quoting only change white space and escapes, so walking the
// file from the scalar's start and matching non-blank bytes in order finds
// every byte's origin.
func (seg *segment) align(text string) {
	n := seg.node
	data := seg.file.data
	seg.lines = make([]int, len(text)+1)
	seg.cols = make([]int, len(text)+1)
	// Offset of the node's first byte in the file.
	p, line, col := 0, 1, 1
	for p < len(data) && (line < n.Line || (line == n.Line && col < n.Column)) {
		if data[p] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		p++
	}
	advance := func() {
		if p < len(data) {
			if data[p] == '\n' {
				line++
				col = 1
			} else {
				col++
			}
			p++
		}
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		for p < len(data) && data[p] != '\n' {
			advance()
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		advance()
	}
	for k := 0; k < len(text); k++ {
		c := text[k]
		if c != ' ' && c != '\n' && c != '\t' {
			for p < len(data) && data[p] != c && (data[p] == ' ' || data[p] == '\n' || data[p] == '\t' || data[p] == '\r' || data[p] == '\\' || data[p] == '\'') {
				advance()
			}
		}
		seg.lines[k], seg.cols[k] = line, col
		if c != ' ' && c != '\n' && c != '\t' && p < len(data) && data[p] == c {
			advance()
		} else if (c == ' ' || c == '\t') && p < len(data) && data[p] == c {
			advance()
		}
	}
	seg.lines[len(text)], seg.cols[len(text)] = line, col
}

// Error is a problem in a rule file or condition, with its position.
type Error = srcpos.Error

// ErrorList is every error found while loading, sorted by position.
type ErrorList = srcpos.ErrorList
