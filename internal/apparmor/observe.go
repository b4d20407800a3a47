package apparmor

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"unicode/utf8"
)

// Observed is what a workload was seen to do, as the recorder reports it.
// Paths are absolute; a path ending in "/" is a directory that was listed.
type Observed struct {
	Read   []string
	Write  []string // opened for writing
	Create []string // created (granted like Write)
	Exec   []string
	// Sockets are the socket(2) calls seen, as raw numbers.
	Sockets []Socket
	// Capabilities are names ("net_bind_service", "CAP_CHOWN") the workload used.
	Capabilities []string
}

// Socket is one socket(2) call: domain (AF_*), type (SOCK_*, flags allowed)
// and protocol, as the kernel saw them.
type Socket struct {
	Domain, Type, Protocol int
}

// Collapse is one glob that replaced several observed paths.
type Collapse struct {
	Access string   `json:"access"` // read, write
	Glob   string   `json:"glob"`
	Paths  []string `json:"paths"`
}

// Derivation explains how FromObserved got from observations to a Spec.
type Derivation struct {
	Collapses []Collapse `json:"collapses,omitempty"`
	// Covered are paths abstractions/base already grants, left out of the spec.
	Covered []string `json:"covered,omitempty"`
	// Skipped are observations the spec cannot express, with the reason.
	Skipped []string `json:"skipped,omitempty"`
}

// Collapse thresholds: this many distinct files in one directory become
// dir/*, and this many collapsed subdirectories of one directory become
// dir/**. Directories less than minCollapseDepth deep are never globbed
// (no /etc/*), except the scratch directories, where file names are random.
const (
	filesPerGlob     = 3
	dirsPerRecursive = 2
	minCollapseDepth = 2
)

var scratchDirs = map[string]bool{"/tmp": true, "/var/tmp": true, "/dev/shm": true}

// FromObserved turns observed accesses into a Spec named name: /proc/<pid>
// becomes @{PROC}/@{pid}, paths abstractions/base covers are left out,
// reads of written paths are folded into the write, and paths are collapsed
// to globs (each collapse is listed in the Derivation so the user sees it).
// The Spec always passes Validate.
func FromObserved(name string, obs Observed) (*Spec, *Derivation, error) {
	if msg := checkProfileName(name); msg != "" {
		return nil, nil, fmt.Errorf("profile from observations: name: %s", msg)
	}
	d := &Derivation{}
	spec := &Spec{Name: name}

	norm := func(list []string, write bool) map[string]bool {
		out := map[string]bool{}
		for _, raw := range list {
			p, why := observedPath(raw)
			if why != "" {
				d.Skipped = append(d.Skipped, why)
				continue
			}
			if coveredByBase(p, write) {
				d.Covered = append(d.Covered, p)
				continue
			}
			out[p] = true
		}
		return out
	}
	writes := norm(append(append([]string(nil), obs.Write...), obs.Create...), true)
	reads := norm(obs.Read, false)
	execs := map[string]bool{}
	for _, raw := range obs.Exec {
		p, why := observedPath(raw)
		if why != "" {
			d.Skipped = append(d.Skipped, why)
			continue
		}
		execs[p] = true
	}
	for p := range writes {
		delete(reads, p)
	}
	for p := range execs {
		delete(reads, p)
	}

	spec.Files.Write = collapsePaths("write", writes, d)
	spec.Files.Read = collapsePaths("read", reads, d)
	// A read glob wholly inside a write glob adds nothing.
	spec.Files.Read = dropCovered(spec.Files.Read, spec.Files.Write)
	spec.Files.Exec = sortedKeys(execs)

	kinds := map[string]bool{}
	for _, s := range obs.Sockets {
		k, ok := SocketKind(s.Domain, s.Type, s.Protocol)
		if !ok {
			d.Skipped = append(d.Skipped, fmt.Sprintf("socket(domain %d, type %d, protocol %d): no spec network kind for it", s.Domain, s.Type, s.Protocol))
			continue
		}
		kinds[k] = true
	}
	spec.Network = sortedKeys(kinds)

	caps := map[string]bool{}
	for _, c := range obs.Capabilities {
		name, msg := checkCapability(c)
		if msg != "" {
			d.Skipped = append(d.Skipped, "capability "+fmt.Sprintf("%q", c)+": unknown")
			continue
		}
		caps[name] = true
	}
	spec.Capabilities = sortedKeys(caps)

	d.Covered = uniq(d.Covered)
	d.Skipped = uniq(d.Skipped)
	if err := spec.Validate(); err != nil {
		// observedPath and collapsePaths only produce valid paths; this is a bug.
		return nil, nil, fmt.Errorf("profile from observations: %w", err)
	}
	return spec, d, nil
}

// SocketKind maps a socket(2) call to the spec's network kind.
func SocketKind(domain, typ, proto int) (string, bool) {
	const (
		afUnix, afInet, afInet6, afNetlink, afPacket  = 1, 2, 10, 16, 17
		sockStream, sockDgram, sockRaw, sockSeqpacket = 1, 2, 3, 5
		ipprotoICMP                                   = 1
	)
	t := typ & 0xf // drop SOCK_NONBLOCK and SOCK_CLOEXEC
	switch domain {
	case afUnix:
		return "unix", t == sockStream || t == sockDgram || t == sockSeqpacket
	case afNetlink:
		return "netlink", t == sockDgram || t == sockRaw
	case afPacket:
		return "packet", t == sockDgram || t == sockRaw
	case afInet, afInet6:
		switch t {
		case sockStream:
			return "tcp", true
		case sockDgram:
			if domain == afInet && proto == ipprotoICMP {
				return "icmp", true // unprivileged ping socket
			}
			return "udp", true
		case sockRaw:
			return "raw", true
		}
	}
	return "", false
}

// observedPath makes a recorded path safe to use as a profile path: cleaned,
// /proc/<pid> turned into @{PROC}/@{pid}, and every byte AppArmor would read
// as a glob, quote or escape (or that is not printable UTF-8) replaced by
// "?", which matches exactly one character.
func observedPath(raw string) (string, string) {
	if !strings.HasPrefix(raw, "/") {
		return "", fmt.Sprintf("path %q: not absolute", raw)
	}
	dir := strings.HasSuffix(raw, "/") && raw != "/"
	p := path.Clean(raw)
	var b strings.Builder
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		switch {
		case r == utf8.RuneError && size <= 1, r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			b.WriteByte('?')
		case strings.ContainsRune(`*?[]{}^@"\`, r):
			b.WriteByte('?')
		default:
			b.WriteString(p[i : i+size])
		}
		i += size
	}
	p = procPID(b.String())
	if dir {
		p += "/"
	}
	if len(p) > maxPathLen {
		return "", fmt.Sprintf("path %q...: longer than %d bytes", p[:64], maxPathLen)
	}
	if c, msg := checkGrantPath(p); msg != "" {
		return "", fmt.Sprintf("path %q: %s", p, msg)
	} else {
		p = c
	}
	return p, ""
}

// procPID rewrites /proc/<digits>, /proc/self and /proc/thread-self, and the
// task/<tid> under them, to the tunables AppArmor profiles use.
func procPID(p string) string {
	if p != "/proc" && !strings.HasPrefix(p, "/proc/") {
		return p
	}
	parts := strings.Split(p, "/")
	if len(parts) < 3 {
		return p
	}
	if isDigits(parts[2]) || parts[2] == "self" || parts[2] == "thread-self" {
		parts[2] = "@{pid}"
		if len(parts) > 4 && parts[3] == "task" && isDigits(parts[4]) {
			parts[4] = "@{tid}"
		}
	}
	return "@{PROC}/" + strings.Join(parts[2:], "/")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// baseReadPrefixes and baseReadFiles are what abstractions/base grants for
// reading (a subset, kept exact so nothing is dropped that base does not
// cover); baseWriteFiles are the devices it grants for writing.
var (
	baseReadPrefixes = []string{"/lib/", "/lib32/", "/lib64/", "/usr/lib/", "/usr/lib32/", "/usr/lib64/", "/usr/share/locale/", "/usr/share/zoneinfo/", "/etc/ld.so.conf.d/"}
	baseReadFiles    = map[string]bool{
		"/etc/ld.so.cache": true, "/etc/ld.so.conf": true, "/etc/ld.so.preload": true,
		"/etc/localtime": true, "/etc/locale.alias": true,
		"/dev/null": true, "/dev/zero": true, "/dev/full": true, "/dev/random": true, "/dev/urandom": true,
		"@{PROC}/meminfo": true, "@{PROC}/stat": true, "@{PROC}/cpuinfo": true, "@{PROC}/filesystems": true,
		"@{PROC}/sys/kernel/version": true, "@{PROC}/sys/kernel/ngroups_max": true,
		"@{PROC}/sys/kernel/cap_last_cap": true, "@{PROC}/sys/vm/overcommit_memory": true,
		"@{PROC}/@{pid}/maps": true, "@{PROC}/@{pid}/auxv": true, "@{PROC}/@{pid}/status": true,
		"/sys/devices/system/cpu/": true, "/sys/devices/system/cpu/online": true, "/sys/devices/system/cpu/possible": true,
		"/usr/share/zoneinfo/": true,
	}
	baseWriteFiles = map[string]bool{"/dev/null": true, "/dev/zero": true, "/dev/full": true, "/dev/log": true}
)

func coveredByBase(p string, write bool) bool {
	if write {
		return baseWriteFiles[p]
	}
	if baseReadFiles[p] {
		return true
	}
	for _, pre := range baseReadPrefixes {
		// Only files: base grants /usr/lib/** r, which does not include
		// the directory /usr/lib/ itself, and nothing with a glob.
		if strings.HasPrefix(p, pre) && !strings.HasSuffix(p, "/") {
			return true
		}
	}
	return false
}

// depth counts path components: /var/www is 2, @{PROC}/x is 2.
func depth(dir string) int {
	return len(strings.Split(strings.Trim(dir, "/"), "/"))
}

// collapsePaths globs paths: files sharing a directory become dir/*, then
// directories with several globbed subdirectories become dir/** (for
// writes only from three components deep).
func collapsePaths(access string, set map[string]bool, d *Derivation) []string {
	byDir := map[string][]string{}
	for p := range set {
		if strings.HasSuffix(p, "/") {
			continue // directory listings stay as they are
		}
		dir := path.Dir(p)
		byDir[dir] = append(byDir[dir], p)
	}
	result := map[string]bool{}
	for p := range set {
		result[p] = true
	}
	globbed := map[string][]string{} // dir -> files the dir/* glob replaced
	for _, dir := range sortedKeys(boolKeys(byDir)) {
		files := byDir[dir]
		min := filesPerGlob
		if scratchDirs[dir] && access == "write" {
			min = 1
		} else if depth(dir) < minCollapseDepth {
			continue
		}
		if len(files) < min {
			continue
		}
		sort.Strings(files)
		for _, f := range files {
			delete(result, f)
		}
		result[dir+"/*"] = true
		globbed[dir] = files
	}
	// Second level: a directory (deep enough, not a scratch dir) whose
	// globbed subdirectories number dirsPerRecursive or more becomes dir/**.
	byParent := map[string][]string{}
	for dir := range globbed {
		if scratchDirs[dir] {
			continue
		}
		parent := path.Dir(dir)
		need := minCollapseDepth
		if access == "write" {
			need++ // no /var/lib/** for writes: one level deeper
		}
		if depth(parent) >= need && !scratchDirs[parent] {
			byParent[parent] = append(byParent[parent], dir)
		}
	}
	recursive := map[string]bool{}
	for _, parent := range sortedKeys(boolKeys(byParent)) {
		if len(byParent[parent]) < dirsPerRecursive {
			continue
		}
		var replaced []string
		for p := range result {
			if strings.HasPrefix(p, parent+"/") {
				delete(result, p)
			}
		}
		for p := range set {
			if strings.HasPrefix(p, parent+"/") {
				replaced = append(replaced, p)
			}
		}
		for _, dir := range byParent[parent] {
			delete(globbed, dir)
		}
		sort.Strings(replaced)
		result[parent+"/**"] = true
		recursive[parent] = true
		d.Collapses = append(d.Collapses, Collapse{Access: access, Glob: parent + "/**", Paths: replaced})
	}
	for _, dir := range sortedKeys(boolKeys(globbed)) {
		if under(dir, recursive) {
			continue
		}
		d.Collapses = append(d.Collapses, Collapse{Access: access, Glob: dir + "/*", Paths: globbed[dir]})
	}
	sort.Slice(d.Collapses, func(i, j int) bool {
		a, b := d.Collapses[i], d.Collapses[j]
		if a.Access != b.Access {
			return a.Access < b.Access
		}
		return a.Glob < b.Glob
	})
	return sortedKeys(result)
}

func under(dir string, parents map[string]bool) bool {
	for p := range parents {
		if strings.HasPrefix(dir, p+"/") {
			return true
		}
	}
	return false
}

// dropCovered removes read paths that a write glob (dir/* or dir/**) or an
// identical write path already grants.
func dropCovered(reads, writes []string) []string {
	var out []string
	for _, r := range reads {
		covered := false
		for _, w := range writes {
			switch {
			case w == r:
				covered = true
			case strings.HasSuffix(w, "/**") && strings.HasPrefix(r, strings.TrimSuffix(w, "**")) && r != strings.TrimSuffix(w, "**"):
				covered = true
			case strings.HasSuffix(w, "/*") && !strings.HasSuffix(r, "/") && path.Dir(r) == strings.TrimSuffix(w, "/*") && !strings.ContainsAny(path.Base(r), "*?"):
				covered = true
			}
		}
		if !covered {
			out = append(out, r)
		}
	}
	return out
}

func boolKeys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// WriteDerivation prints how observations became the spec, for the user to
// review: each glob with the paths it replaced, the paths left to
// abstractions/base, and what could not be expressed. Paths come from the
// workload, so they are printed Go-quoted.
func WriteDerivation(w io.Writer, d *Derivation) error {
	var b strings.Builder
	for _, c := range d.Collapses {
		fmt.Fprintf(&b, "%s %q replaces %d observed paths:\n", c.Access, c.Glob, len(c.Paths))
		for _, p := range c.Paths {
			fmt.Fprintf(&b, "  %q\n", p)
		}
	}
	if len(d.Covered) > 0 {
		fmt.Fprintf(&b, "left to abstractions/base (%d paths):", len(d.Covered))
		for _, p := range d.Covered {
			fmt.Fprintf(&b, " %q", p)
		}
		b.WriteString("\n")
	}
	for _, s := range d.Skipped {
		fmt.Fprintf(&b, "not in the spec: %s\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
