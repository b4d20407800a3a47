package fields

import "github.com/palisade-sec/palisade/internal/event"

// baselineKnown registers a baseline.*_known field: true when the event's
// item is in its workload's baseline, false when not, absent when the
// workload has no baseline (yet) or the event is not one the field is
// about (applies): a drift rule is then one check on most events.
func baselineKnown(name, desc string, item event.BaselineItem, applies func(e *event.Event) bool) {
	boolI(name, desc, func(e *event.Event, _ int) (int64, bool) {
		if e.Baseline == nil || !applies(e) {
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
	baselineKnown("baseline.exe_known", "for a successful exec: its executable and the path it was run by (baseline.program) are in the workload's baseline", event.BaselineExe, isExecDone)
	baselineKnown("baseline.syscall_known", "for any syscall exit: the syscall is in the workload's baseline (native arch)", event.BaselineSyscall, func(e *event.Event) bool { return e.Dir == event.DirExit })
	baselineKnown("baseline.file_known", "for a successful open of a file for writing (or creat): its path matches a path or glob the workload's baseline wrote", event.BaselineFile, isWriteOpenDone)
	baselineKnown("baseline.dest_known", "for a connect of an IP socket, done or in progress, to an address and port: they match a baseline destination (address or CIDR, port or *)", event.BaselineDest, isConnectOut)
	baselineKnown("baseline.port_known", "for a successful listen on an IP socket: its local port is one the baseline listened on", event.BaselinePort, isListenDone)
	baselineKnown("baseline.cap_known", "for a capability check (evt.type cap_capable, watched when a rule names it): the capability (evt.arg.cap) is one the workload's baseline needed", event.BaselineCap, isCapCheck)
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

var (
	tExecve, tExecveat = event.TypeOf("execve"), event.TypeOf("execveat")
	tConnect, tListen  = event.TypeOf("connect"), event.TypeOf("listen")
	tCapCapable        = event.TypeOf("cap_capable")
)

func isCapCheck(e *event.Event) bool {
	if e.Type != tCapCapable {
		return false
	}
	_, ok := e.ArgByName("cap")
	return ok
}

const errInProgress = -115 // EINPROGRESS

func isExecDone(e *event.Event) bool {
	return (e.Type == tExecve || e.Type == tExecveat) && e.Dir == event.DirExit && e.HasRes && e.Res == 0 && e.Proc != nil
}

func isWriteOpenDone(e *event.Event) bool {
	if !isOpen(e) || e.Dir != event.DirExit || e.Failed() || e.FD == nil || e.FD.Type != event.FDFile || e.FD.Num < 0 {
		return false
	}
	f, ok := openFlags(e)
	return ok && (f&oAccMode == oWronly || f&oAccMode == oRdwr)
}

func isConnectOut(e *event.Event) bool {
	if e.Type != tConnect || e.Dir != event.DirExit || (e.Res < 0 && e.Res != errInProgress) || e.FD == nil || !e.FD.IsIP() {
		return false
	}
	ip := e.FD.RemoteIP()
	return ip.IsValid() && !ip.IsUnspecified() && e.FD.RemotePort() != 0
}

func isListenDone(e *event.Event) bool {
	return e.Type == tListen && e.Dir == event.DirExit && e.Res == 0 && e.FD != nil && e.FD.IsIP()
}
