package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/baseline"
	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/detect"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/replay"
	"github.com/palisade-sec/palisade/internal/respond"
	"github.com/palisade-sec/palisade/internal/rules"
	"github.com/palisade-sec/palisade/internal/syscalls"
)

func newWatchCmd(s streams) *cobra.Command {
	var rf ruleFlags
	var format, record, out string
	var duration time.Duration
	var cpuprofile, memprofile string
	var ringMiB, nice int
	var listSyscalls bool
	var hostname string
	var criSockets []string
	var dryRun bool
	var df outputs.Flags
	var bf baselineFlags
	cmd := &cobra.Command{
		Use:   "watch [-r FILE]... [--builtin] [-o text|json] [--record SESSION.rec] [--duration D]",
		Short: "Live detection: alerts from kernel events (needs root)",
		Long: `Capture syscall events with eBPF (tracepoints only), attach process, file and
container context, and evaluate the rules. Without -r the built-in rules load.
On exit (--duration, Ctrl-C or SIGTERM) one summary line goes to stderr; with
-o json it is {"events":N,"drops":N,"alerts":N}.`,
		Example: `  sudo palisade watch
  sudo palisade watch -r /etc/falco/falco_rules.yaml -o json
  sudo palisade watch --duration 1m --record session.rec && palisade replay session.rec`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			cfg, err := df.ConfigContext(cmd.Context(), cmd.Flags())
			if err != nil {
				return inputError(err)
			}
			rf.appendFrom(cfg)
			rf.drift = bf.enabled()
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
					return exitf(3, "open alert file: %v", err)
				}
				defer f.Close()
				w = f
			}
			if cmd.Flags().Changed("output") || cfg.Outputs.Terminal.Format == "" {
				cfg.Outputs.Terminal.Format = format
			}
			if cpuprofile != "" {
				f, err := os.Create(cpuprofile)
				if err != nil {
					return exitf(3, "cpu profile: %v", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return exitf(3, "cpu profile: %v", err)
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
			if hostname == "" {
				if hostname, err = os.Hostname(); err != nil {
					return exitf(2, "--hostname not given and the host's name is unreadable: %v", err)
				}
			}
			set, err := bf.open(cmd.Context(), s.err)
			if err != nil {
				return err
			}
			if dryRun {
				cfg.Responses.DryRun = true
			}
			return runWatch(ctx, s, rs, watchOptions{format: format, record: record, out: w, delivery: cfg, ringBytes: ringMiB << 20, nice: nice, hostname: hostname, baselines: set, criSockets: criSockets})
		},
	}
	rf.register(cmd)
	bf.register(cmd, true)
	cmd.Flags().StringVarP(&format, "output", "o", "text", "alert format: text or json (Falco's JSON, one per line)")
	cmd.Flags().StringSliceVar(&criSockets, "cri-socket", nil, "a Kubernetes CRI endpoint (path or unix:// address) to ask for pod and container names, besides those found (CRI-O's and containerd's sockets, $CONTAINER_RUNTIME_ENDPOINT); repeatable")
	cmd.Flags().StringVar(&hostname, "hostname", "", "this agent's name in every alert and heartbeat, for a fleet store's --host filter (default: the host's name)")
	cmd.Flags().StringVar(&out, "out", "", "append alerts to this file instead of stdout")
	cmd.Flags().StringVar(&record, "record", "", "also write every event the rules can match to this file, in Palisade's compact binary recording format (replay it with palisade replay; palisade replay --export-jsonl turns it into JSON lines); when a rule reads proc.env it holds environments, which may hold secrets")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (default: until Ctrl-C)")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a Go CPU profile of the agent to this file")
	cmd.Flags().IntVar(&ringMiB, "ring-buffer", 2, "kernel ring buffer size in MiB (a power of two): larger absorbs longer bursts, smaller uses less memory (it is mapped twice)")
	cmd.Flags().BoolVar(&listSyscalls, "list-syscalls", false, "print the syscalls the rules make watch capture, and why (the rules, or the process and fd tables), then exit; no root needed")
	cmd.Flags().IntVar(&nice, "nice", -10, "scheduling priority (nice value) of the agent's threads: an agent not scheduled in time drops events when the host's CPUs are busy; 0 keeps the inherited priority")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "responses (the config file's responses section, docs/respond.md) only log what they would do and change nothing")
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
	hostname  string // the agent's identity in alerts and heartbeats
	baselines *baseline.Set
	// criSockets are CRI endpoints to ask besides those found.
	criSockets []string
}

// captureEntry is one line of watch --list-syscalls.
type captureEntry struct {
	Name  string `json:"name"`
	Nr    int    `json:"nr"`
	Rules bool   `json:"rules"` // a rule's event types name it (or a rule matches every type)
	State bool   `json:"state"` // the process and fd tables need it
}

// writeCaptureSet prints the syscalls the capture selects for rs and why
// (syscalls.CaptureSet), and the rules' event types that are not syscalls
// the capture can select.
func writeCaptureSet(w io.Writer, format string, rs *rules.Ruleset) error {
	names, all := rs.EventTypes()
	arch := syscalls.Native()
	set, other := syscalls.CaptureSet(arch, names, all)
	list := make([]captureEntry, len(set))
	for i, c := range set {
		list[i] = captureEntry{Name: c.Name, Nr: c.Nr, Rules: c.Rules, State: c.State}
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

func runWatch(ctx context.Context, s streams, rs *rules.Ruleset, o watchOptions) error {
	types, all := rs.EventTypes()
	set, _ := syscalls.CaptureSet(syscalls.Native(), types, all)
	nrs := syscalls.Numbers(set)
	lo := detect.LiveOptions{Rules: rs, Syscalls: nrs, Shed: detect.ShedSet(set), RingBytes: o.ringBytes, Nice: o.nice, Log: s.err, CRISockets: o.criSockets}
	// Capability checks only when a rule names them (the capability drift
	// rule, loaded with --baselines/--learn): every check in the system
	// is a record, and no rule matching every type asks for them.
	lo.Capabilities = slices.Contains(types, "cap_capable")
	// A kill is only as early as the agent reads the event: with a kill
	// response the ring is read every millisecond (responses.read_every)
	// instead of every 10 (BENCHMARKS.md).
	lo.Latency = o.delivery.Responses.Latency()
	src, err := detect.OpenLive(ctx, lo)
	if err != nil {
		return exitf(3, "%v", err)
	}
	defer src.Close()

	var rec *replay.Writer
	if o.record != "" {
		f, err := os.OpenFile(o.record, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return exitf(3, "open record file: %v", err)
		}
		defer f.Close()
		rec = replay.NewWriter(f)
	}
	pipe, err := outputs.FromConfig(ctx, o.delivery, outputs.Env{Stdout: o.out, Stderr: s.err,
		Hostname: o.hostname, Version: Version, RulesLoaded: rs.Counts().EnabledRules})
	if err != nil {
		return exitf(3, "alert delivery: %v", err)
	}
	var resp *respond.Responder
	if rc := o.delivery.Responses; len(rc.Actions) > 0 {
		resp, err = respond.New(rc, respond.Options{Guard: respond.SelfGuard(rc.AllowHost), Log: s.err, Engines: container.Discover})
		if err != nil {
			pipe.Close(time.Second)
			return exitf(2, "responses: %v", err)
		}
		mode := ""
		if rc.DryRun {
			mode = " (dry run: nothing will be changed)"
		}
		fmt.Fprintf(s.err, "palisade: responses: %d actions configured%s\n", len(rc.Actions), mode)
	}
	var deny *respond.DenyList
	if rc := o.delivery.Responses; len(rc.DenyExec) > 0 {
		deny, err = respond.StartDenyList(rc.DenyExec, rc.DryRun, respond.SelfGuard(rc.AllowHost), pipe.Send, s.err, o.hostname)
		if err != nil {
			if resp != nil {
				resp.Close(time.Second)
			}
			pipe.Close(time.Second)
			return exitf(2, "%v", err)
		}
	}
	fmt.Fprintf(s.err, "palisade: watching: %d rules enabled, %d syscalls captured, %d processes running\n", rs.Counts().EnabledRules, len(nrs), src.Running())
	opts := detect.Options{Rules: rs, Pipeline: pipe, Log: s.err, DropAlerts: true, Hostname: o.hostname, Baselines: detectBaselines(o.baselines)}
	if rec != nil {
		opts.Record = rec
	}
	if resp != nil {
		opts.Respond = resp
	}
	st, err := detect.Run(ctx, src, opts)
	if resp != nil {
		resp.Close(5 * time.Second)
	}
	if deny != nil {
		deny.Close()
	}
	if cerr := pipe.Close(5 * time.Second); cerr != nil {
		fmt.Fprintf(s.err, "palisade: warning: alert delivery: %v\n", cerr)
	}
	if err != nil {
		return exitf(3, "%v", err)
	}
	writeSummary(s.err, o.format, "watch", st, true)
	driftSummary(s.err, o.baselines)
	return nil
}

// writeSummary prints the exit summary of a detection run to w: JSON
// ({"events":N,"drops":N,"alerts":N}; drops only when the source can drop)
// or one text line.
func writeSummary(w io.Writer, format, cmd string, st detect.Stats, drops bool) {
	if format == "json" {
		if drops {
			b, _ := json.Marshal(st)
			fmt.Fprintln(w, string(b))
		} else {
			fmt.Fprintf(w, "{\"events\":%d,\"alerts\":%d}\n", st.Events, st.Alerts)
		}
		return
	}
	switch {
	case drops && st.Shed > 0:
		fmt.Fprintf(w, "palisade: %s: %d events, %d drops, %d shed, %d alerts\n", cmd, st.Events, st.Drops, st.Shed, st.Alerts)
	case drops:
		fmt.Fprintf(w, "palisade: %s: %d events, %d drops, %d alerts\n", cmd, st.Events, st.Drops, st.Alerts)
	default:
		fmt.Fprintf(w, "palisade: %s: %d events, %d alerts\n", cmd, st.Events, st.Alerts)
	}
}
