//go:build amd64

package ebpf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	cebpf "github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/kernel"
)

// Source is a running capture. Read it from one goroutine; Stats,
// SetSyscalls and Close are safe to call from others.
type Source struct {
	objs  sourceObjects
	links []link.Link
	// capProg is cap_capable, loaded and attached only for
	// Options.Capabilities.
	capProg *cebpf.Program
	// uringProg is io_uring_complete, and uringSubmit io_uring_submit_req
	// (opens that post no completion), loaded when the kernel has the
	// io_uring tracepoints.
	uringProg, uringSubmit *cebpf.Program
	rd                     *ring
	shed                   map[int]bool

	mu    sync.Mutex // guards enter and the descriptor table
	enter link.Link

	dec     Decoder
	reads   uint32
	latency time.Duration
	doneCtx context.Context
	stopCtx func() bool
}

// Open loads the programs, sets the syscall filter and attaches to the
// tracepoints. Capture starts when Open returns.
func Open(opts Options) (*Source, error) {
	if err := kernel.CheckCapture(); err != nil {
		return nil, err
	}
	_ = rlimit.RemoveMemlock() // only matters before 5.11 (memcg accounting)

	spec, err := loadCapture()
	if err != nil {
		return nil, fmt.Errorf("load capture spec: %w", err)
	}
	if opts.RingBufferBytes != 0 {
		n := opts.RingBufferBytes
		if n < os.Getpagesize() || n&(n-1) != 0 {
			return nil, fmt.Errorf("ring buffer size %d: must be a power of two of at least %d bytes", n, os.Getpagesize())
		}
		spec.Maps[captureMapEvents].MaxEntries = uint32(n)
	}
	if opts.IgnoreSelf {
		if err := spec.Variables[captureVarIgnoreTgid].Set(uint32(os.Getpid())); err != nil {
			return nil, fmt.Errorf("set ignore_tgid: %w", err)
		}
	}
	if err := spec.Variables[captureVarCgroupMode].Set(cgroupMode()); err != nil {
		return nil, fmt.Errorf("set cgroup_mode: %w", err)
	}
	if err := spec.Variables[captureVarWakeupBytes].Set(uint64(spec.Maps[captureMapEvents].MaxEntries / 4)); err != nil {
		return nil, fmt.Errorf("set wakeup_bytes: %w", err)
	}
	if err := spec.Variables[captureVarSocketcallNr].Set(socketcallTable()); err != nil {
		return nil, fmt.Errorf("set socketcall_nr: %w", err)
	}
	if err := spec.Variables[captureVarX32Nr].Set(x32Table()); err != nil {
		return nil, fmt.Errorf("set x32_nr: %w", err)
	}
	if opts.Env {
		if err := spec.Variables[captureVarCaptureEnv].Set(uint32(1)); err != nil {
			return nil, fmt.Errorf("set capture_env: %w", err)
		}
	}
	if opts.LeanHeader {
		if err := spec.Variables[captureVarLeanHeader].Set(uint32(1)); err != nil {
			return nil, fmt.Errorf("set lean_header: %w", err)
		}
	}
	if opts.Capabilities && opts.CapOnce {
		if err := spec.Variables[captureVarCapOnce].Set(uint32(1)); err != nil {
			return nil, fmt.Errorf("set cap_once: %w", err)
		}
	} else {
		spec.Maps[captureMapCapSeen].MaxEntries = 64 // unused: keep it small
	}
	if len(opts.Shed) > 0 {
		at := uint64(spec.Maps[captureMapEvents].MaxEntries / 2)
		if opts.ShedBytes > 0 {
			at = uint64(opts.ShedBytes)
		}
		if err := spec.Variables[captureVarShedBytes].Set(at); err != nil {
			return nil, fmt.Errorf("set shed_bytes: %w", err)
		}
	}
	s := &Source{latency: opts.Latency, shed: map[int]bool{}}
	for _, nr := range opts.Shed {
		s.shed[nr] = true
	}
	if s.latency <= 0 {
		s.latency = 10 * time.Millisecond
	}
	// LoadAndAssign loads only the programs its target names: cap_capable
	// is loaded (and its tracepoint needed) only when asked for.
	var target any = &s.objs
	var withCaps struct {
		sourceObjects
		CapCapable *cebpf.Program `ebpf:"cap_capable"`
	}
	var withURing struct {
		sourceObjects
		IoUringComplete  *cebpf.Program `ebpf:"io_uring_complete"`
		IoUringSubmitReq *cebpf.Program `ebpf:"io_uring_submit_req"`
	}
	var withBoth struct {
		sourceObjects
		CapCapable       *cebpf.Program `ebpf:"cap_capable"`
		IoUringComplete  *cebpf.Program `ebpf:"io_uring_complete"`
		IoUringSubmitReq *cebpf.Program `ebpf:"io_uring_submit_req"`
	}
	uring := hasTracepoint("io_uring_complete") && hasTracepoint("io_uring_submit_req")
	if opts.Capabilities {
		if err := checkCapTracepoint(); err != nil {
			return nil, err
		}
	}
	switch {
	case opts.Capabilities && uring:
		target = &withBoth
	case opts.Capabilities:
		target = &withCaps
	case uring:
		target = &withURing
	}
	if err := spec.LoadAndAssign(target, nil); err != nil {
		var ve *cebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load capture programs (verifier): %w\n%+v", err, ve)
		}
		return nil, fmt.Errorf("load capture programs: %w", err)
	}
	switch target {
	case &withBoth:
		s.objs, s.capProg, s.uringProg, s.uringSubmit = withBoth.sourceObjects, withBoth.CapCapable, withBoth.IoUringComplete, withBoth.IoUringSubmitReq
	case &withCaps:
		s.objs, s.capProg = withCaps.sourceObjects, withCaps.CapCapable
	case &withURing:
		s.objs, s.uringProg, s.uringSubmit = withURing.sourceObjects, withURing.IoUringComplete, withURing.IoUringSubmitReq
	}
	nrs := opts.Syscalls
	if nrs == nil {
		nrs = DefaultSyscalls()
	}
	if err := s.SetSyscalls(nrs); err != nil {
		s.Close()
		return nil, err
	}
	s.rd, err = newRing(s.objs.Events.FD(), int(s.objs.Events.MaxEntries()))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open ring buffer reader: %w", err)
	}
	if err := s.attach(); err != nil {
		s.Close()
		return nil, err
	}
	// The kernel BTF decoded for CO-RE (a 5 MiB mapping plus parsed types)
	// is garbage now; hand it back at once rather than at a next GC that an
	// idle agent may not run for minutes (about 5 MB of RSS).
	debug.FreeOSMemory()
	return s, nil
}

// attach links the always-on programs to their tracepoints.
func (s *Source) attach() error {
	progs := []*cebpf.Program{s.objs.SysExit, s.objs.SchedProcessExec, s.objs.SchedProcessFork, s.objs.SchedProcessExit}
	for _, p := range []*cebpf.Program{s.capProg, s.uringProg, s.uringSubmit} {
		if p != nil {
			progs = append(progs, p)
		}
	}
	for _, p := range progs {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			return fmt.Errorf("attach %s: %w", p, err)
		}
		s.links = append(s.links, l)
	}
	return nil
}

// detach unlinks the always-on programs; the benchmarks use it to measure
// the same process with capture off and on.
func (s *Source) detach() error {
	var errs []error
	for _, l := range s.links {
		errs = append(errs, l.Close())
	}
	s.links = nil
	return errors.Join(errs...)
}

// SetSyscalls replaces the set of captured syscalls (native numbers; the
// 32-bit compat ABI follows by name). The sys_enter program is attached
// only while a selected syscall needs it (exit, exit_group).
func (s *Source) SetSyscalls(nrs []int) error {
	table, err := buildConfs(nrs, s.shed)
	if err != nil {
		return fmt.Errorf("set syscalls: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]uint32, numSlots)
	needEnter := false
	for i := range keys {
		keys[i] = uint32(i)
		if table[i].Flags&cfEnter != 0 {
			needEnter = true
		}
	}
	if _, err := s.objs.ScConfs.BatchUpdate(keys, table[:], nil); err != nil {
		// Fall back to one update per slot on kernels without batch ops.
		for i := range keys {
			if err := s.objs.ScConfs.Update(keys[i], table[i], cebpf.UpdateAny); err != nil {
				return fmt.Errorf("set syscalls: update slot %d: %w", i, err)
			}
		}
	}
	// The descriptors are in place; now open the fast filter to them.
	if err := s.objs.ScBits.Set(filterBits(&table)); err != nil {
		return fmt.Errorf("set syscalls: write filter bitmap: %w", err)
	}
	switch {
	case needEnter && s.enter == nil:
		l, err := link.AttachTracing(link.TracingOptions{Program: s.objs.SysEnter})
		if err != nil {
			return fmt.Errorf("attach sys_enter: %w", err)
		}
		s.enter = l
	case !needEnter && s.enter != nil:
		s.enter.Close()
		s.enter = nil
	}
	return nil
}

// Read blocks until the next record, ctx is done, or the source is closed.
// The returned Record is owned by the caller.
func (s *Source) Read(ctx context.Context) (*Record, error) {
	r := new(Record)
	if err := s.ReadInto(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ReadInto is Read without the allocation of a Record.
func (s *Source) ReadInto(ctx context.Context, r *Record) error {
	return s.ReadBatch(ctx, r, nil)
}

// maxBatch bounds the records one ReadBatch hands over, so that a
// flooded ring still lets the caller look at its context now and then.
const maxBatch = 4096

// ReadBatch waits for at least one record, then decodes each record ready
// (up to a few thousand) into r and calls fn with it. It is ReadInto for a
// busy reader: the ring is locked and the context checked once per batch,
// not once per record. r is reused for every record; fn must not keep it.
// An error from fn ends the batch and is returned. With a nil fn it reads
// one record into r (ReadInto).
func (s *Source) ReadBatch(ctx context.Context, r *Record, fn func(*Record) error) error {
	rg := s.rd
	if rg == nil {
		return ErrClosed
	}
	rg.mu.Lock()
	defer rg.mu.Unlock()
	if err := s.readLocked(ctx, r); err != nil || fn == nil {
		return err
	}
	if err := fn(r); err != nil {
		return err
	}
	for range maxBatch - 1 {
		if rg.closed.Load() {
			return nil // the next call reports ErrClosed
		}
		raw := rg.next()
		if raw == nil {
			return nil
		}
		if err := s.dec.Decode(raw, r); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// readLocked waits for the next record and decodes it into r; the caller
// holds the ring's lock.
func (s *Source) readLocked(ctx context.Context, r *Record) error {
	rg := s.rd
	if ctx != s.doneCtx {
		// Wake a blocked read when ctx ends; registered once per context.
		if s.stopCtx != nil {
			s.stopCtx()
		}
		s.doneCtx = ctx
		s.stopCtx = context.AfterFunc(ctx, rg.wakeup)
	}
	for {
		if rg.closed.Load() {
			return ErrClosed
		}
		// A busy ring never waits, so look at ctx now and then.
		if s.reads++; s.reads%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if raw := rg.next(); raw != nil {
			return s.dec.Decode(raw, r)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// Records written without a wakeup are read on the next poll tick.
		if err := rg.wait(s.latency); err != nil {
			if errors.Is(err, errRingClosed) {
				return ErrClosed
			}
			return fmt.Errorf("read ring buffer: %w", err)
		}
	}
}

// Stats returns the records written to the ring buffer and those dropped
// because it was full, summed over CPUs since Open.
func (s *Source) Stats() (events, drops uint64, err error) {
	var per []uint64
	if err := s.objs.Counters.Lookup(uint32(0), &per); err != nil {
		return 0, 0, fmt.Errorf("read event counter: %w", err)
	}
	for _, v := range per {
		events += v
	}
	if err := s.objs.Counters.Lookup(uint32(1), &per); err != nil {
		return 0, 0, fmt.Errorf("read drop counter: %w", err)
	}
	for _, v := range per {
		drops += v
	}
	return events, drops, nil
}

// StatsPerCPU returns the records written and dropped since Open, per CPU.
func (s *Source) StatsPerCPU() (events, drops []uint64, err error) {
	if err := s.objs.Counters.Lookup(uint32(0), &events); err != nil {
		return nil, nil, fmt.Errorf("read event counter: %w", err)
	}
	if err := s.objs.Counters.Lookup(uint32(1), &drops); err != nil {
		return nil, nil, fmt.Errorf("read drop counter: %w", err)
	}
	return events, drops, nil
}

// Close detaches the programs and releases every kernel object.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := []error{s.detach()}
	if s.enter != nil {
		errs = append(errs, s.enter.Close())
		s.enter = nil
	}
	if s.rd != nil {
		errs = append(errs, s.rd.close())
	}
	errs = append(errs, s.objs.Close())
	for _, p := range []**cebpf.Program{&s.capProg, &s.uringProg, &s.uringSubmit} {
		if *p != nil {
			errs = append(errs, (*p).Close())
			*p = nil
		}
	}
	return errors.Join(errs...)
}

// sourceObjects is captureObjects without the on-demand cap_capable
// program, which Open loads only for Options.Capabilities.
type sourceObjects struct {
	captureMaps
	captureVariables
	SchedProcessExec *cebpf.Program `ebpf:"sched_process_exec"`
	SchedProcessExit *cebpf.Program `ebpf:"sched_process_exit"`
	SchedProcessFork *cebpf.Program `ebpf:"sched_process_fork"`
	SysEnter         *cebpf.Program `ebpf:"sys_enter"`
	SysExit          *cebpf.Program `ebpf:"sys_exit"`
}

func (o *sourceObjects) Close() error {
	errs := []error{o.captureMaps.Close()}
	for _, p := range []*cebpf.Program{o.SchedProcessExec, o.SchedProcessExit, o.SchedProcessFork, o.SysEnter, o.SysExit} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	return errors.Join(errs...)
}

// ShedCounts returns the records the kernel shed on purpose (Options.Shed)
// since Open, per CPU: apart from drops, which it could not help.
func (s *Source) ShedCounts() ([]uint64, error) {
	var per []uint64
	if err := s.objs.Counters.Lookup(uint32(3), &per); err != nil {
		return nil, fmt.Errorf("read shed counter: %w", err)
	}
	return per, nil
}

// IOUring says whether io_uring requests are captured (the kernel has the
// io_uring:io_uring_complete and io_uring:io_uring_submit_req tracepoints).
func (s *Source) IOUring() bool { return s.uringProg != nil }

// Protect adds files to the protected inodes: their opens are never shed.
// The kernel map holds 65536; past that Protect fails with
// ErrProtectedFull and the files are only matched in user space.
func (s *Source) Protect(ids ...FileID) error {
	for _, id := range ids {
		k := inodeKey{Ino: id.Ino, Dev: id.Dev}
		if err := s.objs.ProtectedInodes.Update(k, uint8(1), cebpf.UpdateAny); err != nil {
			if errors.Is(err, unix.E2BIG) {
				return ErrProtectedFull
			}
			return fmt.Errorf("protect inode %d on %d:%d: %w", id.Ino, id.Dev>>20, id.Dev&(1<<20-1), err)
		}
	}
	return nil
}

// Unprotect takes files out of the protected inodes (a protected name now
// names another file, and the old inode number may be reused).
func (s *Source) Unprotect(ids ...FileID) error {
	for _, id := range ids {
		k := inodeKey{Ino: id.Ino, Dev: id.Dev}
		if err := s.objs.ProtectedInodes.Delete(k); err != nil && !errors.Is(err, cebpf.ErrKeyNotExist) {
			return fmt.Errorf("unprotect inode %d on %d:%d: %w", id.Ino, id.Dev>>20, id.Dev&(1<<20-1), err)
		}
	}
	return nil
}

// ProtectedCount is how many files the protected inodes hold.
func (s *Source) ProtectedCount() (int, error) {
	var k inodeKey
	var v uint8
	n := 0
	it := s.objs.ProtectedInodes.Iterate()
	for it.Next(&k, &v) {
		n++
	}
	if err := it.Err(); err != nil {
		return n, fmt.Errorf("count protected inodes: %w", err)
	}
	return n, nil
}

// hasTracepoint says whether the kernel's BTF has the tracepoint name.
func hasTracepoint(name string) bool {
	ks, err := btf.LoadKernelSpec()
	if err != nil {
		return false
	}
	var tp *btf.Typedef
	return ks.TypeByName("btf_trace_"+name, &tp) == nil
}

// checkCapTracepoint reports ErrNoCapTracepoint when the kernel's BTF has
// no capability:cap_capable tracepoint.
func checkCapTracepoint() error {
	ks, err := btf.LoadKernelSpec()
	if err != nil {
		return fmt.Errorf("read kernel BTF: %w", err)
	}
	var tp *btf.Typedef
	if err := ks.TypeByName("btf_trace_cap_capable", &tp); err != nil {
		return fmt.Errorf("%w: %v", ErrNoCapTracepoint, err)
	}
	return nil
}

// cgroupMode picks the cgroup path exec and fork records carry: the
// unified hierarchy when /sys/fs/cgroup is cgroup2, else the v1 one.
func cgroupMode() uint32 {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return 1
	}
	return 2
}
