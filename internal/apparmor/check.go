package apparmor

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moby/sys/capability"
)

// Each check returns the canonical value and "" or an error message.

var profileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func checkProfileName(s string) string {
	if !profileNameRE.MatchString(s) {
		return fmt.Sprintf("%q is not a profile name (letters, digits, '.', '_', '-'; at most 64; starts with a letter or digit)", s)
	}
	return ""
}

func checkPeer(s string) string {
	if s == "unconfined" {
		return ""
	}
	return checkProfileName(s)
}

var abstractionRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

func checkAbstraction(s string) (string, string) {
	s = strings.TrimPrefix(s, "abstractions/")
	if !abstractionRE.MatchString(s) || strings.Contains(s, "..") {
		return "", fmt.Sprintf("%q is not an abstraction name (e.g. nameservice, ssl_certs)", s)
	}
	if s == "base" {
		return "", "base is always included; leave it out"
	}
	return s, ""
}

// networkRules maps the spec's socket kinds to the rules they grant.
var networkRules = map[string][]string{
	"tcp":     {"network inet stream,", "network inet6 stream,"},
	"udp":     {"network inet dgram,", "network inet6 dgram,"},
	"icmp":    {"network inet icmp,"},
	"raw":     {"network inet raw,", "network inet6 raw,"},
	"packet":  {"network packet dgram,", "network packet raw,"},
	"unix":    {"network unix dgram,", "network unix seqpacket,", "network unix stream,"},
	"netlink": {"network netlink dgram,", "network netlink raw,"},
}

// NetworkKinds lists the values the spec's network: accepts.
func NetworkKinds() []string {
	out := make([]string, 0, len(networkRules))
	for k := range networkRules {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func checkNetwork(s string) (string, string) {
	k := strings.ToLower(s)
	if _, ok := networkRules[k]; !ok {
		kinds := NetworkKinds()
		return "", fmt.Sprintf("unknown network kind %q%s (want one of %s)", s, suggest(k, kinds), strings.Join(kinds, ", "))
	}
	return k, ""
}

// capabilityNames maps capability numbers to their lower-case names.
var capabilityNames = func() map[capability.Cap]string {
	m := map[capability.Cap]string{}
	for _, c := range capability.ListKnown() {
		m[c] = c.String()
	}
	return m
}()

// CapabilityName returns the name of capability number n ("net_bind_service"
// for 10), or "" when n is unknown.
func CapabilityName(n int) string { return capabilityNames[capability.Cap(n)] }

func checkCapability(s string) (string, string) {
	k := strings.TrimPrefix(strings.ToLower(s), "cap_")
	for _, name := range capabilityNames {
		if name == k {
			return k, ""
		}
	}
	names := make([]string, 0, len(capabilityNames))
	for _, n := range capabilityNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return "", fmt.Sprintf("unknown capability %q%s", s, suggest(k, names))
}

var (
	signalAccess = []string{"receive", "send"}
	ptraceAccess = []string{"read", "readby", "trace", "tracedby"}
	signalNames  = []string{"abrt", "alrm", "bus", "chld", "cont", "emt", "exists", "fpe", "hup", "ill", "int", "io", "kill", "pipe", "prof", "pwr", "quit", "segv", "stkflt", "stop", "sys", "term", "trap", "ttin", "ttou", "urg", "usr1", "usr2", "vtalrm", "winch", "xcpu", "xfsz"}
	mountOptions = []string{"acl", "async", "atime", "bind", "dev", "diratime", "dirsync", "exec", "iversion", "loud", "mand", "move", "noacl", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nomand", "norelatime", "nosuid", "nouser", "private", "rbind", "relatime", "remount", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid", "sync", "unbindable", "user", "verbose"}
)

func checkOneOf(allowed []string) func(string) (string, string) {
	return func(s string) (string, string) {
		k := strings.ToLower(s)
		for _, a := range allowed {
			if a == k {
				return k, ""
			}
		}
		return "", fmt.Sprintf("unknown value %q%s (want one of %s)", s, suggest(k, allowed), strings.Join(allowed, ", "))
	}
}

func checkSignal(s string) (string, string) {
	k := strings.TrimPrefix(strings.ToLower(s), "sig")
	if k == "" {
		k = strings.ToLower(s)
	}
	var n int
	if _, err := fmt.Sscanf(k, "rtmin+%d", &n); err == nil && n >= 0 && n <= 32 && k == fmt.Sprintf("rtmin+%d", n) {
		return k, ""
	}
	return checkOneOf(signalNames)(k)
}

var fsTypeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

func checkFSType(s string) string {
	if !fsTypeRE.MatchString(s) {
		return fmt.Sprintf("%q is not a filesystem type (e.g. tmpfs, proc)", s)
	}
	return ""
}

var deviceWordRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func checkMountSource(s string) string {
	if deviceWordRE.MatchString(s) {
		return ""
	}
	_, msg := checkPathSyntax(s)
	return msg
}

// pathVariables are the tunables a spec path may use.
var pathVariables = map[string]bool{
	"PROC": true, "sys": true, "run": true, "pid": true, "pids": true, "tid": true,
	"uid": true, "HOME": true, "HOMEDIRS": true, "multiarch": true, "etc_ro": true, "etc_rw": true,
}

// rootVariables stand for one fixed top-level directory.
var rootVariables = map[string]bool{"PROC": true, "sys": true, "run": true, "etc_ro": true, "etc_rw": true, "HOME": true, "HOMEDIRS": true}

const maxPathLen = 4096

// checkPathSyntax checks a path glob is one AppArmor reads the way the spec
// author means: absolute, no "." or ".." parts, balanced {} and [], known
// variables only, and no characters that would end or escape a rule.
func checkPathSyntax(s string) (string, string) {
	switch {
	case s == "":
		return "", "empty path"
	case len(s) > maxPathLen:
		return "", fmt.Sprintf("path longer than %d bytes", maxPathLen)
	case !utf8.ValidString(s):
		return "", "path is not valid UTF-8"
	case !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "@{"):
		return "", fmt.Sprintf("%q is not absolute (paths start with / or a variable such as @{PROC})", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r > 0x7f && !unicode.IsPrint(r)) {
			return "", fmt.Sprintf("%q contains a control character", s)
		}
		if r == '"' || r == '\\' {
			return "", fmt.Sprintf("%q contains %q, which a profile path cannot hold", s, r)
		}
	}
	if strings.Contains(s, "//") {
		return "", fmt.Sprintf("%q has an empty component (//)", s)
	}
	for _, part := range strings.Split(s, "/") {
		if part == "." || part == ".." {
			return "", fmt.Sprintf("%q has a %q component; AppArmor matches resolved paths, write the path without it", s, part)
		}
	}
	braces, brackets := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '@':
			if i+1 < len(s) && s[i+1] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return "", fmt.Sprintf("%q has an unclosed variable @{", s)
				}
				name := s[i+2 : i+end]
				if !pathVariables[name] {
					return "", fmt.Sprintf("%q uses unknown variable @{%s}", s, name)
				}
				i += end
			}
		case '{':
			if brackets {
				continue
			}
			braces++
			if braces > 4 {
				return "", fmt.Sprintf("%q nests {} more than 4 deep", s)
			}
		case '}':
			if brackets {
				continue
			}
			braces--
			if braces < 0 {
				return "", fmt.Sprintf("%q has an unmatched }", s)
			}
		case '[':
			if brackets {
				return "", fmt.Sprintf("%q has [ inside []", s)
			}
			brackets = true
		case ']':
			if !brackets {
				return "", fmt.Sprintf("%q has an unmatched ]", s)
			}
			brackets = false
		case '/':
			if brackets {
				return "", fmt.Sprintf("%q has / inside []", s)
			}
		}
	}
	if braces != 0 {
		return "", fmt.Sprintf("%q has an unclosed {", s)
	}
	if brackets {
		return "", fmt.Sprintf("%q has an unclosed [", s)
	}
	return s, ""
}

func checkDenyPath(s string) (string, string) { return checkPathSyntax(s) }

// checkGrantPath also refuses grants whose first component is a glob, such
// as "/**" or "/{etc,var}/x": a grant must name a top-level directory.
func checkGrantPath(s string) (string, string) {
	c, msg := checkPathSyntax(s)
	if msg != "" {
		return "", msg
	}
	if tooBroad(c) {
		return "", fmt.Sprintf("%q is too broad: name a top-level directory (e.g. /srv/app/**), not a glob over /", s)
	}
	return c, ""
}

// tooBroad reports whether the first path component is not a fixed name.
func tooBroad(p string) bool {
	if p == "/" {
		return false // the root directory itself, not what is under it
	}
	if strings.HasPrefix(p, "@{") {
		end := strings.IndexByte(p, '}')
		return !rootVariables[p[2:end]]
	}
	first := strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(first, '/'); i >= 0 {
		first = first[:i]
	}
	return first == "" || strings.ContainsAny(first, "*?[]{}@^")
}
