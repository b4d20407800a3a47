package fields

import (
	"strconv"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/event"
)

// Linux open(2) flag bits (identical on x86_64 and arm64 for these).
const (
	oAccMode = 0x3
	oWronly  = 0x1
	oRdwr    = 0x2
	oCreat   = 0x40
)

func isOpen(e *event.Event) bool {
	switch e.Type {
	case tOpen, tOpenat, tOpenat2, tCreat, tOpenByHandleAt:
		return true
	}
	return false
}

var (
	tOpen           = event.TypeOf("open")
	tOpenat         = event.TypeOf("openat")
	tOpenat2        = event.TypeOf("openat2")
	tCreat          = event.TypeOf("creat")
	tOpenByHandleAt = event.TypeOf("open_by_handle_at")
)

func openFlags(e *event.Event) (int64, bool) {
	if e.Type == tCreat {
		return oCreat | oWronly, true
	}
	if a, ok := e.ArgByName("flags"); ok && a.HasInt {
		return a.Int, true
	}
	return 0, false
}

func init() {
	num("evt.num", "event sequence number", func(e *event.Event) (int64, bool) { return int64(e.Num), true })
	num("evt.rawtime", "event time, Unix nanoseconds", func(e *event.Event) (int64, bool) { return e.Time, true })
	num("evt.rawtime.s", "event time, integer Unix seconds", func(e *event.Event) (int64, bool) { return e.Time / 1e9, true })
	num("evt.rawtime.ns", "nanoseconds part of the event time", func(e *event.Event) (int64, bool) { return e.Time % 1e9, true })
	str("evt.time", "event time as HH:MM:SS.nnnnnnnnn (UTC)", func(e *event.Event) (string, bool) {
		return time.Unix(0, e.Time).UTC().Format("15:04:05.000000000"), true
	})
	str("evt.time.s", "event time as HH:MM:SS (UTC)", func(e *event.Event) (string, bool) {
		return time.Unix(0, e.Time).UTC().Format("15:04:05"), true
	})
	str("evt.time.iso8601", "event time in ISO 8601 (UTC)", func(e *event.Event) (string, bool) {
		return time.Unix(0, e.Time).UTC().Format("2006-01-02T15:04:05.000000000Z"), true
	})
	str("evt.datetime", "event date and time (UTC)", func(e *event.Event) (string, bool) {
		return time.Unix(0, e.Time).UTC().Format("2006-01-02 15:04:05.000000000"), true
	})
	str("evt.type", "event type: the syscall name (openat, execve, ...) or procexit", func(e *event.Event) (string, bool) {
		return e.Type.String(), true
	})
	str("evt.dir", "event direction: > for enter, < for exit", func(e *event.Event) (string, bool) {
		if e.Dir == event.DirEnter {
			return ">", true
		}
		return "<", true
	})
	num("evt.cpu", "CPU the event happened on", func(e *event.Event) (int64, bool) { return int64(e.CPU), true })
	str("evt.hostname", "host name of the machine", func(e *event.Event) (string, bool) { return e.Hostname, e.Hostname != "" })
	str("evt.source", "event source (syscall)", func(*event.Event) (string, bool) { return event.SourceSyscall, true })
	str("evt.pluginname", "plugin that produced the event (none for syscalls)", func(*event.Event) (string, bool) { return "", false })
	str("evt.args", "all arguments as name=value pairs", func(e *event.Event) (string, bool) {
		if len(e.Args) == 0 {
			return "", true
		}
		var b strings.Builder
		for i, a := range e.Args {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(a.Name)
			b.WriteByte('=')
			b.WriteString(a.Str)
		}
		return b.String(), true
	})
	str("evt.res", "result: SUCCESS, or the errno name (ENOENT, EACCES, ...) when the syscall failed", func(e *event.Event) (string, bool) {
		if !e.HasRes {
			return "", false
		}
		if e.Res < 0 {
			return ErrnoName(-e.Res), true
		}
		return "SUCCESS", true
	})
	num("evt.rawres", "raw return value (negative errno on failure)", func(e *event.Event) (int64, bool) { return e.Res, e.HasRes })
	boolean("evt.is_io_uring", "true if the event stands for an io_uring request, not a syscall: an open (openat), connect, accept (accept4), or a read or write of a protected file; Palisade's own field", func(e *event.Event) (bool, bool) { return e.IOUring, true })
	boolean("evt.failed", "true if the syscall returned an error", func(e *event.Event) (bool, bool) { return e.Failed(), e.HasRes })
	boolI("evt.is_open_read", "true for opens of a file for reading", func(e *event.Event, _ int) (int64, bool) {
		if !isOpen(e) {
			return 0, true
		}
		if f, ok := openFlags(e); ok && (f&oAccMode == 0 || f&oAccMode == oRdwr) {
			return 1, true
		}
		return 0, true
	})
	boolI("evt.is_open_write", "true for opens of a file for writing", func(e *event.Event, _ int) (int64, bool) {
		if !isOpen(e) {
			return 0, true
		}
		if f, ok := openFlags(e); ok && (f&oAccMode == oWronly || f&oAccMode == oRdwr) {
			return 1, true
		}
		return 0, true
	})
	boolean("evt.is_open_create", "true for opens that create the file (O_CREAT, creat)", func(e *event.Event) (bool, bool) {
		if !isOpen(e) {
			return false, true
		}
		f, ok := openFlags(e)
		return ok && f&oCreat != 0, true
	})
	boolean("evt.is_open_exec", "true for opens that create a file with execute permission", func(e *event.Event) (bool, bool) {
		if !isOpen(e) {
			return false, true
		}
		f, ok := openFlags(e)
		if !ok || f&oCreat == 0 {
			return false, true
		}
		m, ok := e.ArgByName("mode")
		return ok && m.HasInt && m.Int&0o111 != 0, true
	})
	str("evt.buffer", "the data buffer of read/write-like events", func(e *event.Event) (string, bool) {
		if a, ok := e.ArgByName("data"); ok {
			return a.Str, true
		}
		return "", false
	})
	num("evt.buflen", "length of the data buffer", func(e *event.Event) (int64, bool) {
		if a, ok := e.ArgByName("data"); ok {
			return int64(len(a.Str)), true
		}
		return 0, false
	})
	num("evt.latency", "time spent in the syscall, ns (0 when not measured)", func(*event.Event) (int64, bool) { return 0, true })

	register(&Field{Name: "evt.arg", Kind: String, Arg: RequiredKey, Desc: "an argument by name (evt.arg.NAME or evt.arg[NAME]) or position (evt.arg[N])", make: func(arg string, _ int) Extractor {
		if n, err := strconv.Atoi(arg); err == nil {
			return Extractor{Str: func(e *event.Event, _ int) (string, bool) {
				if n >= 0 && n < len(e.Args) {
					return e.Args[n].Str, true
				}
				return "", false
			}}
		}
		return argByName(arg, false)
	}})
	register(&Field{Name: "evt.rawarg", Kind: Int, Arg: RequiredKey, Desc: "an argument's raw numeric value by name (evt.rawarg.NAME)", make: func(arg string, _ int) Extractor {
		return argByName(arg, true)
	}})
}

// argByName reads a named argument: its rendered text, or with raw its
// number. Rendered arguments compare as numbers when the right-hand side is
// a number and the argument has one (the rules compiler arranges that).
func argByName(name string, raw bool) Extractor {
	if raw {
		return Extractor{Field: registry["evt.rawarg"], Kind: Int, Int: func(e *event.Event, _ int) (int64, bool) {
			if a, ok := e.ArgByName(name); ok && a.HasInt {
				return a.Int, true
			}
			return 0, false
		}}
	}
	return Extractor{Field: registry["evt.arg"], Kind: String, Str: func(e *event.Event, _ int) (string, bool) {
		if a, ok := e.ArgByName(name); ok {
			return a.Str, true
		}
		return "", false
	}, Int: func(e *event.Event, _ int) (int64, bool) {
		if a, ok := e.ArgByName(name); ok && a.HasInt {
			return a.Int, true
		}
		return 0, false
	}}
}
