package apparmor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// ErrParserMissing means apparmor_parser is not on PATH.
var ErrParserMissing = errors.New("apparmor_parser not found on PATH (Debian/Ubuntu: apt-get install apparmor)")

// ErrNotInKernel means the running kernel has no AppArmor, so nothing can be
// loaded; profiles can still be generated and checked.
var ErrNotInKernel = errors.New("AppArmor is not enabled in the running kernel")

// ParserError is apparmor_parser refusing a profile.
type ParserError struct {
	File   string // the profile as the user named it
	Output string // what the parser printed, trimmed to its error lines
}

func (e *ParserError) Error() string {
	return fmt.Sprintf("%s: apparmor_parser rejected the profile: %s", e.File, e.Output)
}

// parserPath finds apparmor_parser; Debian installs it in /usr/sbin, which a
// non-root PATH often lacks.
func parserPath() (string, error) {
	if p, err := exec.LookPath("apparmor_parser"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", ErrParserMissing
}

// Check runs "apparmor_parser -Q -K" on a profile: the real parser reads and
// compiles it, resolving includes from /etc/apparmor.d, and loads nothing.
// name labels the profile in errors.
func Check(ctx context.Context, name string, profile []byte) error {
	bin, err := parserPath()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "palisade-apparmor-*.profile")
	if err != nil {
		return fmt.Errorf("check %s: %w", name, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(profile); err != nil {
		f.Close()
		return fmt.Errorf("check %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("check %s: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, bin, "-Q", "-K", "--quiet", f.Name())
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("check %s: run apparmor_parser: %w", name, err)
	}
	return &ParserError{File: name, Output: parserMessage(out, f.Name(), name)}
}

// parserMessage keeps the parser's error lines, drops its note about the
// missing cache interface, and names the user's file instead of the temp one.
func parserMessage(out []byte, tmp, name string) string {
	var keep []string
	for _, line := range strings.Split(string(bytes.TrimSpace(out)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "Cache read/write disabled") {
			continue
		}
		keep = append(keep, strings.ReplaceAll(line, tmp, name))
	}
	if len(keep) == 0 {
		return "no message"
	}
	return strings.Join(keep, "; ")
}

// KernelStatus reports whether the running kernel has AppArmor enabled,
// from /sys/module/apparmor/parameters/enabled or, failing that, the
// presence of /sys/kernel/security/apparmor. The returned string says where
// the answer came from.
func KernelStatus() (bool, string) { return kernelStatus("/") }

func kernelStatus(root string) (bool, string) {
	enabled := root + "sys/module/apparmor/parameters/enabled"
	if b, err := os.ReadFile(enabled); err == nil {
		v := strings.TrimSpace(string(b))
		return v == "Y", "/sys/module/apparmor/parameters/enabled is " + v
	}
	if st, err := os.Stat(root + "sys/kernel/security/apparmor"); err == nil && st.IsDir() {
		return true, "/sys/kernel/security/apparmor exists"
	}
	return false, "no /sys/module/apparmor and no /sys/kernel/security/apparmor"
}

// Load replaces (or adds) the profile in the kernel with "apparmor_parser -r".
func Load(ctx context.Context, path string) error {
	if ok, why := KernelStatus(); !ok {
		return fmt.Errorf("%w (%s); the profile can be checked with `palisade apparmor validate` but not loaded here", ErrNotInKernel, why)
	}
	bin, err := parserPath()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, bin, "-r", "--", path).CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &ParserError{File: path, Output: parserMessage(out, path, path)}
		}
		return fmt.Errorf("load %s: run apparmor_parser: %w", path, err)
	}
	return nil
}

var profileLineRE = regexp.MustCompile(`(?m)^\s*profile\s+([^\s{]+)`)

// ProfileNames lists the names declared with "profile NAME" in a profile file.
func ProfileNames(profile []byte) []string {
	var out []string
	for _, m := range profileLineRE.FindAllSubmatch(profile, -1) {
		out = append(out, string(m[1]))
	}
	return out
}
