package jsonpos

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// MaxDepth bounds the nesting Build follows.
const MaxDepth = 512

// Index maps a dotted path ("HostConfig.Privileged", "mounts.2",
// "0.HostConfig.Binds.1") to the 1-based line of its key or element.
type Index map[string]int

// Build indexes data. Invalid JSON yields the positions read before the error.
func Build(data []byte) Index {
	ix := Index{}
	starts := []int64{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, int64(i+1))
		}
	}
	lineOf := func(off int64) int {
		// off is just past the token; step back onto it.
		if off > 0 {
			off--
		}
		return sort.Search(len(starts), func(i int) bool { return starts[i] > off })
	}
	type frame struct {
		array     bool
		path      string
		idx       int
		expectKey bool
		pending   string
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ix
		}
		off := dec.InputOffset()
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		d, isDelim := tok.(json.Delim)
		if isDelim && (d == '}' || d == ']') {
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top != nil && !top.array && top.expectKey {
			key, _ := tok.(string)
			p := join(top.path, key)
			ix[p] = lineOf(off)
			top.expectKey, top.pending = false, p
			continue
		}
		path := ""
		switch {
		case top == nil:
		case top.array:
			path = join(top.path, strconv.Itoa(top.idx))
			top.idx++
			ix[path] = lineOf(off)
		default:
			path = top.pending
			top.expectKey = true
		}
		if isDelim && (d == '{' || d == '[') && len(stack) < MaxDepth {
			stack = append(stack, &frame{array: d == '[', path: path, expectKey: d == '{'})
		}
	}
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Line returns the line of the first path that exists (paths are dotted,
// joined to prefix), or 0.
func (ix Index) Line(prefix string, paths ...string) int {
	for _, p := range paths {
		if l := ix[join(prefix, p)]; l > 0 {
			return l
		}
	}
	return 0
}

// Prefix returns the path prefix of element i of a top-level array, or ""
// for a top-level object.
func Prefix(data []byte, i int) string {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		return strconv.Itoa(i)
	}
	return ""
}

// Under reports whether path is prefix or inside it.
func Under(path, prefix string) bool {
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+".")
}
