package apparmor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Confinement is the AppArmor label of a process: a profile name and its
// mode ("enforce", "complain", ...), or "unconfined".
type Confinement struct {
	Profile string `json:"profile"`
	Mode    string `json:"mode,omitempty"`
}

// ParseLabel reads a label as /proc/PID/attr/current prints it:
// "unconfined" or "NAME (MODE)".
func ParseLabel(s string) (Confinement, error) {
	s = strings.TrimRight(s, "\x00\n")
	if s == "unconfined" {
		return Confinement{Profile: "unconfined"}, nil
	}
	if i := strings.LastIndex(s, " ("); i > 0 && strings.HasSuffix(s, ")") {
		return Confinement{Profile: s[:i], Mode: s[i+2 : len(s)-1]}, nil
	}
	if s == "" || strings.ContainsAny(s, "\n\x00") {
		return Confinement{}, fmt.Errorf("parse AppArmor label %q: want \"unconfined\" or \"NAME (MODE)\"", s)
	}
	return Confinement{Profile: s}, nil
}

// ReadConfinement reads the AppArmor label of process pid (0: this process)
// from /proc/PID/attr/apparmor/current, or /proc/PID/attr/current on kernels
// before 5.8. It returns ErrNotInKernel when the kernel has no AppArmor.
func ReadConfinement(pid int) (Confinement, error) { return readConfinement("/", pid) }

func readConfinement(root string, pid int) (Confinement, error) {
	if ok, _ := kernelStatus(root); !ok {
		return Confinement{}, ErrNotInKernel
	}
	proc := "self"
	if pid > 0 {
		proc = fmt.Sprint(pid)
	}
	b, err := os.ReadFile(filepath.Join(root, "proc", proc, "attr/apparmor/current"))
	if errors.Is(err, fs.ErrNotExist) {
		b, err = os.ReadFile(filepath.Join(root, "proc", proc, "attr/current"))
	}
	if err != nil {
		return Confinement{}, fmt.Errorf("read AppArmor label: %w", err)
	}
	return ParseLabel(string(b))
}
