package baseline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/caps"
	"github.com/palisade-sec/palisade/internal/srcpos"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Marshal encodes the baseline as JSON for review in a pull request: keys
// in a fixed order, one item per line, every list sorted, a final newline.
func (b *Baseline) Marshal() ([]byte, error) {
	b.normalize()
	var buf bytes.Buffer
	enc := func(v any) string {
		out, err := json.Marshal(v)
		if err != nil {
			panic(err) // only plain values are encoded
		}
		return string(out)
	}
	items := func(indent string, l []Item) string {
		if len(l) == 0 {
			return "[]"
		}
		var s strings.Builder
		s.WriteString("[\n")
		for i, it := range l {
			s.WriteString(indent + "  " + enc(it))
			if i < len(l)-1 {
				s.WriteByte(',')
			}
			s.WriteByte('\n')
		}
		s.WriteString(indent + "]")
		return s.String()
	}
	buf.WriteString("{\n")
	kv := func(k, v string, last bool) {
		fmt.Fprintf(&buf, "  %q: %s", k, v)
		if !last {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	kv("palisade_baseline", enc(b.Version), false)
	kv("reviewed", enc(b.Reviewed), false)
	kv("workload", enc(b.Workload), false)
	kv("arch", enc(b.Arch), false)
	kv("syscalls_complete", enc(b.SyscallsComplete), false)
	kv("capabilities_checked", enc(b.CapabilitiesChecked), false)
	kv("first_seen", enc(b.FirstSeen), false)
	kv("last_seen", enc(b.LastSeen), false)
	kv("sources", enc(b.Sources), false)
	kv("executables", items("  ", b.Executables), false)
	kv("programs", items("  ", b.Programs), false)
	arches := make([]string, 0, len(b.Syscalls))
	for a := range b.Syscalls {
		arches = append(arches, a)
	}
	sort.Strings(arches)
	var sc strings.Builder
	sc.WriteString("{")
	for i, a := range arches {
		if i > 0 {
			sc.WriteByte(',')
		}
		fmt.Fprintf(&sc, "\n    %q: %s", a, items("    ", b.Syscalls[a]))
	}
	if len(arches) > 0 {
		sc.WriteString("\n  ")
	}
	sc.WriteString("}")
	kv("syscalls", sc.String(), false)
	if len(b.SyscallArgs) > 0 {
		kv("syscall_args", enc(b.SyscallArgs), false) // map keys sorted by encoding/json
	}
	kv("writes", items("  ", b.Writes), false)
	kv("destinations", items("  ", b.Destinations), false)
	kv("listen", items("  ", b.Listen), false)
	kv("capabilities", items("  ", b.Capabilities), false)
	kv("setid_exec", enc(b.SetIDExec), false)
	kv("uids", enc(b.UIDs), false)
	kv("gids", enc(b.GIDs), true)
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}

// Limits on one file's content, beyond the input size bound.
const (
	maxItems   = 200000 // in all lists together
	maxNameLen = 4096
)

// Parse reads a baseline file strictly: unknown or repeated keys, wrong
// types, invalid items and trailing data are errors at name:line:col, and
// nothing is returned unless the whole file is valid. A baseline for
// another architecture than native is refused and says so.
func Parse(name string, data []byte, native string) (*Baseline, error) {
	p := &parser{name: name, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.DisallowUnknownFields()
	b, err := p.parse(native)
	if err != nil {
		return nil, err
	}
	return b, nil
}

type parser struct {
	name  string
	data  []byte
	dec   *json.Decoder
	items int
}

// pos is the position of the next value: the decoder's offset moved past
// whitespace, commas and colons.
func (p *parser) pos() srcpos.Position {
	off := p.dec.InputOffset()
	for off < int64(len(p.data)) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
		off++
	}
	return srcpos.At(p.name, p.data, off)
}

func (p *parser) errAt(pos srcpos.Position, format string, args ...any) error {
	return srcpos.Errorf(pos, format, args...)
}

// decodeErr positions a decoding error.
func (p *parser) decodeErr(pos srcpos.Position, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return p.errAt(srcpos.At(p.name, p.data, se.Offset), "%s", se.Error())
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "value"
		}
		return p.errAt(srcpos.At(p.name, p.data, te.Offset), "%s: want %s, got %s", field, te.Type, te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return p.errAt(srcpos.At(p.name, p.data, int64(len(p.data))), "unexpected end of file (truncated baseline?)")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return p.errAt(pos, "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return srcpos.Wrap(pos, err)
}

func (p *parser) value(v any) error {
	pos := p.pos()
	if err := p.dec.Decode(v); err != nil {
		return p.decodeErr(pos, err)
	}
	return nil
}

func (p *parser) delim(want json.Delim, what string) error {
	pos := p.pos()
	t, err := p.dec.Token()
	if err != nil {
		return p.decodeErr(pos, err)
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return p.errAt(pos, "%s: want %q", what, string(want))
	}
	return nil
}

// items reads a list of items, each checked by check.
func (p *parser) itemList(key string, check func(string) error) ([]Item, error) {
	if err := p.delim('[', key); err != nil {
		return nil, err
	}
	var out []Item
	seen := map[string]bool{}
	for p.dec.More() {
		pos := p.pos()
		if p.items++; p.items > maxItems {
			return nil, p.errAt(pos, "more than %d items", maxItems)
		}
		var it Item
		if err := p.value(&it); err != nil {
			return nil, err
		}
		if it.Name == "" {
			return nil, p.errAt(pos, "%s: item without a name", key)
		}
		if len(it.Name) > maxNameLen {
			return nil, p.errAt(pos, "%s: name longer than %d bytes", key, maxNameLen)
		}
		if seen[it.Name] {
			return nil, p.errAt(pos, "%s: %q listed twice", key, it.Name)
		}
		seen[it.Name] = true
		if err := check(it.Name); err != nil {
			return nil, p.errAt(pos, "%s: %v", key, err)
		}
		for _, ts := range []string{it.First, it.Last} {
			if ts != "" {
				if _, err := time.Parse(time.RFC3339, ts); err != nil {
					return nil, p.errAt(pos, "%s: %q: time %q is not RFC 3339", key, it.Name, ts)
				}
			}
		}
		out = append(out, it)
	}
	if err := p.delim(']', key); err != nil {
		return nil, err
	}
	return out, nil
}

func (p *parser) parse(native string) (*Baseline, error) {
	if len(bytes.TrimSpace(p.data)) == 0 {
		return nil, p.errAt(srcpos.Position{File: p.name}, "empty file, not a baseline")
	}
	if err := p.delim('{', "baseline"); err != nil {
		return nil, err
	}
	b := &Baseline{}
	seen := map[string]srcpos.Position{}
	var archPos srcpos.Position
	for p.dec.More() {
		kpos := p.pos()
		t, err := p.dec.Token()
		if err != nil {
			return nil, p.decodeErr(kpos, err)
		}
		key, _ := t.(string)
		if _, dup := seen[key]; dup {
			return nil, p.errAt(kpos, "key %q repeated", key)
		}
		seen[key] = kpos
		if key != "palisade_baseline" && len(seen) == 1 {
			return nil, p.errAt(kpos, "first key is %q, want \"palisade_baseline\" (is this a palisade baseline?)", key)
		}
		switch key {
		case "palisade_baseline":
			vpos := p.pos()
			if err := p.value(&b.Version); err != nil {
				return nil, err
			}
			if b.Version != Version {
				return nil, p.errAt(vpos, "baseline version %d, this palisade reads version %d", b.Version, Version)
			}
		case "reviewed":
			err = p.value(&b.Reviewed)
		case "workload":
			vpos := p.pos()
			if err = p.value(&b.Workload); err == nil {
				if werr := b.Workload.check(); werr != nil {
					err = p.errAt(vpos, "%v", werr)
				}
			}
		case "arch":
			archPos = p.pos()
			if err = p.value(&b.Arch); err == nil {
				if c, ok := syscalls.Canonical(b.Arch); !ok || c != b.Arch {
					err = p.errAt(archPos, "unknown architecture %q", b.Arch)
				}
			}
		case "syscalls_complete":
			err = p.value(&b.SyscallsComplete)
		case "capabilities_checked":
			err = p.value(&b.CapabilitiesChecked)
		case "first_seen", "last_seen":
			vpos := p.pos()
			var s string
			if err = p.value(&s); err == nil && s != "" {
				if _, terr := time.Parse(time.RFC3339, s); terr != nil {
					err = p.errAt(vpos, "%s %q is not RFC 3339", key, s)
				}
			}
			if key == "first_seen" {
				b.FirstSeen = s
			} else {
				b.LastSeen = s
			}
		case "sources":
			err = p.value(&b.Sources)
		case "executables":
			b.Executables, err = p.itemList(key, checkPath)
		case "programs":
			b.Programs, err = p.itemList(key, checkPath)
		case "writes":
			b.Writes, err = p.itemList(key, checkGlob)
		case "destinations":
			b.Destinations, err = p.itemList(key, func(s string) error { _, err := ParseDest(s); return err })
		case "listen":
			b.Listen, err = p.itemList(key, func(s string) error { _, _, err := ParseListen(s); return err })
		case "capabilities":
			b.Capabilities, err = p.itemList(key, func(s string) error {
				if _, ok := caps.Number(s); !ok {
					return fmt.Errorf("unknown capability %q", s)
				}
				return nil
			})
		case "syscalls":
			b.Syscalls, err = p.syscalls()
		case "syscall_args":
			err = p.value(&b.SyscallArgs)
		case "setid_exec":
			err = p.value(&b.SetIDExec)
		case "uids":
			err = p.value(&b.UIDs)
		case "gids":
			err = p.value(&b.GIDs)
		default:
			return nil, p.errAt(kpos, "unknown key %q", key)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := p.delim('}', "baseline"); err != nil {
		return nil, err
	}
	if p.dec.More() {
		return nil, p.errAt(p.pos(), "data after the baseline")
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, p.errAt(p.pos(), "data after the baseline")
	}
	file := srcpos.Position{File: p.name}
	for _, k := range []string{"palisade_baseline", "workload", "arch", "syscalls"} {
		if _, ok := seen[k]; !ok {
			return nil, p.errAt(file, "no %q key: not a complete baseline", k)
		}
	}
	for arch := range b.Syscalls {
		if hostOf(arch) != b.Arch {
			return nil, p.errAt(seen["syscalls"], "syscalls for %s in a baseline for %s", arch, b.Arch)
		}
	}
	if native != "" && b.Arch != native {
		return nil, p.errAt(archPos, "baseline for %s, this machine captures %s: record the workload on %s", b.Arch, native, native)
	}
	b.normalize()
	return b, nil
}

func (p *parser) syscalls() (map[string][]Item, error) {
	if err := p.delim('{', "syscalls"); err != nil {
		return nil, err
	}
	out := map[string][]Item{}
	for p.dec.More() {
		kpos := p.pos()
		t, err := p.dec.Token()
		if err != nil {
			return nil, p.decodeErr(kpos, err)
		}
		arch, _ := t.(string)
		if c, ok := syscalls.Canonical(arch); !ok || c != arch {
			return nil, p.errAt(kpos, "syscalls: unknown architecture %q", arch)
		}
		if _, dup := out[arch]; dup {
			return nil, p.errAt(kpos, "syscalls: %s repeated", arch)
		}
		l, err := p.itemList("syscalls "+arch, func(n string) error {
			if _, ok := syscalls.Number(arch, n); ok {
				return nil
			}
			// 32-bit ABIs are recorded under the 64-bit names.
			if _, ok := syscalls.Number(syscalls.CaptureArch().Name, n); ok {
				return nil
			}
			return fmt.Errorf("no syscall %q on %s", n, arch)
		})
		if err != nil {
			return nil, err
		}
		out[arch] = l
	}
	return out, p.delim('}', "syscalls")
}

// hostOf is the arch whose kernel runs arch's ABI ("x86_64" for x86).
func hostOf(arch string) string {
	if a, ok := syscalls.LookupArch(arch); ok {
		return a.Host
	}
	return ""
}

func checkPath(s string) error {
	if !strings.HasPrefix(s, "/") {
		return fmt.Errorf("%q is not an absolute path", s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%q holds a NUL byte", s)
	}
	return nil
}

func checkGlob(s string) error {
	if err := checkPath(s); err != nil {
		return err
	}
	for _, el := range strings.Split(s[1:], "/") {
		if strings.Contains(el, "**") && el != "**" {
			return fmt.Errorf("glob %q: ** must be a whole path element", s)
		}
	}
	return nil
}

// Dest is a parsed destination item.
type Dest struct {
	Proto string
	Net   netip.Prefix // a single address is a /32 or /128
	Port  int          // -1: any port
}

// ParseDest parses "proto addr:port", "proto [v6]:port" or "proto
// cidr:port" with port a number or "*".
func ParseDest(s string) (Dest, error) {
	proto, rest, ok := strings.Cut(s, " ")
	if !ok || !validProto(proto) {
		return Dest{}, fmt.Errorf("destination %q: want \"tcp|udp ADDRESS[/BITS]:PORT\"", s)
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return Dest{}, fmt.Errorf("destination %q: no :port", s)
	}
	host, port := rest[:i], rest[i+1:]
	d := Dest{Proto: proto, Port: -1}
	if port != "*" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return Dest{}, fmt.Errorf("destination %q: port %q is not 0-65535 or *", s, port)
		}
		d.Port = int(n)
	}
	if h, ok := strings.CutPrefix(host, "["); ok {
		host, ok = strings.CutSuffix(h, "]")
		if !ok {
			return Dest{}, fmt.Errorf("destination %q: unclosed [", s)
		}
	}
	var err error
	if strings.Contains(host, "/") {
		d.Net, err = netip.ParsePrefix(host)
		d.Net = d.Net.Masked()
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(host); err == nil {
			d.Net = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
	}
	if err != nil {
		return Dest{}, fmt.Errorf("destination %q: %v", s, err)
	}
	return d, nil
}

// ParseListen parses "proto port".
func ParseListen(s string) (string, uint16, error) {
	proto, port, ok := strings.Cut(s, " ")
	if !ok || !validProto(proto) {
		return "", 0, fmt.Errorf("listen %q: want \"tcp|udp PORT\"", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("listen %q: port %q is not 0-65535", s, port)
	}
	return proto, uint16(n), nil
}

func validProto(p string) bool { return p == "tcp" || p == "udp" }
