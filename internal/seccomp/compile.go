package seccomp

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"

	"github.com/palisade-sec/palisade/internal/syscalls"
)

// MaxInstructions is the kernel's limit on a classic BPF program (BPF_MAXINSNS).
const MaxInstructions = 4096

// ErrTooLong is returned when a program exceeds MaxInstructions.
var ErrTooLong = errors.New("filter too long")

// seccomp_data offsets.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// Program is a compiled filter.
type Program struct {
	Raw    []bpf.RawInstruction
	Arches []string
	// Leaves is the number of number ranges each arch's search tree tells apart.
	Leaves map[string]int
}

// Instructions decodes the program for display.
func (p *Program) Instructions() []bpf.Instruction {
	out := make([]bpf.Instruction, len(p.Raw))
	for i, r := range p.Raw {
		out[i] = r.Disassemble()
	}
	return out
}

// Len is the number of instructions.
func (p *Program) Len() int { return len(p.Raw) }

// interval is a run of syscall numbers [lo, hi] decided the same way.
type interval struct {
	lo, hi uint32
	action Action    // when call == nil
	call   *callPlan // arg checks for a single number
	weight float64
}

// Compile turns a resolved profile into a seccomp program.
//
// Layout: load the arch and dispatch (host arch first) to one section per
// audit arch token; each section loads the number once and walks a binary
// search tree over number ranges that is optimal for the expected cost
// (allowed syscalls weigh most), ending in a return or, for syscalls with
// argument conditions, a short check of 32-bit argument halves. Returns
// reached by number alone never look at arguments, so the kernel's action
// cache can decide them without running the filter.
func Compile(r *Resolved, opt Options) (*Program, error) {
	type section struct {
		token     uint32
		intervals []interval
	}
	var sections []*section
	byToken := map[uint32]*section{}
	plans := map[string]*archPlan{}
	for _, arch := range r.Arches {
		ap, err := r.plan(arch, opt)
		if err != nil {
			return nil, err
		}
		plans[arch] = ap
		if byToken[ap.audit] == nil {
			s := &section{token: ap.audit}
			byToken[ap.audit] = s
			sections = append(sections, s)
		}
	}
	for _, s := range sections {
		if a, ok := syscalls.ArchByAudit(s.token); ok && a.Shares != "" {
			s.intervals = x86Line(plans[a.Name], plans[a.Shares], r.Default, opt.BadArch)
		} else {
			for _, ap := range plans {
				if ap.audit == s.token {
					s.intervals = segment(ap, 0, 0xffffffff, opt.BadArch)
				}
			}
		}
		s.intervals = mergeIntervals(s.intervals)
	}

	b := &builder{retPos: map[Action]int{}, rev: make([]bpf.RawInstruction, 0, 1024)}
	entries := make([]target, len(sections))
	for i := len(sections) - 1; i >= 0; i-- {
		s := sections[i]
		root := optimalTree(s.intervals)
		entry := b.tree(root, s.intervals, r.Default)
		if entry.isAct {
			entries[i] = entry
			continue
		}
		entries[i] = b.seq(bpf.RawInstruction{Op: opLdAbsW, K: offNr}, entry)
	}
	next := actTarget(opt.BadArch)
	for i := len(sections) - 1; i >= 0; i-- {
		next = b.jmpIf(opJeqK, sections[i].token, entries[i], next)
	}
	b.seq(bpf.RawInstruction{Op: opLdAbsW, K: offArch}, next)

	raw := make([]bpf.RawInstruction, len(b.rev))
	for i, ins := range b.rev {
		raw[len(b.rev)-1-i] = ins
	}
	if len(raw) > MaxInstructions {
		return nil, fmt.Errorf("%w: %d instructions, the kernel accepts at most %d; allow or deny whole syscalls instead of long argument lists", ErrTooLong, len(raw), MaxInstructions)
	}
	p := &Program{Raw: raw, Arches: r.Arches, Leaves: map[string]int{}}
	for _, s := range sections {
		for _, a := range r.Arches {
			if tok, _ := syscalls.AuditArch(a); tok == s.token {
				p.Leaves[a] = len(s.intervals)
			}
		}
	}
	return p, nil
}

// x86Line lays out the x86_64 token's number line as runc's ENOSYS stub
// (which tests bit 30) in front of libseccomp's filter (which tests
// nr >= bit 30) decide it; see Evaluate.
func x86Line(x64, x32 *archPlan, def, bad Action) []interval {
	c := func(lo, hi uint32, a Action) interval { return interval{lo: lo, hi: hi, action: a, weight: 0.001} }
	out := segment(x64, 0, syscalls.X32Bit-1, bad)
	if x32 != nil {
		out = append(out, segment(x32, syscalls.X32Bit, 0x7fffffff, bad)...)
	} else {
		out = append(out, c(syscalls.X32Bit, 0x7fffffff, bad))
	}
	switch {
	case x64 != nil && x64.enosys:
		out = append(out, c(0x80000000, 0xbfffffff, Errno(errnoENOSYS)))
	case x32 != nil:
		out = append(out, c(0x80000000, 0xbfffffff, def))
	default:
		out = append(out, c(0x80000000, 0xbfffffff, bad))
	}
	switch {
	case x32 != nil && x32.enosys:
		out = append(out, c(0xc0000000, 0xffffffff, Errno(errnoENOSYS)))
	case x32 != nil:
		out = append(out, c(0xc0000000, 0xffffffff, def))
	default:
		// -1, a tracer's skipped syscall, stays an x86_64 number.
		out = append(out, c(0xc0000000, 0xfffffffe, bad), c(0xffffffff, 0xffffffff, def))
	}
	return out
}

// segment lays the plan for one arch over [lo, hi]; a nil plan means the
// arch is not filtered and the range answers bad. Each interval is weighed
// by the syscalls it holds: 1 for one allowed with zero arguments, 0.1 for
// any other, so the search tree puts allowed syscalls near its root.
func segment(ap *archPlan, lo, hi uint32, bad Action) []interval {
	if ap == nil {
		return []interval{{lo: lo, hi: hi, action: bad, weight: 0.001}}
	}
	weightOf := func(a Action) float64 {
		if a.Allows() {
			return 1
		}
		return 0.1
	}
	out := make([]interval, 0, 64)
	// add appends, merging a pure-action interval into an equal neighbour.
	add := func(iv interval) {
		if n := len(out); n > 0 && iv.call == nil && out[n-1].call == nil && out[n-1].action == iv.action && uint64(out[n-1].hi)+1 == uint64(iv.lo) {
			out[n-1].hi = iv.hi
			out[n-1].weight += iv.weight
			return
		}
		out = append(out, iv)
	}
	cur := uint64(lo)
	last := uint64(0)
	if ap.maxNr >= 0 {
		last = uint64(ap.maxNr)
	}
	split := ap.enosys
	gapW, enosysW := 0.0, 0.0
	defW := weightOf(ap.def)
	gap := func(to uint64) { // [cur, to] of numbers the profile does not name
		if to+1 <= cur {
			return
		}
		if split {
			if cur <= last {
				add(interval{lo: uint32(cur), hi: uint32(min(to, last)), action: ap.def, weight: gapW + 0.001})
			}
			if to > last {
				add(interval{lo: uint32(max(cur, last+1)), hi: uint32(to), action: Errno(errnoENOSYS), weight: enosysW + 0.001})
			}
		} else {
			add(interval{lo: uint32(cur), hi: uint32(to), action: ap.def, weight: gapW + 0.001})
		}
		gapW, enosysW = 0, 0
		cur = to + 1
	}
	for i := range ap.slots {
		nr := uint32(ap.list[i].Nr)
		if nr < lo || nr > hi {
			continue
		}
		sl := &ap.slots[i]
		if !sl.set || split && uint64(nr) > last {
			if split && uint64(nr) > last {
				enosysW += 0.1
			} else {
				gapW += defW
			}
			continue
		}
		if uint64(nr) > cur {
			gap(uint64(nr) - 1)
		}
		if sl.hasUncond {
			add(interval{lo: nr, hi: nr, action: sl.uncond, weight: weightOf(sl.uncond)})
		} else {
			cp := &ap.conds[sl.cond-1]
			add(interval{lo: nr, hi: nr, call: cp, weight: weightOf(evalCallZero(cp, ap))})
		}
		cur = uint64(nr) + 1
	}
	gap(uint64(hi))
	return out
}

func mergeIntervals(in []interval) []interval {
	out := in[:0]
	for _, iv := range in {
		if n := len(out); n > 0 && iv.call == nil && out[n-1].call == nil && out[n-1].action == iv.action && out[n-1].hi+1 == iv.lo {
			out[n-1].hi = iv.hi
			out[n-1].weight += iv.weight
			continue
		}
		out = append(out, iv)
	}
	return out
}

// evalCallZero is the action of a conditional syscall with all-zero arguments.
func evalCallZero(cp *callPlan, ap *archPlan) Action {
	is64 := args64(ap.arch)
	for _, r := range cp.rules {
		ok := true
		for _, c := range r.conds {
			if !condHolds(c, 0, is64) {
				ok = false
				break
			}
		}
		if ok {
			return r.action
		}
	}
	return ap.def
}

// treeNode is a node of the search tree; a leaf when left == nil.
type treeNode struct {
	leaf        int // interval index
	split       uint32
	left, right *treeNode
}

// optimalTree builds the search tree minimizing the weighted number of
// comparisons, an optimal alphabetic tree, with the Garsia-Wachs algorithm:
// it finds each leaf's optimal depth, then rebuilds a tree that keeps the
// intervals in order with those depths. O(n²) time, O(n) memory.
func optimalTree(ivs []interval) *treeNode {
	n := len(ivs)
	if n == 1 {
		return &treeNode{leaf: 0}
	}
	// Nodes live in one slice and refer to each other by index, so the
	// O(n²) shuffling below moves plain integers (no GC write barriers).
	type gw struct {
		w           float64
		leaf        int32
		left, right int32
	}
	pool := make([]gw, 0, 2*n)
	work := make([]int32, n, n+1)
	weights := make([]float64, n, n+1)
	for i := range ivs {
		pool = append(pool, gw{w: ivs[i].weight, leaf: int32(i)})
		work[i] = int32(i)
		weights[i] = ivs[i].weight
	}
	for len(work) > 1 {
		// The first pair whose left neighbour weighs at most its right one.
		k := len(work) - 1
		for i := 1; i < len(work)-1; i++ {
			if weights[i-1] <= weights[i+1] {
				k = i
				break
			}
		}
		w := weights[k-1] + weights[k]
		pool = append(pool, gw{w: w, leaf: -1, left: work[k-1], right: work[k]})
		x := int32(len(pool) - 1)
		work = append(work[:k-1], work[k+1:]...)
		weights = append(weights[:k-1], weights[k+1:]...)
		// Move it left past lighter items: after the last j with w >= x.w.
		j := k - 2
		for j >= 0 && weights[j] < w {
			j--
		}
		work = append(work, 0)
		weights = append(weights, 0)
		copy(work[j+2:], work[j+1:])
		copy(weights[j+2:], weights[j+1:])
		work[j+1], weights[j+1] = x, w
	}
	depth := make([]int, n)
	var walk func(g int32, d int)
	walk = func(g int32, d int) {
		if pool[g].leaf >= 0 {
			depth[pool[g].leaf] = d
			return
		}
		walk(pool[g].left, d+1)
		walk(pool[g].right, d+1)
	}
	walk(work[0], 0)
	type item struct {
		node  *treeNode
		first int
		depth int
	}
	nodes := make([]treeNode, 0, 2*n)
	newNode := func(t treeNode) *treeNode {
		nodes = append(nodes, t)
		return &nodes[len(nodes)-1]
	}
	stack := make([]item, 0, 64)
	for i := 0; i < n; i++ {
		stack = append(stack, item{newNode(treeNode{leaf: i}), i, depth[i]})
		for len(stack) >= 2 && stack[len(stack)-1].depth == stack[len(stack)-2].depth {
			r, l := stack[len(stack)-1], stack[len(stack)-2]
			stack = stack[:len(stack)-2]
			stack = append(stack, item{newNode(treeNode{split: ivs[r.first].lo, left: l.node, right: r.node}), l.first, l.depth - 1})
		}
	}
	return stack[0].node
}

// target is where a jump goes: an emitted instruction or "return action".
type target struct {
	pos   int
	act   Action
	isAct bool
}

func actTarget(a Action) target { return target{act: a, isAct: true} }
func posTarget(p int) target    { return target{pos: p} }

// builder emits a program back to front: rev[i] is the i-th instruction from
// the end, so every jump target already exists when the jump is written.
type builder struct {
	rev    []bpf.RawInstruction
	retPos map[Action]int
}

// Classic BPF opcodes the compiler emits.
const (
	opLdAbsW        = 0x20 // BPF_LD | BPF_W | BPF_ABS
	opAndK          = 0x54 // BPF_ALU | BPF_AND | BPF_K
	opJa     uint16 = 0x05 // BPF_JMP | BPF_JA
	opJeqK   uint16 = 0x15
	opJgtK   uint16 = 0x25
	opJgeK   uint16 = 0x35
	opJsetK  uint16 = 0x45
	opRetK          = 0x06
)

func (b *builder) emit(ins bpf.RawInstruction) int {
	b.rev = append(b.rev, ins)
	return len(b.rev) - 1
}

// reach returns the position of t if a jump at p can reach it.
func (b *builder) reach(t target, p int) (int, bool) {
	q := t.pos
	if t.isAct {
		var ok bool
		if q, ok = b.retPos[t.act]; !ok {
			return 0, false
		}
	}
	return q, p-q-1 <= 255
}

// place makes t reachable from the next instruction: a fresh return for an
// action (as cheap as a jump, and one instruction fewer to run), else a long
// jump.
func (b *builder) place(t target) target {
	if t.isAct {
		p := b.emit(bpf.RawInstruction{Op: opRetK, K: uint32(t.act)})
		b.retPos[t.act] = p
		return posTarget(p)
	}
	p := len(b.rev)
	return posTarget(b.emit(bpf.RawInstruction{Op: opJa, K: uint32(p - t.pos - 1)}))
}

func (b *builder) jmpIf(op uint16, val uint32, t, f target) target {
	for {
		p := len(b.rev)
		qt, okT := b.reach(t, p)
		qf, okF := b.reach(f, p)
		if okT && okF {
			if qt == qf {
				return posTarget(qt)
			}
			return posTarget(b.emit(bpf.RawInstruction{Op: op, K: val, Jt: uint8(p - qt - 1), Jf: uint8(p - qf - 1)}))
		}
		if !okT {
			t = b.place(t)
		} else {
			f = b.place(f)
		}
	}
}

// seq emits a straight-line instruction that continues at next.
func (b *builder) seq(ins bpf.RawInstruction, next target) target {
	if next.isAct || next.pos != len(b.rev)-1 {
		b.place(next) // the instruction falls through to it
	}
	return posTarget(b.emit(ins))
}

func (b *builder) tree(n *treeNode, ivs []interval, def Action) target {
	if n.left == nil {
		iv := ivs[n.leaf]
		if iv.call == nil {
			return actTarget(iv.action)
		}
		return b.callChecks(iv.call, def)
	}
	right := b.tree(n.right, ivs, def)
	left := b.tree(n.left, ivs, def)
	return b.jmpIf(opJgeK, n.split, right, left)
}

// callChecks emits the argument rules of one syscall, tried in order.
// Runs of one-condition equality rules on the same argument with the same
// action (Docker's socket-family and personality lists) share one load of
// each half.
func (b *builder) callChecks(cp *callPlan, def Action) target {
	next := actTarget(def)
	is64 := cp.is64
	i := len(cp.rules) - 1
	for i >= 0 {
		r := cp.rules[i]
		if j := eqRunStart(cp.rules, i, is64); j < i {
			next = b.eqRun(cp.rules[j:i+1], is64, actTarget(r.action), next)
			i = j - 1
			continue
		}
		t := actTarget(r.action)
		for k := len(r.conds) - 1; k >= 0; k-- {
			t = b.cond(r.conds[k], is64, t, next)
		}
		next = t
		i--
	}
	return next
}

// eqRunStart returns the first index of the run of equality rules ending
// at i that can share loads (i itself when there is none).
func eqRunStart(rules []condRule, i int, is64 bool) int {
	single := func(r condRule) (Cond, bool) {
		if len(r.conds) != 1 || r.conds[0].Op != specs.OpEqualTo {
			return Cond{}, false
		}
		return r.conds[0], true
	}
	last, ok := single(rules[i])
	if !ok {
		return i
	}
	j := i
	for j > 0 {
		c, ok := single(rules[j-1])
		if !ok || rules[j-1].action != rules[i].action || c.Index != last.Index || is64 && c.Value>>32 != last.Value>>32 {
			break
		}
		j--
	}
	return j
}

// eqRun tests arg == v1 || arg == v2 || ... for rules sharing one action,
// one argument and (on 64-bit arches) one upper half.
func (b *builder) eqRun(rules []condRule, is64 bool, t, f target) target {
	c := rules[0].conds[0]
	lo := offArgs + 8*uint32(c.Index)
	e := f
	for k := len(rules) - 1; k >= 0; k-- {
		e = b.jmpIf(opJeqK, uint32(rules[k].conds[0].Value), t, e)
	}
	e = b.load(lo, e)
	if is64 {
		e = b.load(lo+4, b.jmpIf(opJeqK, uint32(c.Value>>32), e, f))
	}
	return e
}

func (b *builder) load(word uint32, next target) target {
	return b.seq(bpf.RawInstruction{Op: opLdAbsW, K: word}, next)
}

// cond emits one comparison of a 64-bit argument as comparisons of its
// 32-bit halves (only the low half on 32-bit arches), continuing at t when it
// holds and f when it does not.
func (b *builder) cond(c Cond, is64 bool, t, f target) target {
	lo := offArgs + 8*uint32(c.Index)
	hi := lo + 4
	v := c.Value
	vlo, vhi := uint32(v), uint32(v>>32)
	if !is64 {
		vhi = 0
	}
	// half emits "this half compares" for ops decided by one half.
	switch c.Op {
	case specs.OpEqualTo, specs.OpNotEqual:
		yes, no := t, f
		if c.Op == specs.OpNotEqual {
			yes, no = f, t
		}
		e := b.load(lo, b.jmpIf(opJeqK, vlo, yes, no))
		if is64 {
			e = b.load(hi, b.jmpIf(opJeqK, vhi, e, no))
		}
		return e
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		op := opJgtK
		if c.Op == specs.OpGreaterEqual {
			op = opJgeK
		}
		e := b.load(lo, b.jmpIf(op, vlo, t, f))
		if is64 {
			// hi > vhi: true; hi == vhi: decide on lo; hi < vhi: false.
			e = b.jmpIf(opJeqK, vhi, e, f)
			e = b.load(hi, b.jmpIf(opJgtK, vhi, t, e))
		}
		return e
	case specs.OpLessThan, specs.OpLessEqual:
		op := opJgeK // lo < v  <=>  !(lo >= v)
		if c.Op == specs.OpLessEqual {
			op = opJgtK
		}
		e := b.load(lo, b.jmpIf(op, vlo, f, t))
		if is64 {
			e = b.jmpIf(opJeqK, vhi, e, t)
			e = b.load(hi, b.jmpIf(opJgtK, vhi, f, e))
		}
		return e
	case specs.OpMaskedEqual:
		m := c.Value
		want := c.ValueTwo & m // libseccomp masks the operand too
		e := b.maskedHalf(lo, uint32(m), uint32(want), t, f)
		if is64 {
			e = b.maskedHalf(hi, uint32(m>>32), uint32(want>>32), e, f)
		}
		return e
	}
	return f // unknown ops never match; Parse rejects them
}

// maskedHalf tests (half & mask) == want.
func (b *builder) maskedHalf(word, mask, want uint32, t, f target) target {
	switch {
	case want&^mask != 0:
		return f // bits outside the mask can never be equal
	case mask == 0:
		return t
	case want == 0:
		return b.load(word, b.jmpIf(opJsetK, mask, f, t))
	case mask == 0xffffffff:
		return b.load(word, b.jmpIf(opJeqK, want, t, f))
	case mask == want && mask&(mask-1) == 0:
		return b.load(word, b.jmpIf(opJsetK, mask, t, f))
	}
	return b.load(word, b.seq(bpf.RawInstruction{Op: opAndK, K: mask}, b.jmpIf(opJeqK, want, t, f)))
}
