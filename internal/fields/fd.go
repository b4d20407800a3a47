package fields

import (
	"net/netip"
	"strconv"

	"github.com/palisade-sec/palisade/internal/event"
)

func fdStr(name, desc string, fn func(f *event.FD) (string, bool)) {
	strI(name, desc, func(e *event.Event, _ int) (string, bool) {
		if e.FD == nil {
			return "", false
		}
		return fn(e.FD)
	})
}

func fdBool(name, desc string, fn func(f *event.FD) (bool, bool)) {
	boolean(name, desc, func(e *event.Event) (bool, bool) {
		if e.FD == nil {
			return false, false
		}
		return fn(e.FD)
	})
}

func fdIP(name, desc string, kind Kind, fn func(f *event.FD) netip.Addr) {
	ip(name, desc, kind, func(e *event.Event) (netip.Addr, bool) {
		if e.FD == nil || !e.FD.IsIP() {
			return netip.Addr{}, false
		}
		a := fn(e.FD)
		return a, a.IsValid()
	})
}

func fdPort(name, desc string, fn func(f *event.FD) uint16) {
	port(name, desc, func(e *event.Event) (int64, bool) {
		if e.FD == nil || !e.FD.IsIP() {
			return 0, false
		}
		return int64(fn(e.FD)), true
	})
}

// bothIP registers a multi-valued field matching the client or server side.
func bothIP(name, desc string, kind Kind) {
	register(&Field{Name: name, Kind: kind, Desc: desc, Multi: true, make: func(string, int) Extractor {
		return Extractor{IP: func(e *event.Event, i int) (netip.Addr, bool) {
			if e.FD == nil || !e.FD.IsIP() || i > 1 {
				return netip.Addr{}, false
			}
			a := e.FD.CIP
			if i == 1 {
				a = e.FD.SIP
			}
			return a, a.IsValid()
		}}
	}})
}

func init() {
	numI("fd.num", "file descriptor number (-1 when the syscall failed)", Int, func(e *event.Event, _ int) (int64, bool) {
		if e.FD == nil {
			return 0, false
		}
		return e.FD.Num, true
	})
	fdStr("fd.type", "fd type: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, bpf, userfaultfd, io_uring, memfd, pidfd", func(f *event.FD) (string, bool) { return nonEmpty(f.Type.String()) })
	strI("fd.typechar", "fd type as one character: f file, d directory, 4 ipv4, 6 ipv6, u unix, p pipe, e event, s signalfd, l eventpoll, i inotify, t timerfd, n netlink, b bpf, r io_uring, m memfd", func(e *event.Event, _ int) (string, bool) {
		if e.FD == nil {
			return "", false
		}
		return nonEmpty(e.FD.Type.Char())
	})
	strI("fd.name", "full name: absolute path for files, cip:cport->sip:sport for sockets", func(e *event.Event, _ int) (string, bool) {
		if e.FD == nil || e.FD.Name == "" {
			return "", false
		}
		return e.FD.Name, true
	})
	fdStr("fd.nameraw", "name as the process passed it, before resolution", func(f *event.FD) (string, bool) {
		if f.NameRaw != "" {
			return f.NameRaw, true
		}
		return nonEmpty(f.Name)
	})
	strI("fd.directory", "directory of a file (the path itself for a directory)", func(e *event.Event, _ int) (string, bool) {
		if e.FD == nil {
			return "", false
		}
		return nonEmpty(e.FD.Directory())
	})
	fdStr("fd.filename", "last element of a file's path", func(f *event.FD) (string, bool) { return nonEmpty(f.Filename()) })
	fdStr("fd.l4proto", "transport protocol of a socket: tcp, udp, icmp, raw", func(f *event.FD) (string, bool) { return nonEmpty(f.L4Proto) })
	fdStr("fd.sockfamily", "socket family: ip or unix", func(f *event.FD) (string, bool) {
		switch f.Type {
		case event.FDIPv4, event.FDIPv6:
			return "ip", true
		case event.FDUnix:
			return "unix", true
		}
		return "", false
	})
	fdBool("fd.is_server", "true if the process is the server side of the connection", func(f *event.FD) (bool, bool) { return f.IsServer, f.IsIP() })
	fdBool("fd.connected", "true if the socket is connected", func(f *event.FD) (bool, bool) { return f.Connected, true })
	fdBool("fd.outside_root", "true if the kernel found the opened file outside the process's root directory: a container process holding a host file (through /proc/PID/root, a host fd, open_by_handle_at, a /proc/self/exe reopen); Palisade's own field", func(f *event.FD) (bool, bool) { return f.OutsideRoot, true })
	fdBool("fd.name_changed", "true if the fd's name changed in this event (e.g. a connect)", func(f *event.FD) (bool, bool) { return f.NameChanged, true })
	num("fd.dev", "device number of the file", func(e *event.Event) (int64, bool) {
		if e.FD == nil || e.FD.Dev == 0 {
			return 0, false
		}
		return int64(e.FD.Dev), true
	})
	num("fd.ino", "inode number of the file", func(e *event.Event) (int64, bool) {
		if e.FD == nil || e.FD.Ino == 0 {
			return 0, false
		}
		return int64(e.FD.Ino), true
	})

	num("fd.nlink", "link count of a regular file when it was opened: more than 1 when other names (hard links) reach the same file; Palisade's own field", func(e *event.Event) (int64, bool) {
		if e.FD == nil || e.FD.Nlink == 0 {
			return 0, false
		}
		return int64(e.FD.Nlink), true
	})
	str("fd.identity", "the protected name of the opened file's inode, whatever name it was opened by: /etc/shadow when /etc/shadow's inode is opened through a hard link (protected: the sensitive files and the files of binary directories, on the host and in each container, kept current as they are renamed, replaced or removed); on a successful link or linkat, the protected name of the file linked, whatever either name is; empty for other files; Palisade's own field", func(e *event.Event) (string, bool) {
		if e.FD == nil {
			return "", false
		}
		return e.FD.Identity, true
	})

	fdIP("fd.cip", "client IP address", IPAddr, func(f *event.FD) netip.Addr { return f.CIP })
	fdIP("fd.sip", "server IP address", IPAddr, func(f *event.FD) netip.Addr { return f.SIP })
	fdIP("fd.lip", "local IP address", IPAddr, (*event.FD).LocalIP)
	fdIP("fd.rip", "remote IP address", IPAddr, (*event.FD).RemoteIP)
	fdIP("fd.cnet", "client IP, compared by CIDR", IPNet, func(f *event.FD) netip.Addr { return f.CIP })
	fdIP("fd.snet", "server IP, compared by CIDR", IPNet, func(f *event.FD) netip.Addr { return f.SIP })
	fdIP("fd.lnet", "local IP, compared by CIDR", IPNet, (*event.FD).LocalIP)
	fdIP("fd.rnet", "remote IP, compared by CIDR", IPNet, (*event.FD).RemoteIP)
	bothIP("fd.ip", "client or server IP (matches if either does)", IPAddr)
	bothIP("fd.net", "client or server IP compared by CIDR (matches if either does)", IPNet)
	fdPort("fd.cport", "client port", func(f *event.FD) uint16 { return f.CPort })
	fdPort("fd.sport", "server port", func(f *event.FD) uint16 { return f.SPort })
	fdPort("fd.lport", "local port", (*event.FD).LocalPort)
	fdPort("fd.rport", "remote port", (*event.FD).RemotePort)
	register(&Field{Name: "fd.port", Kind: Port, Desc: "client or server port (matches if either does)", Multi: true, make: func(string, int) Extractor {
		return Extractor{Int: func(e *event.Event, i int) (int64, bool) {
			if e.FD == nil || !e.FD.IsIP() || i > 1 {
				return 0, false
			}
			if i == 0 {
				return int64(e.FD.CPort), true
			}
			return int64(e.FD.SPort), true
		}}
	}})
	for _, n := range []string{"fd.cip.name", "fd.sip.name", "fd.lip.name", "fd.rip.name"} {
		str(n, "domain name of the address (DNS is not resolved: absent)", func(*event.Event) (string, bool) { return "", false })
	}
	register(&Field{Name: "fd.types", Kind: String, Arg: OptionalIndex, Multi: true, Desc: "types of the process's open fds; fd.types[N] is fd N's type", make: func(_ string, idx int) Extractor {
		if idx >= 0 {
			return Extractor{Str: func(e *event.Event, _ int) (string, bool) {
				if e.Proc == nil || idx >= len(e.Proc.FDTypes) || e.Proc.FDTypes[idx] == "" {
					return "", false
				}
				return e.Proc.FDTypes[idx], true
			}}
		}
		return Extractor{Str: func(e *event.Event, i int) (string, bool) {
			if e.Proc == nil || i >= len(e.Proc.FDTypes) {
				return "", false
			}
			return e.Proc.FDTypes[i], true
		}}
	}})
	str("fd.containername", "container id and fd name, id:name", func(e *event.Event) (string, bool) {
		if e.FD == nil || e.Proc == nil || e.Proc.Container == nil {
			return "", false
		}
		return e.Proc.Container.ID + ":" + e.FD.Name, true
	})
	str("fd.containerdirectory", "container id and fd directory, id:dir", func(e *event.Event) (string, bool) {
		if e.FD == nil || e.Proc == nil || e.Proc.Container == nil {
			return "", false
		}
		return e.Proc.Container.ID + ":" + e.FD.Directory(), true
	})
	_ = strconv.Itoa
}
