package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/spelling"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Profile is a parsed Docker seccomp profile plus where each part came from.
type Profile struct {
	// Source names the input in messages (a file name, or "builtin:docker-default").
	Source string
	Spec   mobyseccomp.Seccomp
	pos    positions
}

// Position is a place in a profile file.
type Position = srcpos.Position

// ErrorList is every problem found in a profile, sorted by position.
type ErrorList = srcpos.ErrorList

// positions maps a JSON path ("syscalls/3/args/0/op") to the offset of its value.
type positions struct {
	src  []byte
	offs map[string]int
}

// At returns the position of a JSON path, falling back to its nearest parent.
func (p *Profile) At(path string) Position {
	for {
		if off, ok := p.pos.offs[path]; ok {
			return srcpos.At(p.Source, p.pos.src, int64(off))
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			if off, ok := p.pos.offs[""]; ok {
				return srcpos.At(p.Source, p.pos.src, int64(off))
			}
			return Position{File: p.Source}
		}
		path = path[:i]
	}
}

// maxDepth bounds JSON nesting so hostile input cannot exhaust the stack.
const maxDepth = 64

// allowedKeys lists the fields Docker reads, per kind of object; anything
// else is almost always a typo that would silently drop a restriction.
var allowedKeys = map[string][]string{
	"profile": {"defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags", "listenerPath", "listenerMetadata"},
	"archMap": {"architecture", "subArchitectures"},
	"syscall": {"names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes"},
	"arg":     {"index", "value", "valueTwo", "op"},
	"filter":  {"caps", "arches", "minKernel"},
}

// kindOf names the object kind at a path of keys (numbers already replaced by "#").
func kindOf(generic string) string {
	switch generic {
	case "":
		return "profile"
	case "archMap/#":
		return "archMap"
	case "syscalls/#":
		return "syscall"
	case "syscalls/#/args/#":
		return "arg"
	case "syscalls/#/includes", "syscalls/#/excludes":
		return "filter"
	}
	return ""
}

type walker struct {
	dec  *json.Decoder
	src  []byte
	offs map[string]int
	errs ErrorList
	name string
}

func (w *walker) valueStart() int {
	off := int(w.dec.InputOffset())
	for off < len(w.src) {
		switch w.src[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
			continue
		}
		break
	}
	return off
}

func (w *walker) errorAt(off int, format string, args ...any) {
	w.errs.Addf(srcpos.At(w.name, w.src, int64(off)), format, args...)
}

// walk records the offset of every value and reports unknown keys.
func (w *walker) walk(path, generic string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d", maxDepth)
	}
	start := w.valueStart()
	w.offs[path] = start
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "/" + k
	}
	joinG := func(k string) string {
		if generic == "" {
			return k
		}
		return generic + "/" + k
	}
	switch d {
	case '{':
		kind := kindOf(generic)
		for w.dec.More() {
			keyOff := w.valueStart()
			kt, err := w.dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			if kind != "" && !contains(allowedKeys[kind], key) {
				w.errorAt(keyOff, "unknown field %q in %s%s", key, kind, suggest(key, allowedKeys[kind]))
			}
			if err := w.walk(join(key), joinG(key), depth+1); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; w.dec.More(); i++ {
			if err := w.walk(join(strconv.Itoa(i)), joinG("#"), depth+1); err != nil {
				return err
			}
		}
	}
	_, err = w.dec.Token() // closing delimiter
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns " (did you mean X?)" for a near miss.
func suggest(s string, choices []string) string {
	best, bestD := "", 3
	for _, c := range choices {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func editDistance(a, b string) int { return spelling.Distance(a, b) }

// Parse reads a Docker seccomp profile and validates it. name is used in
// error messages. Every problem found is returned as an ErrorList.
func Parse(name string, data []byte) (*Profile, error) {
	p := &Profile{Source: name, pos: positions{src: data, offs: map[string]int{}}}
	w := &walker{dec: json.NewDecoder(bytes.NewReader(data)), src: data, offs: p.pos.offs, name: name}
	w.dec.UseNumber()
	if err := w.walk("", "", 0); err != nil {
		return nil, syntaxError(name, data, w, err)
	}
	if _, err := w.dec.Token(); err != io.EOF {
		off := int(w.dec.InputOffset())
		return nil, &srcpos.Error{Pos: srcpos.At(name, data, int64(off)), Msg: "unexpected data after the profile"}
	}
	if err := json.Unmarshal(data, &p.Spec); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &srcpos.Error{Pos: srcpos.At(name, data, te.Offset), Msg: fmt.Sprintf("%s must be %s, not %s", fieldName(te.Field), te.Type, te.Value)}
		}
		pe := &srcpos.Error{Pos: Position{File: name, Line: 1, Col: 1}, Msg: cleanJSONErr(err)}
		// Field-level errors (bad kernel version) carry no offset; find the field.
		if strings.Contains(err.Error(), "kernel version") {
			for path, off := range p.pos.offs {
				if strings.HasSuffix(path, "minKernel") {
					if at := srcpos.At(name, data, int64(off)); pe.Pos.Line == 1 || at.Line < pe.Pos.Line {
						pe.Pos = at
					}
				}
			}
		}
		return nil, pe
	}
	errs := append(w.errs, p.validate()...)
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return p, nil
}

func fieldName(f string) string {
	if f == "" {
		return "the profile"
	}
	// Drop the embedded struct names encoding/json reports.
	f = strings.ReplaceAll(f, "LinuxSyscall.", "")
	f = strings.ReplaceAll(f, "LinuxSeccomp.", "")
	return strconv.Quote(f)
}

func cleanJSONErr(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

func syntaxError(name string, data []byte, w *walker, err error) error {
	var se *json.SyntaxError
	off := int(w.dec.InputOffset())
	if errors.As(err, &se) {
		off = int(se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		off = len(data)
		err = errors.New("unexpected end of input")
	}
	return &srcpos.Error{Pos: srcpos.At(name, data, int64(off)), Msg: "invalid JSON: " + cleanJSONErr(err)}
}

var knownFlags = []string{
	"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
}

var knownOps = []string{
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
}

// dockerArchNames are the spellings Docker's includes/excludes "arches" use
// (GOARCH-like names libseccomp reports).
var dockerArchNames = []string{"x86", "amd64", "x32", "arm", "arm64", "loongarch64", "mips64", "mips64n32", "mipsel64", "mips3l64n32", "mipsel", "mips", "ppc", "ppc64", "ppc64le", "riscv64", "s390", "s390x"}

func validArch(a specs.Arch) bool {
	switch a {
	case specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64, specs.ArchMIPS, specs.ArchMIPS64,
		specs.ArchMIPS64N32, specs.ArchMIPSEL, specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC, specs.ArchPPC64,
		specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X, specs.ArchPARISC, specs.ArchPARISC64, specs.ArchRISCV64,
		specs.ArchLOONGARCH64, specs.ArchM68K, specs.ArchSH, specs.ArchSHEB:
		return true
	}
	return false
}

// validate checks what Docker would reject plus what it would silently
// misread (unknown names, ops, indexes).
func (p *Profile) validate() ErrorList {
	var errs ErrorList
	bad := func(path, format string, args ...any) {
		errs.Addf(p.At(path), format, args...)
	}
	s := &p.Spec
	if s.DefaultAction == "" {
		bad("", "missing defaultAction")
	} else if _, err := ParseAction(string(s.DefaultAction), s.DefaultErrnoRet); err != nil {
		bad("defaultAction", "defaultAction: %v", err)
	}
	if len(s.Architectures) > 0 && len(s.ArchMap) > 0 {
		bad("archMap", "both architectures and archMap are set; use one")
	}
	for i, a := range s.Architectures {
		if !validArch(a) {
			bad(fmt.Sprintf("architectures/%d", i), "unknown architecture %q", a)
		}
	}
	for i, m := range s.ArchMap {
		if !validArch(m.Arch) {
			bad(fmt.Sprintf("archMap/%d/architecture", i), "unknown architecture %q", m.Arch)
		}
		for j, a := range m.SubArches {
			if !validArch(a) {
				bad(fmt.Sprintf("archMap/%d/subArchitectures/%d", i, j), "unknown architecture %q", a)
			}
		}
	}
	for i, f := range s.Flags {
		if !contains(knownFlags, string(f)) {
			bad(fmt.Sprintf("flags/%d", i), "unknown flag %q%s", f, suggest(string(f), knownFlags))
		}
	}
	for i, call := range s.Syscalls {
		base := fmt.Sprintf("syscalls/%d", i)
		if call == nil {
			bad(base, "syscall entry is null")
			continue
		}
		if call.Name != "" && len(call.Names) > 0 {
			bad(base, "both name and names are set; use names")
		}
		if call.Name == "" && len(call.Names) == 0 {
			bad(base, "syscall entry has no names")
		}
		checkName := func(path, n string) {
			if !syscalls.Known(n) && !syscalls.KnownElsewhere(n) {
				bad(path, "unknown syscall %q%s", n, suggestSyscall(n))
			}
		}
		if call.Name != "" {
			checkName(base+"/name", call.Name)
		}
		for j, n := range call.Names {
			checkName(fmt.Sprintf("%s/names/%d", base, j), n)
		}
		if _, err := ParseAction(string(call.Action), call.ErrnoRet); err != nil {
			bad(base+"/action", "%v", err)
		}
		if len(call.Args) > 6 {
			bad(base+"/args", "%d argument conditions; a syscall has at most 6 arguments", len(call.Args))
		}
		for j, a := range call.Args {
			ap := fmt.Sprintf("%s/args/%d", base, j)
			if a.Index > 5 {
				bad(ap+"/index", "argument index %d out of range 0-5", a.Index)
			}
			if !contains(knownOps, string(a.Op)) {
				bad(ap+"/op", "unknown operator %q%s", a.Op, suggest(string(a.Op), knownOps))
			} else if a.Op != specs.OpMaskedEqual && a.ValueTwo != 0 {
				bad(ap+"/valueTwo", "valueTwo is only used by SCMP_CMP_MASKED_EQ")
			}
		}
		for _, f := range []struct {
			name string
			f    *mobyseccomp.Filter
		}{{"includes", call.Includes}, {"excludes", call.Excludes}} {
			if f.f == nil {
				continue
			}
			for j, c := range f.f.Caps {
				if _, ok := caps.Number(c); !ok || !strings.HasPrefix(c, "CAP_") {
					bad(fmt.Sprintf("%s/%s/caps/%d", base, f.name, j), "unknown capability %q (Docker compares names like CAP_SYS_ADMIN)", c)
				}
			}
			for j, a := range f.f.Arches {
				if !contains(dockerArchNames, a) {
					bad(fmt.Sprintf("%s/%s/arches/%d", base, f.name, j), "unknown arch %q (Docker uses names like amd64, x86, arm64, arm)", a)
				}
			}
		}
	}
	return errs
}

func suggestSyscall(n string) string {
	best, bestD := "", 3
	if len(n) < 4 {
		bestD = 2
	}
	for _, c := range syscalls.AllNames() {
		if d := editDistance(n, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// Builtins lists the names accepted by LoadBuiltin.
func Builtins() []string { return []string{"docker-default"} }

// LoadBuiltin returns a built-in profile: "docker-default" is Docker's
// default profile from github.com/moby/profiles/seccomp.
func LoadBuiltin(name string) (*Profile, error) {
	switch name {
	case "docker-default", "default":
		data, err := json.MarshalIndent(mobyseccomp.DefaultProfile(), "", "\t")
		if err != nil {
			return nil, fmt.Errorf("encode docker-default: %w", err)
		}
		return Parse("builtin:docker-default", data)
	}
	return nil, fmt.Errorf("unknown builtin profile %q (have %s)", name, strings.Join(Builtins(), ", "))
}

// Marshal writes the profile back as indented JSON.
func (p *Profile) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(&p.Spec, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("encode profile: %w", err)
	}
	return append(b, '\n'), nil
}
