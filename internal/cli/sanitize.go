package cli

import "github.com/palisade-sec/palisade/internal/outputs"

// sanitize makes attacker-controlled text safe for a terminal: the same
// escaping every alert output uses (control characters, invalid UTF-8 and
// bidirectional overrides become Go escapes).
func sanitize(s string) string { return outputs.EscapeText(s) }
