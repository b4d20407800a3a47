package detect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/rules"
	"github.com/palisade-sec/palisade/internal/state"
)

// LiveOptions configure the live source.
type LiveOptions struct {
	Rules     *rules.Ruleset // which arguments to render, whether to collect environments
	Syscalls  []int          // native syscall numbers to capture (rules' types plus what state needs)
	Shed      []int          // of those, the ones the kernel drops first under pressure (ShedSet)
	RingBytes int            // kernel ring buffer size; 0 is the capture's default
	Nice      int            // nice value for the agent's threads; 0 keeps the inherited one
	Log       io.Writer      // warnings; nil discards them
	// CRISockets are CRI endpoints to ask besides those found (--cri-socket).
	CRISockets []string
	// Latency bounds how long an event may wait in the kernel's ring
	// before the agent reads it; 0 is the capture's default (10 ms).
	// Responses lower it: a kill is only as early as the read.
	Latency time.Duration
	// Capabilities captures the kernel's capability checks as cap_capable
	// events (a rule names the type: the capability drift rule). Every
	// check in the system is a record, so it is off unless asked; on a
	// kernel without the tracepoint (before 6.15) watch warns and goes on
	// without them. A process image's repeats of a check (same capability,
	// result and user namespace) are dropped in the kernel
	// (ebpf.Options.CapOnce).
	Capabilities bool
}

// Live is the kernel capture with its process, fd and container state: a
// Source and a DropCounter.
type Live struct {
	src      *ebpf.Source
	table    *state.Table
	resolver *container.Resolver
	stop     context.CancelFunc
	mem      *memLimit
	log      io.Writer
	num      uint64
	prot     *protector
}

var typeExecve, typeExecveat = event.TypeOf("execve"), event.TypeOf("execveat")

// hostID is the container id of host processes.
const hostID = "host"

// OpenLive starts the capture, connects to the container engine (detection
// goes on without it, with <NA> names), and counts the running processes.
// The capture runs from here on: call Run soon, and Close when done.
func OpenLive(ctx context.Context, o LiveOptions) (_ *Live, err error) {
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	// Lean headers: syscall records skip the namespace ids and cgroup id,
	// which the process table already has from exec and fork records.
	// Environments are collected only for rules that read them: they hold
	// secrets, and --record would write them to disk.
	eo := ebpf.Options{Syscalls: o.Syscalls, IgnoreSelf: true, LeanHeader: true, RingBufferBytes: o.RingBytes,
		Latency: o.Latency, Env: o.Rules != nil && o.Rules.UsesField("proc.env"), Shed: o.Shed, Capabilities: o.Capabilities,
		// Rules need a capability check once per process, not per mmap.
		CapOnce: true}
	src, err := ebpf.Open(eo)
	if errors.Is(err, ebpf.ErrNoCapTracepoint) {
		fmt.Fprintf(log, "palisade: warning: %v: rules on cap_capable events (capability drift) will not match\n", err)
		eo.Capabilities = false
		src, err = ebpf.Open(eo)
	}
	if err != nil {
		return nil, fmt.Errorf("start capture: %w", err)
	}
	l := &Live{src: src, log: log}
	// The host's protected files now; each container's on its first record.
	l.prot = newProtector(ProtectedFrom(o.Rules), src.Protect, src.Unprotect)
	l.prot.log = log
	l.prot.scanHost()
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if o.Nice != 0 {
		if err := setNice(o.Nice); err != nil {
			fmt.Fprintf(log, "palisade: warning: --nice %d: %v; the agent keeps its priority and may drop events on a busy host\n", o.Nice, err)
		}
	}
	l.resolver = l.connectEngine(ctx, container.DiscoverWith(o.CRISockets))
	host, _ := os.Hostname()
	var interested func(event.Type) bool
	if o.Rules != nil {
		interested = o.Rules.Interested
	}
	// Lazy: a process is read from /proc on its first record, so start-up
	// time and memory follow the processes that do something.
	l.table = state.New(state.Options{Resolver: l.resolver, Hostname: host, Interested: interested, Lazy: true,
		Identify: l.prot.Identify})
	err = l.table.Bootstrap(ctx) // lazy: counts the processes only
	// Start-up garbage goes back to the OS before the memory limit is
	// based on what the agent holds.
	debug.FreeOSMemory()
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	// Likewise the code pages only start-up ran (every package's
	// initialisers): those the agent uses come back on first touch.
	if _, err := releaseExecutablePages(); err != nil {
		fmt.Fprintf(log, "palisade: warning: release start-up pages: %v\n", err)
	}
	l.mem = newMemLimit()
	return l, nil
}

// connectEngine returns a resolver over every container engine discover
// finds on the host (rootful and rootless Docker, podman, containerd, CRI
// runtimes; DOCKER_HOST, CONTAINER_HOST and the like too), following their
// events. Detection never waits on an engine that is down: its containers
// keep ids with <NA> names.
func (l *Live) connectEngine(ctx context.Context, discover func() []container.Daemon) *container.Resolver {
	engines := discover()
	r := container.NewResolver(l.log, engines...)
	if len(engines) == 0 {
		fmt.Fprintf(l.log, "palisade: warning: no container engine socket found (Docker, podman, containerd, CRI): container names and images will be <NA>; detection continues\n")
	}
	// Inspect containers as they are created, so that one that runs and
	// is removed before its first record is read still has a name and an
	// image; engines started later are found by the same search.
	fctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	r.Start(fctx, discover)
	return r
}

// Running is how many processes were running when the source opened.
func (l *Live) Running() int { return l.table.Running() }

// DropCounts reads the kernel's per-CPU record and drop counters.
func (l *Live) DropCounts() (DropCounts, error) {
	events, drops, err := l.src.StatsPerCPU()
	if err != nil {
		return DropCounts{}, err
	}
	c := DropCounts{PerCPU: drops}
	for _, v := range events {
		c.Events += v
	}
	if shed, err := l.src.ShedCounts(); err == nil {
		for _, v := range shed {
			c.Shed += v
		}
	}
	for _, v := range drops {
		c.Drops += v
	}
	c.ProtectLeftOut = l.prot.Left()
	return c, nil
}

// Run applies each record to the state and emits the event it makes, in
// ring-buffer order, until ctx is done or the capture is closed.
func (l *Live) Run(ctx context.Context, emit func(*event.Event) error) error {
	var r ebpf.Record
	var ev event.Event
	var records uint64
	var lastCont *event.Container // its files are protected
	lastMem := time.Now()
	var failure error
	handle := func(r *ebpf.Record) error {
		if records++; records%4096 == 0 && time.Since(lastMem) > time.Second {
			l.mem.update()
			lastMem = time.Now()
		}
		if records%64 == 0 && l.prot.sweep() > 0 {
			// Containers gone: their ids may come back (a restart).
			lastCont = nil
		}
		applied := l.table.Apply(ctx, r, &ev)
		root := hostID
		if p := ev.Proc; p != nil && p.Container != nil && p.Container.ID != hostID && p.Container.ID != "" {
			root = p.Container.ID
			if p.Container != lastCont {
				// First sight of a container: protect its files by identity.
				done, fresh := l.prot.scanContainer(root, p, ev.Type == typeExecve || ev.Type == typeExecveat)
				if done {
					lastCont = p.Container
				}
				if fd := ev.FD; fresh && applied && fd != nil && fd.Ino != 0 && fd.Identity == "" {
					// This very record opened one of them.
					fd.Identity = l.prot.Identify(uint32(fd.Dev), fd.Ino)
				}
			}
		}
		if !applied {
			return nil
		}
		l.prot.Note(root, &ev)
		l.num++
		ev.Num = l.num
		if err := emit(&ev); err != nil {
			failure = err
			return err
		}
		return nil
	}
	for {
		err := l.src.ReadBatch(ctx, &r, handle)
		if failure != nil {
			return failure
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ebpf.ErrClosed) {
				return nil
			}
			return fmt.Errorf("capture: %w", err)
		}
	}
}

// Close stops the capture and the engine connection.
func (l *Live) Close() error {
	if l.stop != nil {
		l.stop()
	}
	if l.resolver != nil {
		l.resolver.Close()
	}
	return l.src.Close()
}

// memoryHeadroom is how much garbage the Go heap may hold on top of its
// live data before the collector runs.
const memoryHeadroom = 8 << 20

// memLimit keeps a soft limit on the agent's Go memory: what it held
// after start-up, plus the live heap, plus memoryHeadroom. Without it, a
// burst of events lets garbage grow the heap to twice its live size, and
// the resident memory stays there. The limit follows the live heap (the
// process table grows with the host), so the collector never runs more
// than once per memoryHeadroom allocated. GOMEMLIMIT in the environment
// takes precedence.
type memLimit struct {
	base    int64
	samples []metrics.Sample
	set     int64
}

func newMemLimit() *memLimit {
	if os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := &memLimit{base: int64(ms.Sys - ms.HeapReleased), samples: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	m.update()
	return m
}

// update moves the limit with the live heap; call it now and then.
func (m *memLimit) update() {
	if m == nil {
		return
	}
	metrics.Read(m.samples)
	var live int64
	if m.samples[0].Value.Kind() == metrics.KindUint64 {
		live = int64(m.samples[0].Value.Uint64())
	}
	limit := m.base + live + memoryHeadroom
	if d := limit - m.set; d > 1<<20 || d < -(1<<20) {
		debug.SetMemoryLimit(limit)
		m.set = limit
	}
}

// setNice sets the nice value of every thread of the agent (on Linux the
// nice value is per thread; threads started later inherit it from the
// thread that starts them).
func setNice(n int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, n); err != nil && !errors.Is(err, unix.ESRCH) {
			return err
		}
	}
	return nil
}
