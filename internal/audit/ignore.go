package audit

import (
	"bytes"
	"strings"
)

// IgnoreMarker starts an inline ignore comment: `# palisade:ignore SLUG[,SLUG]`.
// On a finding's line, or the line just above it, it silences that finding;
// on a container's (service's, workload's) own line it covers all of its
// findings. "*" silences every check.
const IgnoreMarker = "palisade:ignore"

// InlineIgnores maps 1-based line numbers to the slugs an ignore comment on
// that line names.
type InlineIgnores map[int]map[string]bool

// ParseInlineIgnores finds the ignore comments in a file's text.
func ParseInlineIgnores(content []byte) InlineIgnores {
	if !bytes.Contains(content, []byte(IgnoreMarker)) {
		return nil
	}
	ign := InlineIgnores{}
	for i, line := range bytes.Split(content, []byte("\n")) {
		at := bytes.Index(line, []byte(IgnoreMarker))
		if at < 0 || !bytes.Contains(line[:at], []byte("#")) {
			continue
		}
		rest := string(line[at+len(IgnoreMarker):])
		rest = strings.TrimLeft(rest, "=: \t")
		if j := strings.Index(rest, "#"); j >= 0 {
			rest = rest[:j]
		}
		slugs := strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' })
		if len(slugs) == 0 {
			continue
		}
		set := map[string]bool{}
		for _, s := range slugs {
			set[s] = true
		}
		ign[i+1] = set
	}
	return ign
}

// Covers reports whether an ignore comment on line, or the line above it,
// names slug.
func (ign InlineIgnores) Covers(line int, slug string) bool {
	if line <= 0 {
		return false
	}
	for _, l := range []int{line, line - 1} {
		if s := ign[l]; s != nil && (s[slug] || s["*"]) {
			return true
		}
	}
	return false
}

// Apply drops findings silenced by an inline ignore comment.
func (ign InlineIgnores) Apply(fs []Finding) []Finding {
	if len(ign) == 0 {
		return fs
	}
	out := fs[:0]
	for _, f := range fs {
		if ign.Covers(f.Line, f.Check) || ign.Covers(f.ContainerLine, f.Check) {
			continue
		}
		out = append(out, f)
	}
	return out
}
