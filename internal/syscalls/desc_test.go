package syscalls

import (
	"slices"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"
)

// The descriptor table is consistent: every name is a syscall of an
// ABI the capture reads, each once; argument positions are within the six
// a syscall has; paths, strings and fds do not overlap; what a descriptor
// says of the fd table is complete enough for the state to act on it.
func TestDescriptorsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Descriptors() {
		if seen[d.Name] {
			t.Errorf("%s: two descriptors", d.Name)
		}
		seen[d.Name] = true
		// The archs a descriptor claims are the capture's: native and compat.
		ca := CaptureArch()
		_, native := Number(ca.Name, d.Name)
		_, compat := Number(ca.Compat, BaseName(d.Name)+"32")
		if _, ok := Number(ca.Compat, d.Name); !native && !ok && !compat {
			t.Errorf("%s: a syscall of neither ABI the capture reads (%s, %s)", d.Name, ca.Name, ca.Compat)
		}
		if Describe(d.Name) == nil || Describe(d.Name).Name != d.Name {
			t.Errorf("%s: Describe does not find it", d.Name)
		}
		if len(d.Args) > 6 {
			t.Errorf("%s: %d argument names", d.Name, len(d.Args))
		}
		pos := func(what string, i int) {
			if i < 0 || i > 5 {
				t.Errorf("%s: %s argument %d", d.Name, what, i)
			}
		}
		used := map[int]string{}
		claim := func(what string, i int) {
			pos(what, i)
			if o, ok := used[i]; ok {
				t.Errorf("%s: argument %d is both %s and %s", d.Name, i, o, what)
			}
			used[i] = what
		}
		for p, dirfd := range d.Paths {
			claim("path", p)
			if dirfd != AtCwd {
				pos("dirfd", dirfd)
				if dirfd == p {
					t.Errorf("%s: path %d is its own dirfd", d.Name, p)
				}
			}
		}
		for _, i := range d.Strs {
			claim("string", i)
		}
		for _, i := range d.FDs {
			claim("fd", i)
		}
		if a := d.Addr; a != nil {
			claim("sockaddr", a.Arg)
			claim("sockaddr length", a.Len)
		}
		if st := d.Struct; st != nil {
			pos("struct", st.Arg)
			if st.Len <= 0 || st.Len > 255 {
				t.Errorf("%s: struct of %d bytes", d.Name, st.Len)
			}
		}
		// Creates and Writes name what the kernel resolved: paths or fds.
		for _, i := range append(slices.Clone(d.Creates), d.Writes...) {
			if w := used[i]; w != "path" && w != "fd" {
				t.Errorf("%s: argument %d created or written, but it is %q", d.Name, i, w)
			}
		}
		for i, a := range d.Args {
			if a.Kind == ArgPath && used[i] != "path" && used[i] != "string" {
				t.Errorf("%s: argument %s renders as a path the kernel does not read", d.Name, a.Name)
			}
			if a.Kind == ArgString && used[i] != "string" {
				t.Errorf("%s: argument %s renders a string the kernel does not read", d.Name, a.Name)
			}
			if a.Kind == ArgStructCloneFlags && (d.Struct == nil || d.Struct.Arg != i || d.Struct.Len < 8) {
				t.Errorf("%s: argument %s renders flags from a struct the kernel does not copy", d.Name, a.Name)
			}
			if a.Kind == ArgAddr && (d.Addr == nil || d.Addr.Arg != i) {
				t.Errorf("%s: argument %s renders a sockaddr the kernel does not read", d.Name, a.Name)
			}
		}
		if d.State && d.Effect == EffectNone {
			t.Errorf("%s: the state needs it but it has no effect on the tables", d.Name)
		}
		if d.Effect >= numEffects {
			t.Errorf("%s: effect %d out of range", d.Name, d.Effect)
		}
		if o := d.Open; o != nil {
			if o.Arg >= 0 {
				pos("open flags", o.Arg)
			} else if o.Arg == InStruct && d.Struct == nil {
				t.Errorf("%s: open flags in a struct the kernel does not copy", d.Name)
			} else if o.Arg == NoArg && o.Implied == 0 {
				t.Errorf("%s: open flags nowhere", d.Name)
			}
		}
		if c := d.Cloexec; c != nil && !c.Always {
			pos("close-on-exec flags", c.Arg)
		}
		if d.FDType != "" {
			if _, ok := event.ParseFDType(d.FDType); !ok {
				t.Errorf("%s: unknown fd type %q", d.Name, d.FDType)
			}
		}
		switch d.Effect {
		case EffectAnonFD, EffectSignalfd, EffectIOUring, EffectPipe:
			if d.Capture&(CaptureRetFD|CaptureFDPair) == 0 {
				t.Errorf("%s: makes a descriptor the kernel does not describe", d.Name)
			}
		}
	}
}

// A capture set is the rules' syscalls plus the state's, each once, in
// order, with the reason for each; all types means every decoded call.
func TestCaptureSet(t *testing.T) {
	set, other := CaptureSet("x86_64", []string{"ptrace", "openat", "procexit", "openat"}, false)
	if !slices.Equal(other, []string{"procexit"}) {
		t.Errorf("not syscalls: %v", other)
	}
	by := map[string]Captured{}
	for i, c := range set {
		if i > 0 && set[i-1].Nr >= c.Nr {
			t.Errorf("%s after %s: not in order, or twice", c.Name, set[i-1].Name)
		}
		by[c.Name] = c
	}
	for name, want := range map[string][2]bool{"ptrace": {true, false}, "openat": {true, true}, "close": {false, true}} {
		if c := by[name]; c.Rules != want[0] || c.State != want[1] {
			t.Errorf("%s: %+v, want rules %v state %v", name, c, want[0], want[1])
		}
	}
	if _, ok := by["mount"]; ok {
		t.Error("mount captured: neither rules nor state need it")
	}
	all, _ := CaptureSet("x86_64", nil, true)
	if got, want := Numbers(all), Decoded("x86_64"); !slices.Equal(got, want) {
		t.Errorf("all types: %v, want every decoded call %v", got, want)
	}
	for _, c := range all {
		if !c.Rules {
			t.Errorf("all types: %s not marked as the rules'", c.Name)
		}
		if c.Name == "exit_group" {
			t.Error("exit_group selected: it needs a sys_enter program")
		}
	}
}
