package audit

import (
	"strconv"
	"strings"
)

// ApplySecurityOpts reads Docker's --security-opt values (also compose's
// security_opt) into c. Both the key=value and the older key:value spelling
// are accepted, as dockerd accepts them.
func ApplySecurityOpts(c *Container, opts []string) {
	for _, o := range opts {
		key, val := o, ""
		if i := strings.IndexAny(o, "=:"); i >= 0 {
			key, val = o[:i], o[i+1:]
		}
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		switch key {
		case "no-new-privileges":
			on := true
			if val != "" {
				b, err := strconv.ParseBool(val)
				on = err == nil && b
			}
			c.NoNewPrivileges = on
		case "seccomp":
			if strings.EqualFold(val, "unconfined") {
				c.Seccomp = "unconfined"
			} else if val != "" {
				c.Seccomp = "custom"
			}
		case "apparmor":
			c.AppArmor = val
		case "label":
			switch {
			case strings.EqualFold(val, "disable"):
				c.SELinuxDisabled = "SELinux labeling disabled (label=disable)"
			case strings.HasPrefix(val, "type:"):
				t := strings.TrimPrefix(val, "type:")
				if t == "spc_t" || t == "unconfined_t" {
					c.SELinuxDisabled = "SELinux type " + t
				}
			}
		case "systempaths":
			if strings.EqualFold(val, "unconfined") {
				c.UnmaskedProc = "systempaths=unconfined leaves /proc and /sys unmasked"
			}
		}
	}
}

// RootUserReason says why a Docker-style user string ("", "0", "root:root",
// "1000:1000") means uid 0, or returns "" when it does not. imageDefault is
// the text used when the user is empty and the image's USER applies.
func RootUserReason(user, imageDefault string) string {
	u := strings.TrimSpace(user)
	if u == "" {
		return imageDefault
	}
	name := u
	if i := strings.IndexByte(u, ':'); i >= 0 {
		name = u[:i]
	}
	if name == "0" || name == "root" {
		return "runs as user " + u + " (uid 0)"
	}
	return ""
}

// DefaultCapsKept is the text for a Docker or compose container that keeps
// the runtime's default capability set.
const DefaultCapsKept = "keeps the default capability set (no cap_drop ALL), including CAP_NET_RAW and CAP_MKNOD"

// CapsDropAll reports whether a drop list drops every capability.
func CapsDropAll(drop []string) bool {
	for _, d := range drop {
		if NormalizeCap(d) == "ALL" {
			return true
		}
	}
	return false
}
