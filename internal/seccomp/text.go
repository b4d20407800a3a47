package seccomp

import (
	"fmt"
	"io"
	"strings"
)

// WriteLintText writes lint findings one a line, "location: severity: id
// [arches]: message", or that there are none; source names the profile.
func WriteLintText(w io.Writer, source string, findings []Finding) error {
	if len(findings) == 0 {
		_, err := fmt.Fprintf(w, "%s: no findings\n", source)
		return err
	}
	for _, f := range findings {
		loc := f.Location
		if loc == "" {
			loc = source
		}
		arches := ""
		if len(f.Arches) > 0 {
			arches = " [" + strings.Join(f.Arches, ",") + "]"
		}
		if _, err := fmt.Fprintf(w, "%s: %s: %s%s: %s\n", loc, f.Severity, f.ID, arches, f.Message); err != nil {
			return err
		}
	}
	return nil
}

// WriteText writes the difference one syscall a line: + added, - removed,
// ~ changed, each with its arches and both decisions.
func (d DiffResult) WriteText(w io.Writer) error {
	if d.Empty() {
		_, err := fmt.Fprintln(w, "profiles decide every syscall the same way")
		return err
	}
	if d.DefaultA != d.DefaultB {
		fmt.Fprintf(w, "default: %s -> %s\n", d.DefaultA, d.DefaultB)
	}
	for _, sec := range []struct {
		sign string
		l    []DiffEntry
	}{{"+", d.Added}, {"-", d.Removed}, {"~", d.Changed}} {
		for _, e := range sec.l {
			if _, err := fmt.Fprintf(w, "%s %s [%s]: %s -> %s\n", sec.sign, e.Syscall, strings.Join(e.Arches, ","), e.A, e.B); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteText writes the decision, why, and every entry naming the syscall.
func (ex *Explanation) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s on %s (nr %#x), args %#x\n", ex.Syscall, ex.Arch, ex.Nr, ex.Args)
	fmt.Fprintf(w, "action: %s\n", ex.Action)
	if ex.Location != "" {
		fmt.Fprintf(w, "why:    %s (%s)\n", ex.Reason, ex.Location)
	} else {
		fmt.Fprintf(w, "why:    %s\n", ex.Reason)
	}
	for _, r := range ex.Rules {
		conds := ""
		if r.Conds != "" {
			conds = " if " + r.Conds
		}
		if _, err := fmt.Fprintf(w, "  %s: %s%s: %s\n", r.Location, r.Action, conds, r.Status); err != nil {
			return err
		}
	}
	return nil
}
