package seccomp

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"

	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Decision is how one syscall is decided on one arch, in words.
type Decision struct {
	Arch    string
	Syscall string
	Nr      int
	// Action is the answer for all-zero arguments.
	Action Action
	// Conditional is set when arguments can change the answer.
	Conditional bool
	// Summary describes the whole decision ("SCMP_ACT_ALLOW", or the
	// conditional rules and the fallback).
	Summary string
	// Rules are the indexes into Resolved.Rules that name the syscall with
	// an action other than the default, in profile order.
	Rules []int
	// MayAllow is set when some argument vector is allowed.
	MayAllow bool
}

// Decide summarizes the decision for a syscall name on an arch of r.
func Decide(r *Resolved, arch, name string) (Decision, bool) {
	nr, ok := syscalls.Number(arch, name)
	if !ok {
		return Decision{}, false
	}
	tok, _ := syscalls.AuditArch(arch)
	d := Decision{Arch: arch, Syscall: name, Nr: nr}
	d.Action = Evaluate(r, SeccompData{Nr: uint32(nr), Arch: tok}, Options{})
	if enosysOn(r, arch, Options{}) && int64(nr) > maxNamed(r, arch) {
		d.Summary = d.Action.String() // runc's stub answers before any rule
		return d, true
	}
	var uncond *Rule
	var conds []string
	addConds := func(rule *Rule, groups [][]Cond, via string) {
		for _, cs := range groups {
			var parts []string
			for _, c := range cs {
				parts = append(parts, c.String())
			}
			conds = append(conds, fmt.Sprintf("%s if %s%s", rule.Action, strings.Join(parts, " && "), via))
			if rule.Action.Allows() {
				d.MayAllow = true
			}
		}
	}
	for i := range r.Rules {
		rule := &r.Rules[i]
		if rule.Action == r.Default {
			continue
		}
		var groups [][]Cond
		if len(rule.Conds) > 0 {
			groups = splitConds(rule.Conds)
		}
		if slices.Contains(rule.Names, name) {
			d.Rules = append(d.Rules, i)
			if groups == nil {
				if uncond == nil {
					uncond = rule
				}
			} else {
				addConds(rule, groups, "")
			}
		}
		// x86's socketcall/ipc also carry the rules of their families.
		for _, n := range rule.Names {
			if mux, call, ok := multiplexed(arch, n); ok && mux == name {
				d.Rules = append(d.Rules, i)
				addConds(rule, muxConds(groups, call), " (from "+n+")")
			}
		}
	}
	switch {
	case uncond != nil:
		d.Summary = uncond.Action.String()
		d.MayAllow = uncond.Action.Allows()
	case len(conds) > 0:
		d.Conditional = true
		fallback := r.Default
		d.Summary = strings.Join(conds, "; ") + "; else " + fallback.String()
		d.MayAllow = d.MayAllow || fallback.Allows()
	default:
		d.Summary = d.Action.String()
		d.MayAllow = d.Action.Allows()
	}
	return d, true
}

// Severity of a lint finding.
type Severity string

// Severities, most serious first.
const (
	SevHigh   Severity = "high"
	SevMedium Severity = "medium"
	SevLow    Severity = "low"
	SevInfo   Severity = "info"
)

// Rank orders severities (higher is worse).
func (s Severity) Rank() int {
	return map[Severity]int{SevHigh: 3, SevMedium: 2, SevLow: 1, SevInfo: 0}[s]
}

// Finding is one lint result.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Syscall  string   `json:"syscall,omitempty"`
	Arches   []string `json:"arches,omitempty"`
	Message  string   `json:"message"`
	Pos      Position `json:"-"`
	Location string   `json:"location,omitempty"`
}

// dangerous lists syscalls a container should not get, with the reason.
var dangerous = []struct {
	names []string
	sev   Severity
	why   string
}{
	{[]string{"mount", "umount2", "fsopen", "fsmount", "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr", "pivot_root"}, SevHigh, "mounting or remounting filesystems is a classic breakout"},
	{[]string{"ptrace", "process_vm_writev", "process_vm_readv"}, SevMedium, "it reads and rewrites other processes (before kernel 4.8 ptrace also bypassed seccomp)"},
	{[]string{"bpf"}, SevHigh, "eBPF is a large kernel attack surface"},
	{[]string{"keyctl", "add_key", "request_key"}, SevHigh, "the kernel keyring is not namespaced"},
	{[]string{"io_uring_setup", "io_uring_enter", "io_uring_register"}, SevHigh, "io_uring performs operations seccomp never sees and has had many kernel bugs"},
	{[]string{"userfaultfd"}, SevHigh, "userfaultfd makes kernel race exploits reliable"},
	{[]string{"open_by_handle_at"}, SevHigh, "opening files by handle escapes the mount namespace (the shocker breakout)"},
	{[]string{"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff"}, SevHigh, "it changes the running kernel or host"},
	{[]string{"perf_event_open"}, SevMedium, "perf events leak kernel addresses and have had many bugs"},
	{[]string{"setns"}, SevMedium, "it joins other namespaces"},
}

const cloneNewUser = 0x10000000

// Lint looks for dangerous allowances in a resolved profile.
func Lint(r *Resolved) []Finding {
	var out []Finding
	add := func(f Finding) {
		if f.Pos.File != "" {
			f.Location = f.Pos.String()
		}
		out = append(out, f)
	}
	if r.Default.Allows() {
		add(Finding{ID: "default-allow", Severity: SevHigh, Message: fmt.Sprintf("default action %s allows every syscall the profile does not name; write an allow-list with a denying default", r.Default), Pos: r.DefaultPos})
	}
	posOf := func(d Decision) Position {
		if len(d.Rules) > 0 {
			return r.Rules[d.Rules[0]].Pos
		}
		return r.DefaultPos
	}
	allowedOn := func(name string, args [6]uint64) (arches []string, pos Position) {
		for _, arch := range r.Arches {
			nr, ok := syscalls.Number(arch, name)
			if !ok {
				continue
			}
			tok, _ := syscalls.AuditArch(arch)
			if Evaluate(r, SeccompData{Nr: uint32(nr), Arch: tok, Args: args}, Options{}).Allows() {
				arches = append(arches, arch)
				if d, ok := Decide(r, arch, name); ok && pos.File == "" {
					pos = posOf(d)
				}
			}
		}
		return arches, pos
	}
	for _, group := range dangerous {
		for _, name := range group.names {
			arches, pos := allowedOn(name, [6]uint64{})
			if len(arches) == 0 {
				continue
			}
			add(Finding{ID: "dangerous-syscall", Severity: group.sev, Syscall: name, Arches: arches, Message: fmt.Sprintf("%s is allowed: %s", name, group.why), Pos: pos})
			// A syscall denied natively but allowed on a compat arch is a bypass.
		}
	}
	// Namespace creation.
	for _, c := range []struct{ name, what string }{{"unshare", "unshare(CLONE_NEWUSER)"}, {"clone", "clone(CLONE_NEWUSER)"}} {
		arches, pos := allowedOn(c.name, [6]uint64{cloneNewUser})
		if len(arches) > 0 {
			add(Finding{ID: "namespace-creation", Severity: SevHigh, Syscall: c.name, Arches: arches, Pos: pos,
				Message: fmt.Sprintf("%s is allowed: new user namespaces hand out capabilities over kernel code that is otherwise out of reach; filter the namespace flags as Docker does (SCMP_CMP_MASKED_EQ on the CLONE_NEW* bits)", c.what)})
		}
	}
	if arches, pos := allowedOn("clone3", [6]uint64{}); len(arches) > 0 {
		add(Finding{ID: "namespace-creation", Severity: SevMedium, Syscall: "clone3", Arches: arches, Pos: pos,
			Message: "clone3 is allowed: its flags sit behind a pointer seccomp cannot read, so namespace creation cannot be filtered; Docker answers ENOSYS so libc falls back to clone"})
	}
	for _, fam := range []struct {
		af   uint64
		name string
		why  string
	}{{38, "AF_ALG", "the kernel crypto API, a recurring source of exploitable bugs"}, {40, "AF_VSOCK", "host/guest sockets that are not isolated per network namespace"}} {
		if arches, pos := allowedOn("socket", [6]uint64{fam.af}); len(arches) > 0 {
			add(Finding{ID: "socket-family", Severity: SevMedium, Syscall: "socket", Arches: arches, Pos: pos,
				Message: fmt.Sprintf("socket(%s) is allowed: %s", fam.name, fam.why)})
		}
	}
	// Compat-arch bypasses.
	host := r.Arches[0]
	for _, group := range dangerous {
		for _, name := range group.names {
			hostNr, ok := syscalls.Number(host, name)
			if !ok {
				continue
			}
			tok, _ := syscalls.AuditArch(host)
			if Evaluate(r, SeccompData{Nr: uint32(hostNr), Arch: tok}, Options{}).Allows() {
				continue
			}
			var leak []string
			for _, arch := range r.Arches[1:] {
				nr, ok := syscalls.Number(arch, name)
				if !ok {
					continue
				}
				t, _ := syscalls.AuditArch(arch)
				if Evaluate(r, SeccompData{Nr: uint32(nr), Arch: t}, Options{}).Allows() {
					leak = append(leak, arch)
				}
			}
			if len(leak) > 0 {
				add(Finding{ID: "compat-arch-bypass", Severity: SevHigh, Syscall: name, Arches: leak,
					Message: fmt.Sprintf("%s is denied on %s but allowed on %s: a 32-bit or x32 binary gets it anyway", name, host, strings.Join(leak, ", "))})
			}
		}
	}
	for _, mux := range r.Arches {
		ma, _ := syscalls.LookupArch(mux)
		if !ma.Multiplexed {
			continue
		}
		// socketcall(SYS_SOCKET, args) hides the family behind a pointer.
		if d, ok := Decide(r, r.Arches[0], "socket"); ok && d.Conditional {
			sc, _ := syscalls.Number(mux, "socketcall")
			if Evaluate(r, SeccompData{Nr: uint32(sc), Arch: ma.Audit, Args: [6]uint64{1}}, Options{}).Allows() {
				add(Finding{ID: "compat-arch-bypass", Severity: SevLow, Syscall: "socketcall", Arches: []string{mux}, Pos: posOf(d),
					Message: fmt.Sprintf("socket() arguments are filtered but socketcall(SYS_SOCKET) is allowed on %s: its arguments sit behind a pointer, so i386 programs can create any socket family", mux)})
			}
		}
	}
	if ha, _ := syscalls.LookupArch(host); ha.CompatCommon && !r.Default.Allows() {
		var missing []string
		for _, a := range []string{ha.Compat, ha.Shares} {
			if a != "" && !slices.Contains(r.Arches, a) {
				missing = append(missing, a)
			}
		}
		if len(missing) > 0 {
			add(Finding{ID: "compat-arch-missing", Severity: SevInfo, Arches: missing, Pos: r.DefaultPos,
				Message: fmt.Sprintf("%s not listed: their syscalls get the bad-arch action (kill) instead of the profile's rules; list them (Docker does) if 32-bit programs must run", strings.Join(missing, " and "))})
		}
	}
	// Names no filtered arch has: typos are caught by Parse, so these are
	// syscalls of other architectures, or ones this kernel era renamed.
	for _, rule := range r.Rules {
		var missing []string
		for _, name := range rule.Names {
			found := false
			for _, arch := range r.Arches {
				if _, ok := syscalls.Number(arch, name); ok {
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			add(Finding{ID: "not-on-arch", Severity: SevInfo, Arches: r.Arches, Pos: rule.Pos,
				Message: fmt.Sprintf("%s: no such syscall on %s; the rule does nothing here", strings.Join(missing, ", "), strings.Join(r.Arches, ", "))})
		}
	}
	// Conditional rules with different actions depend on their order.
	seen := map[string]bool{}
	for _, arch := range r.Arches {
		for _, s := range syscalls.List(arch) {
			if seen[s.Name] {
				continue
			}
			acts := map[Action]bool{}
			var first Position
			for _, rule := range r.Rules {
				if len(rule.Conds) > 0 && rule.Action != r.Default && slices.Contains(rule.Names, s.Name) {
					if len(acts) == 0 {
						first = rule.Pos
					}
					acts[rule.Action] = true
				}
			}
			if len(acts) > 1 {
				seen[s.Name] = true
				add(Finding{ID: "order-dependent", Severity: SevLow, Syscall: s.Name, Pos: first,
					Message: fmt.Sprintf("%s has conditional rules with %d different actions: where they overlap the first in file order wins (libseccomp may differ)", s.Name, len(acts))})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity.Rank() > out[j].Severity.Rank() })
	return out
}

// DiffEntry is one syscall whose decision differs between two profiles.
type DiffEntry struct {
	Syscall string   `json:"syscall"`
	Arches  []string `json:"arches"`
	A       string   `json:"a"`
	B       string   `json:"b"`
}

// DiffResult compares two resolved profiles.
type DiffResult struct {
	DefaultA string      `json:"default_a"`
	DefaultB string      `json:"default_b"`
	Added    []DiffEntry `json:"added"`
	Removed  []DiffEntry `json:"removed"`
	Changed  []DiffEntry `json:"changed"`
}

// Empty reports whether the profiles decide everything the same way.
func (d DiffResult) Empty() bool {
	return d.DefaultA == d.DefaultB && len(d.Added)+len(d.Removed)+len(d.Changed) == 0
}

// Diff compares a and b syscall by syscall on every arch either filters:
// added are syscalls b may allow and a never does, removed the reverse,
// changed those allowed by both (or neither) under different terms.
func Diff(a, b *Resolved) DiffResult {
	res := DiffResult{DefaultA: a.Default.String(), DefaultB: b.Default.String()}
	arches := slices.Clone(a.Arches)
	for _, x := range b.Arches {
		if !slices.Contains(arches, x) {
			arches = append(arches, x)
		}
	}
	type key struct{ name, a, b, kind string }
	groups := map[key][]string{}
	var order []key
	describe := func(r *Resolved, arch, name string) (string, bool) {
		if !slices.Contains(r.Arches, arch) {
			return "not filtered (bad arch)", false
		}
		d, _ := Decide(r, arch, name)
		return d.Summary, d.MayAllow
	}
	for _, arch := range arches {
		for _, s := range syscalls.List(arch) {
			da, okA := describe(a, arch, s.Name)
			db, okB := describe(b, arch, s.Name)
			if da == db {
				continue
			}
			kind := "changed"
			switch {
			case okB && !okA:
				kind = "added"
			case okA && !okB:
				kind = "removed"
			}
			k := key{s.Name, da, db, kind}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], arch)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].name < order[j].name })
	for _, k := range order {
		e := DiffEntry{Syscall: k.name, Arches: groups[k], A: k.a, B: k.b}
		switch k.kind {
		case "added":
			res.Added = append(res.Added, e)
		case "removed":
			res.Removed = append(res.Removed, e)
		default:
			res.Changed = append(res.Changed, e)
		}
	}
	return res
}

// RuleNote is one profile entry naming the explained syscall.
type RuleNote struct {
	Location string `json:"location"`
	Action   string `json:"action"`
	Conds    string `json:"conditions,omitempty"`
	// Status is "applies", "matches" (applies and decides), "no match",
	// "shadowed" or why includes/excludes dropped it.
	Status string `json:"status"`
}

// Explanation says which rule decides a syscall and why.
type Explanation struct {
	Syscall  string     `json:"syscall"`
	Arch     string     `json:"arch"`
	Nr       int        `json:"nr"`
	Args     [6]uint64  `json:"args"`
	Action   string     `json:"action"`
	Reason   string     `json:"reason"`
	Rules    []RuleNote `json:"rules"`
	Location string     `json:"location,omitempty"`
}

// Explain traces how p decides name on arch for args in env.
func Explain(p *Profile, env Env, arch, name string, args [6]uint64) (*Explanation, error) {
	c, ok := syscalls.Canonical(arch)
	if !ok {
		return nil, fmt.Errorf("unknown arch %q (want %s)", arch, syscalls.ArchList(syscalls.Arches()))
	}
	nr, ok := syscalls.Number(c, name)
	if !ok {
		return nil, fmt.Errorf("%s has no syscall %q%s", c, name, suggestSyscall(name))
	}
	r, err := Resolve(p, env)
	if err != nil {
		return nil, err
	}
	tok, _ := syscalls.AuditArch(c)
	act := Evaluate(r, SeccompData{Nr: uint32(nr), Arch: tok, Args: args}, Options{})
	ex := &Explanation{Syscall: name, Arch: c, Nr: nr, Args: args, Action: act.String()}
	if !slices.Contains(r.Arches, c) {
		ex.Reason = fmt.Sprintf("%s is not among the filtered architectures %v: the bad-arch action applies", c, r.Arches)
		return ex, nil
	}
	included := map[int]int{} // entry -> index in r.Rules
	for i, rule := range r.Rules {
		included[rule.Entry] = i
	}
	decided := false
	hasUncond := false
	for i, rule := range r.Rules {
		if slices.Contains(rule.Names, name) && len(rule.Conds) == 0 && rule.Action != r.Default {
			hasUncond = true
			_ = i
		}
	}
	is64 := args64(c)
	for e, call := range p.Spec.Syscalls {
		if call == nil {
			continue
		}
		names := call.Names
		if call.Name != "" {
			names = []string{call.Name}
		}
		if !slices.Contains(names, name) {
			continue
		}
		note := RuleNote{Location: p.At(fmt.Sprintf("syscalls/%d", e)).String(), Action: string(call.Action)}
		if a, err := ParseAction(string(call.Action), call.ErrnoRet); err == nil {
			note.Action = a.String()
		}
		var parts []string
		for _, a := range call.Args {
			parts = append(parts, Cond{Index: a.Index, Op: a.Op, Value: a.Value, ValueTwo: a.ValueTwo}.String())
		}
		note.Conds = strings.Join(parts, " && ")
		ri, ok := included[e]
		switch {
		case !ok:
			note.Status = "not applied: " + whyExcluded(call, env)
		case r.Rules[ri].Action == r.Default:
			note.Status = "no effect: same action as the default"
		case decided:
			note.Status = "shadowed by the rule that decided"
		case len(call.Args) == 0:
			note.Status = "decides: applies to every call"
			decided = true
			ex.Location = note.Location
			ex.Reason = "an unconditional rule names it"
		case hasUncond:
			note.Status = "shadowed: an unconditional rule for the same syscall wins"
		default:
			match := false
			for _, cs := range splitConds(r.Rules[ri].Conds) {
				all := true
				for _, c := range cs {
					if !condHolds(c, args[c.Index], is64) {
						all = false
					}
				}
				match = match || all
			}
			if match {
				note.Status = "decides: its conditions hold for these arguments"
				decided = true
				ex.Location = note.Location
				ex.Reason = "the first conditional rule whose conditions hold"
			} else {
				note.Status = "conditions do not hold for these arguments"
			}
		}
		ex.Rules = append(ex.Rules, note)
	}
	// On x86, rules for socket- and ipc-family names also reach the
	// multiplexer with the call number in arg0.
	var muxNotes []RuleNote
	if ca, _ := syscalls.LookupArch(c); ca.Multiplexed && (name == "socketcall" || name == "ipc") {
		for _, rule := range r.Rules {
			for _, n := range rule.Names {
				mux, call, ok := multiplexed(c, n)
				if !ok || mux != name || rule.Action == r.Default {
					continue
				}
				var groups [][]Cond
				if len(rule.Conds) > 0 {
					groups = splitConds(rule.Conds)
				}
				match := false
				var parts []string
				for _, cs := range muxConds(groups, call) {
					all := true
					var ps []string
					for _, x := range cs {
						ps = append(ps, x.String())
						all = all && condHolds(x, args[x.Index], false)
					}
					parts = append(parts, strings.Join(ps, " && "))
					match = match || all
				}
				note := RuleNote{Location: rule.Pos.String(), Action: rule.Action.String(), Conds: strings.Join(parts, " || ")}
				note.Status = fmt.Sprintf("rule for %s, applied to %s as libseccomp does", n, name)
				if match && !decided && !hasUncond {
					note.Status += ": decides"
					decided = true
					ex.Location = note.Location
					ex.Reason = fmt.Sprintf("a rule for %s, which libseccomp also applies to %s (call number in arg0)", n, name)
				}
				muxNotes = append(muxNotes, note)
			}
		}
	}
	ex.Rules = append(ex.Rules, muxNotes...)
	if enosysOn(r, c, Options{}) && int64(nr) > maxNamed(r, c) {
		for i := range ex.Rules {
			if strings.HasPrefix(ex.Rules[i].Status, "decides") {
				ex.Rules[i].Status = "would decide, but runc's ENOSYS stub answers first"
			}
		}
		decided = true
		ex.Location = ""
		ex.Reason = "the number is above every syscall the profile names on this arch: runc's stub answers ENOSYS before any rule, so libc falls back"
	}
	if !decided {
		if act == Errno(errnoENOSYS) && act != r.Default {
			ex.Reason = "no rule applies and the number is above every syscall the profile names: ENOSYS, so libc falls back"
		} else {
			ex.Reason = "no rule applies: the default action"
			ex.Location = p.At("defaultAction").String()
		}
	}
	return ex, nil
}

// whyExcluded restates Docker's includes/excludes decision in words.
func whyExcluded(call *mobyseccomp.Syscall, env Env) string {
	native := dockerNative(env.Arch)
	has := func(c string) bool {
		n, ok := capsNumber(c)
		return ok && env.Caps.Has(n)
	}
	atLeast := func(v mobyseccomp.KernelVersion) bool {
		k := env.Kernel
		return k.Kernel > v.Kernel || k.Kernel == v.Kernel && k.Major >= v.Major
	}
	if ex := call.Excludes; ex != nil {
		if slices.Contains(ex.Arches, native) {
			return fmt.Sprintf("excludes.arches has %s", native)
		}
		for _, c := range ex.Caps {
			if has(c) {
				return fmt.Sprintf("excludes.caps: the container has %s", c)
			}
		}
		if ex.MinKernel != nil && atLeast(*ex.MinKernel) {
			return fmt.Sprintf("excludes.minKernel %s: kernel is %d.%d", ex.MinKernel, env.Kernel.Kernel, env.Kernel.Major)
		}
	}
	if in := call.Includes; in != nil {
		if len(in.Arches) > 0 && !slices.Contains(in.Arches, native) {
			return fmt.Sprintf("includes.arches %v lacks %s", in.Arches, native)
		}
		for _, c := range in.Caps {
			if !has(c) {
				return fmt.Sprintf("includes.caps: the container lacks %s", c)
			}
		}
		if in.MinKernel != nil && !atLeast(*in.MinKernel) {
			return fmt.Sprintf("includes.minKernel %s: kernel is %d.%d", in.MinKernel, env.Kernel.Kernel, env.Kernel.Major)
		}
	}
	return "dropped by includes/excludes"
}
