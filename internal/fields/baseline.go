package fields

import "github.com/palisade-sec/palisade/internal/event"

// baselineKnown registers a baseline.*_known field: true when the event's
// item is in its workload's baseline, false when not, absent when the
// workload has no baseline (yet) or the event has no such item.
func baselineKnown(name, desc string, item event.BaselineItem) {
	boolI(name, desc, func(e *event.Event, _ int) (int64, bool) {
		if e.Baseline == nil {
			return 0, false
		}
		known, ok := e.Baseline.Known(item, e)
		if known {
			return 1, ok
		}
		return 0, ok
	})
}

func init() {
	boolI("baseline.exists", "true when the event's workload has a baseline (watch/replay --baselines; false while one is being learned); docs/drift.md", func(e *event.Event, _ int) (int64, bool) {
		if e.Baseline == nil {
			return 0, true
		}
		return 1, true
	})
	strI("baseline.name", "the file of the baseline bound to the event's workload", func(e *event.Event, _ int) (string, bool) {
		if e.Baseline == nil {
			return "", false
		}
		return e.Baseline.Name(), true
	})
	baselineKnown("baseline.exe_known", "the process's executable (and, for an exec, the path it was run by) is in the workload's baseline", event.BaselineExe)
	baselineKnown("baseline.syscall_known", "the event's syscall is in the workload's baseline (native arch)", event.BaselineSyscall)
	baselineKnown("baseline.file_known", "the event's file matches a path or glob the workload wrote while its baseline was made", event.BaselineFile)
	baselineKnown("baseline.dest_known", "the remote address and port of the event's socket is a destination in the baseline (address or CIDR, port or *)", event.BaselineDest)
	baselineKnown("baseline.port_known", "the local port of the event's socket is one the baseline listened on", event.BaselinePort)
}

func init() {
	strI("baseline.program", "the path an exec ran its program by, made absolute (a re-run of /proc/self/exe, as busybox's shell runs applets, is named by argv[0] beside the executable: /bin/wget); what baseline.exe_known compares with the baseline's programs", func(e *event.Event, _ int) (string, bool) {
		a, ok := e.ArgByName("filename")
		if !ok || e.Proc == nil {
			return "", false
		}
		p := event.ProgramPath(a.Str, e.Proc.ExePath, e.Proc.Exe, e.Proc.Cwd)
		return p, p != ""
	})
}
