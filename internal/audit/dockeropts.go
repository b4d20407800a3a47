package audit

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/selinux"
)

// ApplySecurityOpts reads Docker's --security-opt values (also compose's
// security_opt) into c. Both the key=value and the older key:value spelling
// are accepted, as dockerd accepts them; an option dockerd would refuse is
// recorded in c.Unreadable, at lines[i] when the caller knows each option's
// line (lines may be nil).
func ApplySecurityOpts(c *Container, opts []string, lines []int) {
	flagName, optName := "--security-opt ", "security_opt entry "
	if c.Source != SourceCompose {
		optName = flagName
	}
	line := 0
	bad := func(f Field, o, why, fix string) {
		c.Unreadable = append(c.Unreadable, Unreadable{Field: f, Line: line, Detail: fmt.Sprintf("%s%q %s", optName, o, why), Fix: fix})
	}
	for i, o := range opts {
		if i < len(lines) {
			line = lines[i]
		}
		key, val := o, ""
		sep := strings.IndexAny(o, "=:")
		if sep >= 0 {
			key, val = o[:sep], o[sep+1:]
		}
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		switch key {
		case "no-new-privileges":
			on := true
			if val != "" {
				b, err := strconv.ParseBool(val)
				if err != nil {
					bad(FieldNoNewPrivileges, o, "is not a boolean: dockerd refuses the container", "write no-new-privileges:true")
				}
				on = err == nil && b
			}
			c.NoNewPrivileges = on
		case "seccomp":
			switch {
			case strings.EqualFold(val, "unconfined"):
				c.Seccomp = "unconfined"
			case val == "":
				bad(FieldSeccomp, o, "names no profile", "give seccomp= a profile file, or remove the option so the default profile applies")
			case strings.HasPrefix(val, "{") && !json.Valid([]byte(val)):
				// docker inspect shows the profile's JSON in place of its path.
				bad(FieldSeccomp, o, "holds a profile that is not valid JSON", "pass a valid seccomp profile with seccomp=PROFILE.json")
			default:
				c.Seccomp = "custom"
			}
		case "apparmor":
			if val == "" {
				bad(FieldAppArmor, o, "names no profile", "name a loaded profile with apparmor=PROFILE, or remove the option so docker-default applies")
			}
			c.AppArmor = val
		case "label":
			applyLabel(c, o, val, bad)
		case "systempaths":
			if strings.EqualFold(val, "unconfined") {
				c.UnmaskedProc = "systempaths=unconfined leaves /proc and /sys unmasked"
			} else {
				bad(FieldProcMount, o, "is not systempaths=unconfined, the only value dockerd accepts", "remove the option")
			}
		case "unmask":
			// Podman's spelling: unmask=ALL (or /proc paths) undoes the masks.
			if val != "" {
				c.UnmaskedProc = "unmask=" + val + " leaves /proc and /sys paths unmasked"
			}
		case "mask", "proc-opts", "credentialspec":
			// Podman's extra masks and /proc mount options, Windows credential specs.
		default:
			bad(FieldSecurity, o, "is not a security option dockerd or podman knows (no-new-privileges, seccomp, apparmor, label, systempaths, mask, unmask, proc-opts)", "fix or remove the option")
		}
	}
}

// applyLabel reads one label= (SELinux) option.
func applyLabel(c *Container, o, val string, bad func(f Field, o, why, fix string)) {
	if strings.EqualFold(val, "disable") {
		c.SELinuxDisabled = "SELinux labeling disabled (label=disable)"
		return
	}
	if val == "nested" {
		return
	}
	k, v, ok := strings.Cut(val, ":")
	switch {
	case !ok || v == "":
		bad(FieldSELinux, o, "is not label=disable, label=nested or label=KEY:VALUE with a value", "write label=type:TYPE (or user:, role:, level:), or remove the option")
	case k == "type":
		if why := selinux.HostDomain(v); why != "" {
			c.SELinuxDisabled = "SELinux type " + v + ": " + why
		} else if !selinux.IsContainerType(v) {
			c.SELinuxCustom = append(c.SELinuxCustom, fmt.Sprintf("SELinux type %s is not a container type (%s)", v, strings.Join(selinux.ContainerTypes, ", ")))
		}
	case k == "user" || k == "role":
		c.SELinuxCustom = append(c.SELinuxCustom, fmt.Sprintf("sets the SELinux %s to %s", k, v))
	case k == "level" || k == "filetype":
	default:
		bad(FieldSELinux, o, "sets an SELinux label part dockerd does not know", "write label=user:, role:, type:, level: or filetype: followed by a value")
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
