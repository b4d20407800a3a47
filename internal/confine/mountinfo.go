package confine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/srcpos"
)

// Mount is one line of /proc/PID/mountinfo (see proc(5)).
type Mount struct {
	ID, Parent int
	// Device is major:minor; major 0 is an anonymous (pseudo) filesystem.
	Device string
	// Root is the path inside the mounted filesystem that appears at
	// MountPoint: "/" for a whole filesystem, the bound directory for a bind.
	Root       string
	MountPoint string
	Options    []string // per-mount options (ro, nosuid, ...)
	FSType     string
	Source     string
	ReadOnly   bool
}

// ParseMountinfo reads the text of a mountinfo file. name is used in errors.
//
//	line = id SP parent SP major:minor SP root SP mountpoint SP options
//	       *(SP optional-field) SP "-" SP fstype SP source SP super-options
func ParseMountinfo(name, text string) ([]Mount, error) {
	var out []Mount
	for i, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountLine(line)
		if err != nil {
			return nil, srcpos.Wrap(srcpos.Position{File: name, Line: i + 1}, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func parseMountLine(line string) (Mount, error) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 7 || sep < 0 || len(f) < sep+3 {
		return Mount{}, fmt.Errorf("want at least 6 fields, \"-\", fstype and source; got %d fields", len(f))
	}
	var m Mount
	var err error
	if m.ID, err = strconv.Atoi(f[0]); err != nil {
		return Mount{}, fmt.Errorf("mount id %q is not a number", f[0])
	}
	if m.Parent, err = strconv.Atoi(f[1]); err != nil {
		return Mount{}, fmt.Errorf("parent id %q is not a number", f[1])
	}
	if !strings.Contains(f[2], ":") {
		return Mount{}, fmt.Errorf("device %q is not major:minor", f[2])
	}
	m.Device = f[2]
	m.Root = unescapeMountPath(f[3])
	m.MountPoint = unescapeMountPath(f[4])
	m.Options = strings.Split(f[5], ",")
	for _, o := range m.Options {
		if o == "ro" {
			m.ReadOnly = true
		}
	}
	m.FSType = f[sep+1]
	m.Source = unescapeMountPath(f[sep+2])
	return m, nil
}

// unescapeMountPath undoes the kernel's octal escapes (\040 for a space,
// \011, \012, \134) in mountinfo paths.
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Anonymous reports whether the mount's filesystem has no backing device.
func (m Mount) Anonymous() bool { return strings.HasPrefix(m.Device, "0:") }
