package cli

import "github.com/palisade-sec/palisade/internal/escape"

// sanitize is escape.Text under the name replay.go still uses.
func sanitize(s string) string { return escape.Text(s) }
