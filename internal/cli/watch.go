package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/replay"
	"github.com/palisade-sec/palisade/internal/rules"
	"github.com/palisade-sec/palisade/internal/state"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

func newWatchCmd(s streams) *cobra.Command {
	var rf ruleFlags
	var format, record, out string
	var duration time.Duration
	var cpuprofile, memprofile string
	var ringMiB, nice int
	var listSyscalls bool
	var df outputs.Flags
	cmd := &cobra.Command{
		Use:   "watch [-r FILE]... [--builtin] [-o text|json] [--record EVENTS.jsonl] [--duration D]",
		Short: "Live detection: alerts from kernel events (needs root)",
		Long: `Capture syscall events with eBPF (tracepoints only), attach process, file and
container context, and evaluate the rules. Without -r the built-in rules load.
On exit (--duration, Ctrl-C or SIGTERM) one summary line goes to stderr; with
-o json it is {"events":N,"drops":N,"alerts":N}.`,
		Example: `  sudo palisade watch
  sudo palisade watch -r ../shared/falco-rules/falco_rules.yaml -o json
  sudo palisade watch --duration 1m --record session.jsonl && palisade replay session.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			rs, _, err := rf.load()
			if err != nil {
				return err
			}
			if listSyscalls {
				return writeCaptureSet(s.out, format, rs)
			}
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			w := s.out
			if out != "" && out != "-" {
				f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
				if err != nil {
					return exitf(1, "open alert file: %v", err)
				}
				defer f.Close()
				w = f
			}
			cfg, err := df.Config(cmd.Flags())
			if err != nil {
				return exitf(2, "%v", err)
			}
			if cmd.Flags().Changed("output") || cfg.Outputs.Terminal.Format == "" {
				cfg.Outputs.Terminal.Format = format
			}
			if cpuprofile != "" {
				f, err := os.Create(cpuprofile)
				if err != nil {
					return exitf(1, "cpu profile: %v", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return exitf(1, "cpu profile: %v", err)
				}
				defer pprof.StopCPUProfile()
			}
			if memprofile != "" {
				defer func() {
					if f, err := os.Create(memprofile); err == nil {
						pprof.Lookup("heap").WriteTo(f, 0)
						f.Close()
					}
				}()
			}
			if ringMiB < 1 || ringMiB > 1024 || ringMiB&(ringMiB-1) != 0 {
				return exitf(2, "--ring-buffer %d: want a power of two between 1 and 1024 (MiB)", ringMiB)
			}
			if nice < -20 || nice > 19 {
				return exitf(2, "--nice %d: want a nice value between -20 and 19", nice)
			}
			return runWatch(ctx, s, rs, watchOptions{format: format, record: record, out: w, delivery: cfg, ringBytes: ringMiB << 20, nice: nice})
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVarP(&format, "output", "o", "text", "alert format: text or json (Falco's JSON, one per line)")
	cmd.Flags().StringVar(&out, "out", "", "append alerts to this file instead of stdout")
	cmd.Flags().StringVar(&record, "record", "", "also write every event the rules can match to this JSONL file (replay it with palisade replay); when a rule reads proc.env it holds environments, which may hold secrets")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (default: until Ctrl-C)")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a Go CPU profile of the agent to this file")
	cmd.Flags().IntVar(&ringMiB, "ring-buffer", 2, "kernel ring buffer size in MiB (a power of two): larger absorbs longer bursts, smaller uses less memory (it is mapped twice)")
	cmd.Flags().BoolVar(&listSyscalls, "list-syscalls", false, "print the syscalls the rules make watch capture, and why (the rules, or the process and fd tables), then exit; no root needed")
	cmd.Flags().IntVar(&nice, "nice", -10, "scheduling priority (nice value) of the agent's threads: an agent not scheduled in time drops events when the host's CPUs are busy; 0 keeps the inherited priority")
	df.Register(cmd.Flags())
	cmd.Flags().MarkHidden("cpuprofile")
	cmd.Flags().StringVar(&memprofile, "memprofile", "", "write a Go heap profile of the agent to this file on exit")
	cmd.Flags().MarkHidden("memprofile")
	return cmd
}

type watchOptions struct {
	format    string
	record    string
	out       io.Writer
	delivery  outputs.Config
	ringBytes int
	nice      int
}

type watchStats struct {
	Events uint64 `json:"events"`
	Drops  uint64 `json:"drops"`
	Alerts uint64 `json:"alerts"`
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

// stateSyscalls are captured whatever the rules need: they keep the
// process and fd tables true. Every call that creates, closes or marks a
// descriptor close-on-exec is here (fcntl's F_DUPFD and F_SETFD,
// close_range), or a later event could name a descriptor's old file or
// give a pipe or an eventfd no type.
var stateSyscalls = []string{"execve", "execveat", "clone", "clone3", "fork", "vfork", "open", "openat", "openat2", "creat",
	"open_by_handle_at", "open_tree", "memfd_create", "close", "close_range", "dup", "dup2", "dup3", "fcntl",
	"socket", "socketpair", "connect", "accept", "accept4", "bind", "chdir", "fchdir",
	"pipe", "pipe2", "eventfd", "eventfd2", "epoll_create", "epoll_create1", "timerfd_create", "signalfd", "signalfd4",
	"inotify_init", "inotify_init1", "userfaultfd", "pidfd_open", "pidfd_getfd", "io_uring_setup"}

// dropWarner says, at most once per every, how many events the kernel
// dropped since it last said so: drops are counted in the metrics and the
// exit summary, and an operator watching the agent's log sees them too.
type dropWarner struct {
	every  time.Duration
	last   time.Time // when it last warned
	warned uint64    // the total it last warned about
}

// note takes the total drops so far and returns a warning when there are
// new ones and the last warning is at least every old.
func (w *dropWarner) note(now time.Time, total uint64) (string, bool) {
	if total <= w.warned || (!w.last.IsZero() && now.Sub(w.last) < w.every) {
		return "", false
	}
	since := "since start"
	if !w.last.IsZero() {
		since = fmt.Sprintf("in the last %s", now.Sub(w.last).Round(time.Second))
	}
	msg := fmt.Sprintf("palisade: warning: %d events dropped %s (%d in all): the kernel's ring buffer was full; a larger --ring-buffer or a higher priority (--nice) helps",
		total-w.warned, since, total)
	w.last, w.warned = now, total
	return msg, true
}

// captureEntry is one line of watch --list-syscalls.
type captureEntry struct {
	Name  string `json:"name"`
	Nr    int    `json:"nr"`
	Rules bool   `json:"rules"` // a rule's event types name it (or a rule matches every type)
	State bool   `json:"state"` // the process and fd tables need it
}

// writeCaptureSet prints what captureSet selects for rs, and the rules'
// event types that are not syscalls the capture can select.
func writeCaptureSet(w io.Writer, format string, rs *rules.Ruleset) error {
	names, all := rs.EventTypes()
	arch := syscalls.Native()
	inRules, state := map[string]bool{}, map[string]bool{}
	var other []string
	for _, n := range names {
		if _, ok := syscalls.Number(arch, n); ok {
			inRules[n] = true
		} else {
			other = append(other, n)
		}
	}
	for _, n := range stateSyscalls {
		state[n] = true
	}
	var list []captureEntry
	for _, nr := range captureSet(rs) {
		n, _ := syscalls.Name(arch, nr)
		list = append(list, captureEntry{Name: n, Nr: nr, Rules: all || inRules[n], State: state[n]})
	}
	if format == "json" {
		return json.NewEncoder(w).Encode(struct {
			Arch        string         `json:"arch"`
			AllTypes    bool           `json:"all_types"`
			Syscalls    []captureEntry `json:"syscalls"`
			NotSyscalls []string       `json:"not_syscalls"`
		}{arch, all, list, append([]string{}, other...)})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SYSCALL	NR	WHY")
	for _, e := range list {
		var why []string
		if e.Rules {
			why = append(why, "rules")
		}
		if e.State {
			why = append(why, "state")
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", e.Name, e.Nr, strings.Join(why, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d syscalls captured on %s (each also in the i386 and x32 ABIs, and i386 socketcall for the socket calls)", len(list), arch)
	if all {
		fmt.Fprint(w, "; a rule matches every event type, so every syscall Palisade decodes is captured")
	}
	fmt.Fprintln(w)
	if len(other) > 0 {
		fmt.Fprintf(w, "event types in the rules that are not syscalls here: %s\n", strings.Join(other, ", "))
	}
	return nil
}

// captureSet maps the rules' event types, plus stateSyscalls, to native
// syscall numbers; when a rule matches every type, it is every syscall the
// source decodes.
func captureSet(rs *rules.Ruleset) []int {
	names, all := rs.EventTypes()
	if all {
		return ebpf.DefaultSyscalls()
	}
	arch := syscalls.Native()
	seen := map[int]bool{}
	var out []int
	for _, n := range append(names, stateSyscalls...) {
		if nr, ok := syscalls.Number(arch, n); ok && !seen[nr] {
			seen[nr] = true
			out = append(out, nr)
		}
	}
	sort.Ints(out)
	return out
}

func runWatch(ctx context.Context, s streams, rs *rules.Ruleset, o watchOptions) error {
	nrs := captureSet(rs)
	// Lean headers: syscall records skip the namespace ids and cgroup id,
	// which the process table already has from exec and fork records.
	// Environments are collected only for rules that read them: they hold
	// secrets, and --record would write them to disk.
	src, err := ebpf.Open(ebpf.Options{Syscalls: nrs, IgnoreSelf: true, LeanHeader: true, RingBufferBytes: o.ringBytes,
		Env: rs.UsesField("proc.env")})
	if err != nil {
		return exitf(1, "start capture: %v", err)
	}
	defer src.Close()
	if o.nice != 0 {
		if err := setNice(o.nice); err != nil {
			fmt.Fprintf(s.err, "palisade: warning: --nice %d: %v; the agent keeps its priority and may drop events on a busy host\n", o.nice, err)
		}
	}

	host, _ := os.Hostname()
	var resolver *container.Resolver
	if d, err := container.NewDocker(); err == nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		perr := d.Ping(pctx)
		cancel()
		if perr != nil {
			fmt.Fprintf(s.err, "palisade: warning: Docker Engine API not reachable (%v): container names and images will be <NA>; detection continues\n", perr)
			resolver = container.NewResolver(nil)
		} else {
			resolver = container.NewResolver(d)
			defer d.Close()
			// Inspect containers as they are created, so that one that
			// runs and is removed before its first record is read still
			// has a name and an image.
			fctx, stop := context.WithCancel(ctx)
			defer stop()
			go resolver.Follow(fctx, d)
		}
	}
	// Lazy: a process is read from /proc on its first record, so start-up
	// time and memory follow the processes that do something.
	table := state.New(state.Options{Resolver: resolver, Hostname: host, Interested: rs.Interested, Lazy: true})
	err = table.Bootstrap(ctx) // lazy: counts the processes only
	// Start-up garbage goes back to the OS before the memory limit is
	// based on what the agent holds.
	debug.FreeOSMemory()
	if err != nil {
		return exitf(1, "read /proc: %v", err)
	}
	// Likewise the code pages only start-up ran (every package's
	// initialisers): those the agent uses come back on first touch.
	if _, err := releaseExecutablePages(); err != nil {
		fmt.Fprintf(s.err, "palisade: warning: release start-up pages: %v\n", err)
	}
	mem := newMemLimit()

	var rec *replay.Writer
	var recFile *os.File
	if o.record != "" {
		recFile, err = os.OpenFile(o.record, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return exitf(1, "open record file: %v", err)
		}
		defer recFile.Close()
		rec = replay.NewWriter(recFile)
	}
	pipe, err := outputs.FromConfig(ctx, o.delivery, outputs.Env{Stdout: o.out, Stderr: s.err})
	if err != nil {
		return exitf(1, "alert delivery: %v", err)
	}
	pipeClosed := false
	closePipe := func() error {
		if pipeClosed {
			return nil
		}
		pipeClosed = true
		return pipe.Close(5 * time.Second)
	}
	defer closePipe()
	fmt.Fprintf(s.err, "palisade: watching: %d rules enabled, %d syscalls captured, %d processes running\n", rs.Counts().EnabledRules, len(nrs), table.Running())

	var st watchStats
	var r ebpf.Record
	var ev event.Event
	matches := make([]rules.Match, 0, 8)
	lastStats := time.Now()
	var reportedDrops, records uint64
	// pollDrops moves the drop metric up to the kernel's count.
	pollDrops := func() {
		if _, drops, err := src.Stats(); err == nil && drops > reportedDrops {
			pipe.Metrics.EventsDropped.Add(drops - reportedDrops)
			reportedDrops = drops
		}
	}
	warn := dropWarner{every: 10 * time.Second}
	// handle applies one record to the state and evaluates the event.
	var failure error
	handle := func(r *ebpf.Record) error {
		if records++; records%4096 == 0 && time.Since(lastStats) > time.Second {
			pollDrops()
			if msg, ok := warn.note(time.Now(), reportedDrops); ok {
				fmt.Fprintln(s.err, msg)
			}
			mem.update()
			lastStats = time.Now()
		}
		if !table.Apply(ctx, r, &ev) {
			return nil
		}
		st.Events++
		pipe.Metrics.Events.Inc()
		ev.Num = st.Events
		if rec != nil && rs.Interested(ev.Type) {
			if err := rec.Write(&ev); err != nil {
				failure = fmt.Errorf("record: %w", err)
				return failure
			}
		}
		matches = rs.Eval(&ev, matches[:0])
		for _, m := range matches {
			st.Alerts++
			pipe.Send(rs.Alert(m, &ev))
		}
		return nil
	}
	for {
		err := src.ReadBatch(ctx, &r, handle)
		if failure != nil {
			return exitf(1, "%v", failure)
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ebpf.ErrClosed) {
				break
			}
			return exitf(1, "capture: %v", err)
		}
	}
	if err := closePipe(); err != nil {
		fmt.Fprintf(s.err, "palisade: warning: alert delivery: %v\n", err)
	}
	if rec != nil {
		if err := rec.Flush(); err != nil {
			return exitf(1, "record: %v", err)
		}
	}
	pollDrops()
	st.Drops = reportedDrops
	if o.format == "json" {
		b, _ := json.Marshal(st)
		fmt.Fprintln(s.err, string(b))
	} else {
		fmt.Fprintf(s.err, "palisade: watch: %d events, %d drops, %d alerts\n", st.Events, st.Drops, st.Alerts)
	}
	return nil
}
