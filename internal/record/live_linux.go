package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Options say what Live records.
type Options struct {
	// Command is launched as a child of the recorder (argv; Command[0] is
	// looked up in PATH). Exactly one of Command and ContainerID is set.
	Command        []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	ContainerID    string // full or 12-digit id
	ContainerName  string // for the Source only
	// Duration ends recording early (0: until the workload exits, or for a
	// container until ctx is done or the container stops).
	Duration time.Duration
	// Progress, when set, gets a one-line status every second.
	Progress io.Writer
	// Ready, when set, is called once capture is running and the workload
	// is launched or found (a test can start driving the workload then).
	Ready func()
}

// Result is a finished recording plus how it ended.
type Result struct {
	Recording *Recording
	// ExitCode is the command's exit status (128+N for signal N), -1 when
	// it was still running at the end or for a container.
	ExitCode int
}

// AllSyscalls is every native syscall number with a name on the capture's
// arch: a
// whitelist needs every call the workload makes, not just the ones the
// event source decodes (the others come with raw arguments).
func AllSyscalls() []int {
	var out []int
	for nr := range 512 {
		if _, ok := syscalls.Name(nativeArch, nr); ok {
			out = append(out, nr)
		}
	}
	return out
}

// Live records a workload: it opens the kernel source (capture is running
// before the command is started, so its first calls are seen), launches
// or finds the workload, and returns when it exits, Duration passes or ctx
// is cancelled (the command is then sent SIGTERM, and SIGKILL 2 s later).
func Live(ctx context.Context, opts Options) (*Result, error) {
	if (len(opts.Command) == 0) == (opts.ContainerID == "") {
		return nil, errors.New("record: give a command or a container, not both or neither")
	}
	// Capability checks need Linux 6.15+; without them the recording says
	// its capability set is partial.
	srcOpts := ebpf.Options{Syscalls: AllSyscalls(), IgnoreSelf: true, RingBufferBytes: 64 << 20, Capabilities: true}
	src, err := ebpf.Open(srcOpts)
	if errors.Is(err, ebpf.ErrNoCapTracepoint) {
		srcOpts.Capabilities = false
		src, err = ebpf.Open(srcOpts)
	}
	if err != nil {
		return nil, fmt.Errorf("open kernel event source: %w", err)
	}
	defer src.Close()
	_, drops0, _ := src.Stats()

	src0 := Source{Start: time.Now().UTC().Format(time.RFC3339Nano), Kernel: kernelRelease()}
	var follow *Follower
	var cmd *exec.Cmd
	if opts.ContainerID != "" {
		pids, err := containerPids(opts.ContainerID)
		if err != nil {
			return nil, err
		}
		follow = FollowContainer(opts.ContainerID, pids...)
		src0.Container = opts.ContainerID
		if opts.ContainerName != "" {
			src0.Container = opts.ContainerName + " (" + opts.ContainerID + ")"
		}
	} else {
		src0.Command = opts.Command
		cmd = exec.Command(opts.Command[0], opts.Command[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", opts.Command[0], err)
		}
		follow = FollowChild(uint32(cmd.Process.Pid))
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(runCtx, opts.Duration)
		defer cancel()
	}
	exited := make(chan struct{})
	exitCode := -1
	if cmd != nil {
		go func() {
			_ = cmd.Wait()
			exitCode = waitCode(cmd.ProcessState)
			close(exited)
		}()
	}

	if opts.Ready != nil {
		opts.Ready()
	}
	b := NewBuilder()
	if srcOpts.Capabilities {
		b.CapsCollected(CapSource)
	}
	var calls, procs atomic.Uint64
	if opts.Progress != nil {
		go progress(runCtx, opts.Progress, src, &calls, &procs, drops0)
	}
	ended := "exited"
	readCtx, cancelRead := context.WithCancel(context.Background())
	defer cancelRead()
	go func() {
		select {
		case <-runCtx.Done():
		case <-exited:
			// The ring holds records in the order they were written: once
			// the tree's exit records are read, nothing of it is left. A
			// grace period covers a command that never got to run.
			select {
			case <-runCtx.Done():
			case <-time.After(2 * time.Second):
			}
		}
		cancelRead()
	}()
	var r ebpf.Record
	for {
		err := src.ReadInto(readCtx, &r)
		if err != nil {
			if readCtx.Err() != nil {
				break
			}
			return nil, fmt.Errorf("read kernel events: %w", err)
		}
		if follow.Follow(&r) {
			b.Add(&r)
			n, _ := b.Calls()
			calls.Store(n)
			procs.Store(uint64(follow.Seen()))
		}
		if follow.Live() == 0 { // the whole tree (or every process of the container) exited
			if cmd != nil {
				select {
				case <-exited:
				case <-time.After(2 * time.Second): // the exit record came before wait returned
				}
			} else {
				close(exited)
			}
			break
		}
	}
	if isDone(exited) {
		ended = "exited"
	} else if ctx.Err() != nil {
		ended = "interrupted"
	} else if runCtx.Err() != nil {
		ended = "duration"
	}
	if cmd != nil && !isDone(exited) {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	rec := b.Recording()
	_, drops1, _ := src.Stats()
	rec.Lost = drops1 - drops0
	src0.End, src0.Ended = time.Now().UTC().Format(time.RFC3339Nano), ended
	if cmd != nil {
		code := exitCode
		src0.ExitCode = &code
	}
	rec.Sources = []Source{src0}
	rec.normalize()
	if opts.Progress != nil {
		fmt.Fprintln(opts.Progress)
	}
	return &Result{Recording: rec, ExitCode: exitCode}, nil
}

func isDone(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func waitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func progress(ctx context.Context, w io.Writer, src *ebpf.Source, calls, procs *atomic.Uint64, drops0 uint64) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, drops, _ := src.Stats()
			fmt.Fprintf(w, "\rrecording %s: %d processes, %d syscalls, %d records lost ", time.Since(start).Round(time.Second), procs.Load(), calls.Load(), drops-drops0)
		}
	}
}

func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// containerPids lists the processes now in container id's cgroup.
func containerPids(id string) ([]uint32, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []uint32
	for _, e := range ents {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		if err != nil {
			continue
		}
		if cid, _, ok := container.IDFromProcCgroup(string(data)); ok && sameContainer(cid, id) {
			pids = append(pids, uint32(pid))
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("container %s: no process of it is running", id)
	}
	return pids, nil
}
