package selinux

import (
	"fmt"
	"strings"
)

// LabelConfig is what Docker's label security options ask for.
type LabelConfig struct {
	Disabled bool   `json:"disabled,omitempty"`
	User     string `json:"user,omitempty"`
	Role     string `json:"role,omitempty"`
	Type     string `json:"type,omitempty"`
	Level    string `json:"level,omitempty"`
	FileType string `json:"filetype,omitempty"`
	Nested   bool   `json:"nested,omitempty"`
}

// OptionError is a label option Docker would refuse (or that makes no sense).
type OptionError struct {
	Index  int    // position in the option list
	Option string // the option as given
	Msg    string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("security option %d (%q): %s", e.Index+1, e.Option, e.Msg)
}

// ParseLabelOptions reads the label options among Docker security options
// (HostConfig.SecurityOpt, --security-opt). Other options (seccomp=,
// apparmor=, no-new-privileges) are ignored. Both "label=..." and Docker's
// old "label:..." spelling are accepted.
func ParseLabelOptions(opts []string) (LabelConfig, error) {
	var c LabelConfig
	for i, opt := range opts {
		var v string
		switch {
		case strings.HasPrefix(opt, "label="):
			v = opt[len("label="):]
		case strings.HasPrefix(opt, "label:"):
			v = opt[len("label:"):]
		default:
			continue
		}
		bad := func(format string, args ...any) error {
			return &OptionError{Index: i, Option: opt, Msg: fmt.Sprintf(format, args...)}
		}
		switch v {
		case "disable":
			c.Disabled = true
			continue
		case "nested":
			c.Nested = true
			continue
		}
		key, val, ok := strings.Cut(v, ":")
		if !ok || val == "" {
			return LabelConfig{}, bad("want label=disable, label=nested or label=KEY:VALUE with KEY user, role, type, level or filetype")
		}
		switch key {
		case "user", "role", "type", "filetype":
			if !isIdent(val) {
				return LabelConfig{}, bad("%q is not an SELinux identifier", val)
			}
		case "level":
			if !isLevel(val) {
				return LabelConfig{}, bad("%q is not an MLS/MCS level (e.g. s0:c100,c200)", val)
			}
		default:
			return LabelConfig{}, bad("unknown label key %q (want user, role, type, level or filetype)", key)
		}
		switch key {
		case "user":
			c.User = val
		case "role":
			c.Role = val
		case "type":
			c.Type = val
		case "level":
			c.Level = val
		case "filetype":
			c.FileType = val
		}
	}
	if c.Disabled && (c.User != "" || c.Role != "" || c.Type != "" || c.Level != "" || c.FileType != "") {
		return LabelConfig{}, &OptionError{Index: -1, Option: "label=disable", Msg: "label=disable cannot be combined with user, role, type, level or filetype"}
	}
	return c, nil
}

// Default types of container-selinux, the policy Docker and Podman use.
const (
	ContainerType     = "container_t"      // a confined container process
	ContainerFileType = "container_file_t" // files a container may write
	SuperPrivileged   = "spc_t"            // unconfined container
)

// Effect is what a LabelConfig means on a host where SELinux is enforcing.
type Effect struct {
	Confined    bool     `json:"confined"`
	ProcessType string   `json:"process_type"`
	FileType    string   `json:"file_type"`
	Level       string   `json:"level"`
	Notes       []string `json:"notes"`
}

// Explain says what the options do for a container: which type its processes
// and files get and whether SELinux still separates it. privileged is
// docker run --privileged, which turns labeling off like label=disable.
func (c LabelConfig) Explain(privileged bool) Effect {
	e := Effect{Confined: true, ProcessType: ContainerType, FileType: ContainerFileType, Level: "a random MCS level (s0:cX,cY) per container"}
	switch {
	case c.Disabled || privileged:
		why := "label=disable"
		if privileged && !c.Disabled {
			why = "--privileged"
		}
		e.Confined = false
		e.ProcessType = SuperPrivileged
		e.FileType = "(not relabeled)"
		e.Level = "(none)"
		e.Notes = append(e.Notes, why+": SELinux separation is off; under container-selinux the container runs as spc_t, which SELinux does not confine")
		return e
	case HostDomain(c.Type) != "":
		e.Confined = false
		e.ProcessType = c.Type
		e.Notes = append(e.Notes, fmt.Sprintf("type %s: %s; SELinux does not confine the container", c.Type, HostDomain(c.Type)))
	case c.Type != "":
		e.ProcessType = c.Type
		e.Notes = append(e.Notes, fmt.Sprintf("custom process type %s instead of %s (it must exist in the loaded policy)", c.Type, ContainerType))
	}
	if c.FileType != "" {
		e.FileType = c.FileType
		e.Notes = append(e.Notes, fmt.Sprintf("custom file type %s instead of %s", c.FileType, ContainerFileType))
	}
	if c.Level != "" {
		e.Level = c.Level
		e.Notes = append(e.Notes, fmt.Sprintf("fixed level %s: containers given the same level are not separated from each other", c.Level))
	}
	if c.User != "" {
		e.Notes = append(e.Notes, "SELinux user "+c.User)
	}
	if c.Role != "" {
		e.Notes = append(e.Notes, "SELinux role "+c.Role)
	}
	if c.Nested {
		e.Notes = append(e.Notes, "nested (a Podman option): the container may run containers itself")
	}
	return e
}
