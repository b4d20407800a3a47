package selinux

import (
	"fmt"
	"strings"
)

// Context is a security context: user:role:type[:level]. The level (MLS/MCS
// range) may itself contain colons, e.g. s0-s0:c0.c1023.
type Context struct {
	User  string `json:"user"`
	Role  string `json:"role"`
	Type  string `json:"type"`
	Level string `json:"level,omitempty"`
}

func (c Context) String() string {
	s := c.User + ":" + c.Role + ":" + c.Type
	if c.Level != "" {
		s += ":" + c.Level
	}
	return s
}

// ParseContext parses a security context as the kernel prints it (a trailing
// NUL or newline is ignored).
func ParseContext(s string) (Context, error) {
	s = strings.TrimRight(s, "\x00\n")
	parts := strings.SplitN(s, ":", 4)
	if len(parts) < 3 {
		return Context{}, fmt.Errorf("parse SELinux context %q: want user:role:type[:level]", s)
	}
	c := Context{User: parts[0], Role: parts[1], Type: parts[2]}
	if len(parts) == 4 {
		c.Level = parts[3]
	}
	for _, p := range []string{c.User, c.Role, c.Type} {
		if !isIdent(p) {
			return Context{}, fmt.Errorf("parse SELinux context %q: %q is not an SELinux identifier", s, p)
		}
	}
	if c.Level != "" && !isLevel(c.Level) {
		return Context{}, fmt.Errorf("parse SELinux context %q: %q is not an MLS/MCS level", s, c.Level)
	}
	return c, nil
}

func isIdent(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// isLevel accepts sensitivity[:categories][-sensitivity[:categories]], e.g.
// s0, s0:c1,c2, s0-s15:c0.c1023.
func isLevel(s string) bool {
	if len(s) > 4096 {
		return false
	}
	for _, half := range strings.SplitN(s, "-", 2) {
		sens, cats, hasCats := strings.Cut(half, ":")
		if !isSensitivity(sens) {
			return false
		}
		if hasCats {
			for _, set := range strings.Split(cats, ",") {
				lo, hi, isRange := strings.Cut(set, ".")
				if !isCategory(lo) || (isRange && !isCategory(hi)) {
					return false
				}
			}
		}
	}
	return true
}

func isSensitivity(s string) bool { return len(s) > 1 && s[0] == 's' && allDigits(s[1:]) }
func isCategory(s string) bool    { return len(s) > 1 && s[0] == 'c' && allDigits(s[1:]) }

func allDigits(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
