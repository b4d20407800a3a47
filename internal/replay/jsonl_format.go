package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/palisade-sec/palisade/internal/event"
)

// jsonEvent is one line of the format.
type jsonEvent struct {
	Num       uint64         `json:"num,omitempty"`
	TS        int64          `json:"ts"`
	CPU       int32          `json:"cpu,omitempty"`
	Type      string         `json:"type"`
	Dir       string         `json:"dir,omitempty"`
	Res       *int64         `json:"res,omitempty"`
	Args      argList        `json:"args,omitempty"`
	Proc      *jsonProc      `json:"proc,omitempty"`
	FD        *jsonFD        `json:"fd,omitempty"`
	Container *jsonContainer `json:"container,omitempty"`
	Hostname  string         `json:"hostname,omitempty"`
	IOUring   bool           `json:"io_uring,omitempty"`
}

type jsonProc struct {
	PID            int64    `json:"pid"`
	TID            int64    `json:"tid,omitempty"`
	VPID           int64    `json:"vpid,omitempty"`
	VTID           int64    `json:"vtid,omitempty"`
	PPID           int64    `json:"ppid,omitempty"`
	SID            int64    `json:"sid,omitempty"`
	VPGID          int64    `json:"vpgid,omitempty"`
	Name           string   `json:"name"`
	Exe            string   `json:"exe,omitempty"`
	ExePath        string   `json:"exepath,omitempty"`
	Args           []string `json:"args,omitempty"`
	Env            []string `json:"env,omitempty"`
	Cwd            string   `json:"cwd,omitempty"`
	TTY            int64    `json:"tty,omitempty"`
	UID            int64    `json:"uid"`
	GID            int64    `json:"gid"`
	HostUID        *int64   `json:"host_uid,omitempty"` // absent: the same as uid (no user namespace)
	HostGID        *int64   `json:"host_gid,omitempty"`
	LoginUID       *int64   `json:"loginuid,omitempty"`
	User           string   `json:"user,omitempty"`
	Home           string   `json:"home,omitempty"`
	Shell          string   `json:"shell,omitempty"`
	LoginName      string   `json:"loginname,omitempty"`
	Group          string   `json:"group,omitempty"`
	StartTS        int64    `json:"start_ts,omitempty"`
	CapPermitted   uint64   `json:"cap_permitted,omitempty"`
	CapEffective   uint64   `json:"cap_effective,omitempty"`
	CapInheritable uint64   `json:"cap_inheritable,omitempty"`
	ExeUpperLayer  bool     `json:"exe_upper_layer,omitempty"`
	ExeFromMemfd   bool     `json:"exe_from_memfd,omitempty"`
	ExeWritable    bool     `json:"exe_writable,omitempty"`
	// CredUnexplained and PrevUID: proc.cred_unexplained, proc.prev_uid.
	CredUnexplained bool      `json:"cred_unexplained,omitempty"`
	PrevUID         *int64    `json:"prev_uid,omitempty"`
	SName           string    `json:"sname,omitempty"`
	VPGIDName       string    `json:"vpgid_name,omitempty"`
	VPGIDExe        string    `json:"vpgid_exe,omitempty"`
	FDTypes         []string  `json:"fd_types,omitempty"`
	Parent          *jsonProc `json:"parent,omitempty"`
}

type jsonFD struct {
	Num         int64  `json:"num"`
	Type        string `json:"type"`
	Name        string `json:"name,omitempty"`
	NameRaw     string `json:"nameraw,omitempty"`
	L4Proto     string `json:"l4proto,omitempty"`
	CIP         string `json:"cip,omitempty"`
	SIP         string `json:"sip,omitempty"`
	CPort       uint16 `json:"cport,omitempty"`
	SPort       uint16 `json:"sport,omitempty"`
	Server      bool   `json:"server,omitempty"`
	Connected   bool   `json:"connected,omitempty"`
	NameChanged bool   `json:"name_changed,omitempty"`
	Dev         uint64 `json:"dev,omitempty"`
	Ino         uint64 `json:"ino,omitempty"`
	OutsideRoot bool   `json:"outside_root,omitempty"`
	Nlink       uint32 `json:"nlink,omitempty"`
	Identity    string `json:"identity,omitempty"`
}

type jsonMount struct {
	Source      string `json:"source"`
	Dest        string `json:"dest"`
	Mode        string `json:"mode,omitempty"`
	RW          bool   `json:"rw"`
	Propagation string `json:"propagation,omitempty"`
}

type jsonContainer struct {
	ID              string            `json:"id"`
	Name            string            `json:"name,omitempty"`
	Image           string            `json:"image,omitempty"`
	ImageID         string            `json:"image_id,omitempty"`
	ImageRepository string            `json:"image_repository,omitempty"`
	ImageTag        string            `json:"image_tag,omitempty"`
	ImageDigest     string            `json:"image_digest,omitempty"`
	Type            string            `json:"type,omitempty"`
	Privileged      *bool             `json:"privileged,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Mounts          []jsonMount       `json:"mounts,omitempty"`
	StartTS         int64             `json:"start_ts,omitempty"`
	K8sNamespace    string            `json:"k8s_ns,omitempty"`
	K8sPod          string            `json:"k8s_pod,omitempty"`
	K8sPodUID       string            `json:"k8s_pod_uid,omitempty"`
}

// argList is an ordered JSON object of arguments. A value is a string, a
// number, or {"str": "...", "int": N} when both forms matter.
type argList []event.Arg

func (a argList) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, arg := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(arg.Name)
		b.Write(k)
		b.WriteByte(':')
		switch {
		case arg.HasInt && arg.Str == strconv.FormatInt(arg.Int, 10):
			b.WriteString(strconv.FormatInt(arg.Int, 10))
		case arg.HasInt:
			v, _ := json.Marshal(struct {
				Str string `json:"str"`
				Int int64  `json:"int"`
			}{arg.Str, arg.Int})
			b.Write(v)
		default:
			v, _ := json.Marshal(arg.Str)
			b.Write(v)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (a *argList) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("args must be an object")
	}
	var out argList
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		name := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		arg := event.Arg{Name: name}
		switch {
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, &arg.Str); err != nil {
				return err
			}
		case len(raw) > 0 && raw[0] == '{':
			var both struct {
				Str *string `json:"str"`
				Int *int64  `json:"int"`
			}
			if err := json.Unmarshal(raw, &both); err != nil {
				return fmt.Errorf("arg %s: %w", name, err)
			}
			if both.Str != nil {
				arg.Str = *both.Str
			}
			if both.Int != nil {
				arg.Int, arg.HasInt = *both.Int, true
				if both.Str == nil {
					arg.Str = strconv.FormatInt(*both.Int, 10)
				}
			}
		case string(raw) == "null":
		default:
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				return fmt.Errorf("arg %s: %s is not an integer", name, raw)
			}
			arg.Int, arg.HasInt, arg.Str = n, true, string(raw)
		}
		out = append(out, arg)
	}
	*a = out
	return nil
}

// toEvent builds an Event from a decoded line.
func (j *jsonEvent) toEvent() (*event.Event, error) {
	if j.Type == "" {
		return nil, fmt.Errorf("missing \"type\"")
	}
	e := &event.Event{Num: j.Num, Time: j.TS, CPU: j.CPU, Type: event.TypeOf(j.Type), Dir: event.DirExit, Hostname: j.Hostname, IOUring: j.IOUring}
	switch j.Dir {
	case "", "<":
	case ">":
		e.Dir = event.DirEnter
	default:
		return nil, fmt.Errorf("dir must be \"<\" or \">\", not %q", j.Dir)
	}
	if j.Res != nil {
		e.Res, e.HasRes = *j.Res, true
	}
	e.Args = j.Args
	for i := range e.Args {
		a := &e.Args[i]
		// Open flags may be given by name; rules need their bits.
		if a.Name == "flags" && !a.HasInt && isOpenType(j.Type) {
			if n, ok := event.ParseOpenFlags(a.Str); ok {
				a.Int, a.HasInt = n, true
			}
		}
		if a.Name == "flags" && a.HasInt && isOpenType(j.Type) && a.Str == strconv.FormatInt(a.Int, 10) {
			a.Str = event.FormatOpenFlags(a.Int)
		}
	}
	var ctr *event.Container
	if j.Container != nil {
		ctr = j.Container.toContainer()
	}
	if j.Proc != nil {
		e.Proc = j.Proc.toProcess(ctr)
	}
	if j.FD != nil {
		fd, err := j.FD.toFD()
		if err != nil {
			return nil, err
		}
		e.FD = fd
	}
	return e, nil
}

func isOpenType(t string) bool {
	switch t {
	case "open", "openat", "openat2", "open_by_handle_at":
		return true
	}
	return false
}

func (p *jsonProc) toProcess(c *event.Container) *event.Process {
	out := &event.Process{
		PID: p.PID, TID: p.TID, VPID: p.VPID, VTID: p.VTID, PPID: p.PPID, SID: p.SID, VPGID: p.VPGID,
		Name: p.Name, Exe: p.Exe, ExePath: p.ExePath, Args: p.Args, Env: p.Env, Cwd: p.Cwd, TTY: p.TTY,
		UID: p.UID, GID: p.GID, LoginUID: -1, UserName: p.User, UserHome: p.Home, UserShell: p.Shell,
		LoginName: p.LoginName, GroupName: p.Group, StartTime: p.StartTS,
		CapPermitted: p.CapPermitted, CapEffective: p.CapEffective, CapInheritable: p.CapInheritable,
		ExeUpperLayer: p.ExeUpperLayer, ExeFromMemfd: p.ExeFromMemfd, ExeWritable: p.ExeWritable,
		SessionLeaderName: p.SName, GroupLeaderName: p.VPGIDName, GroupLeaderExe: p.VPGIDExe,
		FDTypes: p.FDTypes, Container: c, CredUnexplained: p.CredUnexplained,
	}
	if p.PrevUID != nil {
		out.PrevHostUID = *p.PrevUID
	}
	if out.TID == 0 {
		out.TID = out.PID
	}
	if out.VPID == 0 {
		out.VPID = out.PID
	}
	if out.VTID == 0 {
		out.VTID = out.VPID
	}
	if out.Exe == "" {
		out.Exe = p.Name
	}
	if p.LoginUID != nil {
		out.LoginUID = *p.LoginUID
	}
	out.HostUID, out.HostGID = out.UID, out.GID
	if p.HostUID != nil {
		out.HostUID = *p.HostUID
	}
	if p.HostGID != nil {
		out.HostGID = *p.HostGID
	}
	if p.Parent != nil {
		out.Parent = p.Parent.toProcess(c)
		if out.PPID == 0 {
			out.PPID = out.Parent.PID
		}
	}
	return out
}

func (f *jsonFD) toFD() (*event.FD, error) {
	t, ok := event.ParseFDType(f.Type)
	if f.Type == "unknown" {
		t, ok = event.FDUnknown, true
	}
	if !ok {
		return nil, fmt.Errorf("fd.type %q is not a known fd type", f.Type)
	}
	out := &event.FD{Num: f.Num, Type: t, Name: f.Name, NameRaw: f.NameRaw, L4Proto: f.L4Proto,
		CPort: f.CPort, SPort: f.SPort, IsServer: f.Server, Connected: f.Connected, NameChanged: f.NameChanged, Dev: f.Dev, Ino: f.Ino,
		OutsideRoot: f.OutsideRoot, Nlink: f.Nlink, Identity: f.Identity}
	var err error
	if f.CIP != "" {
		if out.CIP, err = netip.ParseAddr(f.CIP); err != nil {
			return nil, fmt.Errorf("fd.cip: %w", err)
		}
	}
	if f.SIP != "" {
		if out.SIP, err = netip.ParseAddr(f.SIP); err != nil {
			return nil, fmt.Errorf("fd.sip: %w", err)
		}
	}
	if out.Name == "" && out.IsIP() && out.CIP.IsValid() && out.SIP.IsValid() {
		out.Name = netip.AddrPortFrom(out.CIP, out.CPort).String() + "->" + netip.AddrPortFrom(out.SIP, out.SPort).String()
	}
	return out, nil
}

func (c *jsonContainer) toContainer() *event.Container {
	if c.ID == "" || c.ID == "host" {
		return event.Host
	}
	out := &event.Container{ID: c.ID, Name: c.Name, Image: c.Image, ImageID: c.ImageID, ImageRepository: c.ImageRepository,
		ImageTag: c.ImageTag, ImageDigest: c.ImageDigest, Type: c.Type, Labels: c.Labels, StartTime: c.StartTS,
		K8sNamespace: c.K8sNamespace, K8sPodName: c.K8sPod, K8sPodUID: c.K8sPodUID}
	if c.Privileged != nil {
		out.Privileged, out.HasPrivileged = *c.Privileged, true
	}
	for _, m := range c.Mounts {
		out.Mounts = append(out.Mounts, event.Mount{Source: m.Source, Dest: m.Dest, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation})
	}
	return out
}

// fromEvent is the inverse of toEvent.
func fromEvent(e *event.Event) *jsonEvent {
	j := &jsonEvent{Num: e.Num, TS: e.Time, CPU: e.CPU, Type: e.Type.String(), Hostname: e.Hostname, Args: e.Args, IOUring: e.IOUring}
	if e.Dir == event.DirEnter {
		j.Dir = ">"
	}
	if e.HasRes {
		r := e.Res
		j.Res = &r
	}
	if e.Proc != nil {
		j.Proc = fromProcess(e.Proc, 0)
		if c := e.Proc.Container; c != nil && !c.IsHost() {
			j.Container = fromContainer(c)
		}
	}
	if f := e.FD; f != nil {
		typ := f.Type.String()
		if typ == "" {
			typ = "unknown"
		}
		j.FD = &jsonFD{Num: f.Num, Type: typ, Name: f.Name, NameRaw: f.NameRaw, L4Proto: f.L4Proto,
			CPort: f.CPort, SPort: f.SPort, Server: f.IsServer, Connected: f.Connected, NameChanged: f.NameChanged, Dev: f.Dev, Ino: f.Ino,
			OutsideRoot: f.OutsideRoot, Nlink: f.Nlink, Identity: f.Identity}
		if f.CIP.IsValid() {
			j.FD.CIP = f.CIP.String()
		}
		if f.SIP.IsValid() {
			j.FD.SIP = f.SIP.String()
		}
	}
	return j
}

// maxJSONLAncestry bounds how many ancestors are written per event (Falco's
// rules look at most 7 up).
const maxJSONLAncestry = 8

func fromProcess(p *event.Process, depth int) *jsonProc {
	lu := p.LoginUID
	j := &jsonProc{PID: p.PID, TID: p.TID, VPID: p.VPID, VTID: p.VTID, PPID: p.PPID, SID: p.SID, VPGID: p.VPGID,
		Name: p.Name, Exe: p.Exe, ExePath: p.ExePath, Args: p.Args, Env: p.Env, Cwd: p.Cwd, TTY: p.TTY,
		UID: p.UID, GID: p.GID, LoginUID: &lu, User: p.UserName, Home: p.UserHome, Shell: p.UserShell,
		LoginName: p.LoginName, Group: p.GroupName, StartTS: p.StartTime,
		CapPermitted: p.CapPermitted, CapEffective: p.CapEffective, CapInheritable: p.CapInheritable,
		ExeUpperLayer: p.ExeUpperLayer, ExeFromMemfd: p.ExeFromMemfd, ExeWritable: p.ExeWritable,
		SName: p.SessionLeaderName, VPGIDName: p.GroupLeaderName, VPGIDExe: p.GroupLeaderExe, FDTypes: p.FDTypes}
	if p.CredUnexplained {
		prev := p.PrevHostUID
		j.CredUnexplained, j.PrevUID = true, &prev
	}
	if p.HostUID != p.UID {
		hu := p.HostUID
		j.HostUID = &hu
	}
	if p.HostGID != p.GID {
		hg := p.HostGID
		j.HostGID = &hg
	}
	if depth > 0 {
		j.Env = nil // ancestors' environments are never read by rules, and are large
	}
	if p.Parent != nil && depth < maxJSONLAncestry {
		j.Parent = fromProcess(p.Parent, depth+1)
	}
	return j
}

func fromContainer(c *event.Container) *jsonContainer {
	j := &jsonContainer{ID: c.ID, Name: c.Name, Image: c.Image, ImageID: c.ImageID, ImageRepository: c.ImageRepository,
		ImageTag: c.ImageTag, ImageDigest: c.ImageDigest, Type: c.Type, Labels: c.Labels, StartTS: c.StartTime,
		K8sNamespace: c.K8sNamespace, K8sPod: c.K8sPodName, K8sPodUID: c.K8sPodUID}
	if c.HasPrivileged {
		p := c.Privileged
		j.Privileged = &p
	}
	for _, m := range c.Mounts {
		j.Mounts = append(j.Mounts, jsonMount{Source: m.Source, Dest: m.Dest, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation})
	}
	return j
}
