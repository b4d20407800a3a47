package state

import (
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/event"
)

// anonInodeTypes are the kinds of anonymous-inode files by the name the
// kernel gives them (fs/anon_inodes.c callers), as /proc/PID/fd shows them
// after "anon_inode:".
var anonInodeTypes = []struct {
	prefix string
	t      event.FDType
}{
	{"[eventfd]", event.FDEvent},
	{"[eventpoll]", event.FDEventPoll},
	{"[signalfd]", event.FDSignalfd},
	{"[timerfd]", event.FDTimerfd},
	{"inotify", event.FDInotify},
	{"[userfaultfd]", event.FDUserfaultfd},
	{"[io_uring]", event.FDIOUring},
	{"[pidfd]", event.FDPidfd},
	{"bpf", event.FDBPF}, // bpf-map, bpf-prog, bpf_link, btf
	{"btf", event.FDBPF},
}

// pseudoFDType is the type of the file a descriptor names when its name is
// not a path of an ordinary file (pipe:[INO], anon_inode:[eventfd],
// /memfd:NAME), as the kernel source and /proc/PID/fd spell them; ok is
// false for anything else.
func pseudoFDType(name string) (t event.FDType, ok bool) {
	switch {
	case strings.HasPrefix(name, "pipe:"):
		return event.FDPipe, true
	case strings.HasPrefix(name, "/memfd:"), strings.HasPrefix(name, "memfd:"):
		return event.FDMemfd, true
	case strings.HasPrefix(name, "anon_inode:"):
		rest := name[len("anon_inode:"):]
		for _, a := range anonInodeTypes {
			if strings.HasPrefix(rest, a.prefix) {
				return a.t, true
			}
		}
		return event.FDUnknown, true
	}
	return event.FDUnknown, false
}

// fileFDType types a descriptor the kernel resolved to name: a pseudo
// file's own type, else a file.
func fileFDType(name string) event.FDType {
	if t, ok := pseudoFDType(name); ok {
		return t
	}
	return event.FDFile
}

// nameFile gives fd the name the kernel resolved for it, and the type and
// (for a pipe) the inode number that name says.
func nameFile(fd *event.FD, name string) {
	fd.Name, fd.Type = name, fileFDType(name)
	fd.Ino = pseudoIno(fd)
}

// pseudoIno is fd.ino of a pipe, known from its name (pipe:[INO]); 0 for
// every other descriptor here, whose inode the kernel's records do not carry.
func pseudoIno(fd *event.FD) uint64 {
	if fd.Type != event.FDPipe {
		return 0
	}
	return bracketIno(fd.Name)
}

// bracketIno is the inode number in a pseudo file's name such as
// pipe:[12345] (fd.ino), 0 when there is none.
func bracketIno(name string) uint64 {
	i := strings.IndexByte(name, '[')
	if i < 0 || !strings.HasSuffix(name, "]") {
		return 0
	}
	n, err := strconv.ParseUint(name[i+1:len(name)-1], 10, 64)
	if err != nil {
		return 0
	}
	return n
}
