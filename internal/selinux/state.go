package selinux

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// State is the kernel's SELinux state as seen from a process.
type State struct {
	// Mode is "enforcing", "permissive" or "disabled" (selinuxfs absent).
	Mode string `json:"mode"`
	// Label is the process's context; empty when SELinux is not enabled.
	Label string `json:"label,omitempty"`
	// Context is Label parsed (nil when there is no label or it does not parse).
	Context *Context `json:"context,omitempty"`
	// Source says which files the answer came from.
	Source string `json:"source"`
}

// Enabled reports whether SELinux is active (enforcing or permissive).
func (s State) Enabled() bool { return s.Mode == "enforcing" || s.Mode == "permissive" }

// ReadState reads SELinux state for process pid (0: this process).
func ReadState(pid int) (State, error) { return readState("/", pid) }

// readState reads under root so tests can use a fake /sys and /proc.
func readState(root string, pid int) (State, error) {
	enforce := filepath.Join(root, "sys/fs/selinux/enforce")
	b, err := os.ReadFile(enforce)
	if os.IsNotExist(err) {
		return State{Mode: "disabled", Source: "/sys/fs/selinux/enforce is absent"}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("read SELinux state: %w", err)
	}
	st := State{Source: "/sys/fs/selinux/enforce"}
	switch strings.TrimSpace(string(b)) {
	case "1":
		st.Mode = "enforcing"
	case "0":
		st.Mode = "permissive"
	default:
		return State{}, fmt.Errorf("read SELinux state: %s holds %q, want 0 or 1", enforce, b)
	}
	proc := "self"
	if pid > 0 {
		proc = fmt.Sprint(pid)
	}
	attr := filepath.Join(root, "proc", proc, "attr/current")
	label, err := os.ReadFile(attr)
	if err != nil {
		return st, fmt.Errorf("read SELinux label: %w", err)
	}
	st.Label = strings.TrimRight(string(label), "\x00\n")
	st.Source += ", /proc/" + proc + "/attr/current"
	if c, err := ParseContext(st.Label); err == nil {
		st.Context = &c
	}
	return st, nil
}
