package profile

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-sec/palisade/internal/apparmor"
	"github.com/palisade-sec/palisade/internal/record"
)

// CapsResult is the capability set a recording supports.
type CapsResult struct {
	// CapAdd are Docker names (no CAP_ prefix), sorted.
	CapAdd []string `json:"cap_add"`
	// Collected is false when capability checks were not recorded: CapAdd
	// then holds only what syscalls proved and may be too small.
	Collected bool `json:"collected"`
	// Source is where the checks came from when Collected.
	Source   string   `json:"source,omitempty"`
	Partial  bool     `json:"partial"`
	Reason   string   `json:"reason,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
}

// Caps derives the capabilities to add after --cap-drop=ALL: those the
// syscalls prove and, when checks were recorded, those the kernel checked
// and granted (record.CheckedCap.Needed). Checks that were only denied
// are left out: the workload ran without them.
func Caps(r *record.Recording) CapsResult {
	res := CapsResult{CapAdd: r.Caps.Needed(), Collected: r.Caps.Collected, Partial: !r.Caps.Collected, Reason: r.Caps.Reason}
	if res.CapAdd == nil {
		res.CapAdd = []string{}
	}
	if r.Caps.Collected {
		res.Source = r.Caps.Source
	}
	for _, c := range r.Caps.Inferred {
		for _, e := range c.Evidence {
			res.Evidence = append(res.Evidence, c.Name+": "+e)
		}
	}
	for _, c := range r.Caps.Checked {
		e := fmt.Sprintf("%s: checked by the kernel, granted %d, denied %d", c.Name, c.Granted, c.Denied)
		switch {
		case c.Needed:
		case c.Note != "":
			e += "; not added: " + c.Note
		default:
			e += "; not added: never granted, the workload ran without it"
		}
		res.Evidence = append(res.Evidence, e)
	}
	return res
}

var nameRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// DefaultName is a profile name from the recording's first program
// (palisade-<base name>), safe as an AppArmor profile name.
func DefaultName(r *record.Recording) string {
	base := "workload"
	for _, s := range r.Sources {
		if len(s.Command) > 0 {
			base = path.Base(s.Command[0])
			break
		}
		if s.Container != "" {
			base = strings.Fields(s.Container)[0]
			break
		}
	}
	base = strings.Trim(nameRE.ReplaceAllString(base, "-"), "-._")
	if base == "" {
		base = "workload"
	}
	n := "palisade-" + base
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

// AppArmor turns the recording into a profile through the apparmor
// package's generator; the derivation says what was globbed or left out.
func AppArmor(r *record.Recording, name string) ([]byte, *apparmor.Derivation, error) {
	obs := apparmor.Observed{Read: r.Files.Read, Write: r.Files.Write, Create: r.Files.Create, Exec: r.Files.Exec}
	for _, s := range r.Sockets {
		obs.Sockets = append(obs.Sockets, apparmor.Socket{Domain: s.Domain, Type: s.Type, Protocol: s.Protocol})
	}
	obs.Capabilities = r.Caps.Needed()
	spec, d, err := apparmor.FromObserved(name, obs)
	if err != nil {
		return nil, nil, err
	}
	out, err := apparmor.Generate(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("generate apparmor profile: %w", err)
	}
	if !r.Caps.Collected {
		d.Skipped = append(d.Skipped, "capabilities: only those proven by syscalls are granted (capability checks were not recorded)")
	}
	return out, d, nil
}

// Settings are the container settings a recording supports, in one form
// every output (docker flags, compose, k8s) is rendered from.
type Settings struct {
	CapAdd      []string
	NoNewPrivs  bool
	SeccompFile string
	AppArmor    string // profile name, "" for none
	ReadOnly    bool
	Tmpfs       []string // writable scratch directories under a read-only root
	User        string   // uid:gid, "" when the workload ran as root
	Notes       []string
}

// tmpfsDirs may be tmpfs mounts under --read-only; writes to /dev and
// /proc are to the container's own tmpfs and pseudo file systems.
var tmpfsDirs = []string{"/tmp", "/run", "/var/tmp", "/var/run"}
var pseudoDirs = []string{"/dev", "/proc", "/sys"}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// Derive computes Settings; seccompFile and apparmorName are what the
// settings refer to (apparmorName may be empty).
func Derive(r *record.Recording, seccompFile, apparmorName string) Settings {
	s := Settings{SeccompFile: seccompFile, AppArmor: apparmorName, NoNewPrivs: true}
	c := Caps(r)
	s.CapAdd = c.CapAdd
	if c.Partial {
		s.Notes = append(s.Notes, "capabilities are partial: capability checks were not recorded, only those proven by syscalls are added")
	}
	if len(r.SetIDExec) > 0 {
		s.NoNewPrivs = false
		s.Notes = append(s.Notes, fmt.Sprintf("no-new-privileges left out: the workload ran setuid/setgid programs (%s)", strings.Join(quoteAll(r.SetIDExec), ", ")))
	}
	tmpfs := map[string]bool{}
	var outside []string
	for _, p := range append(append([]string(nil), r.Files.Write...), r.Files.Create...) {
		p = strings.TrimSuffix(p, "/")
		pseudo := false
		for _, d := range pseudoDirs {
			pseudo = pseudo || under(p, d)
		}
		if pseudo {
			continue
		}
		scratch := false
		for _, d := range tmpfsDirs {
			if under(p, d) {
				tmpfs[d], scratch = true, true
			}
		}
		if !scratch {
			outside = append(outside, p)
		}
	}
	if len(outside) == 0 {
		s.ReadOnly = true
		for _, d := range tmpfsDirs {
			if tmpfs[d] {
				s.Tmpfs = append(s.Tmpfs, d)
			}
		}
	} else {
		n := min(len(outside), 3)
		s.Notes = append(s.Notes, fmt.Sprintf("root file system left writable: the workload wrote outside /dev, /proc and scratch directories (%s%s); mount those as volumes to use --read-only", strings.Join(quoteAll(outside[:n]), ", "), map[bool]string{true: ", ...", false: ""}[len(outside) > n]))
	}
	root := false
	for _, u := range r.UIDs {
		root = root || u == 0
	}
	switch {
	case len(r.UIDs) == 0:
	case !root && len(r.GIDs) > 0:
		s.User = fmt.Sprintf("%d:%d", r.UIDs[0], r.GIDs[0])
	case root && c.Collected:
		s.Notes = append(s.Notes, "--user not set: the workload ran as root (capability checks are recorded, but root's ownership of files is not a capability)")
	case root:
		s.Notes = append(s.Notes, "--user not set: the workload ran as root, and without recorded capability checks palisade cannot tell whether root was needed")
	}
	return s
}

func quoteAll(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// DockerFlags renders s as docker run flags.
func (s Settings) DockerFlags() []string {
	f := []string{"--cap-drop=ALL"}
	for _, c := range s.CapAdd {
		f = append(f, "--cap-add="+c)
	}
	if s.NoNewPrivs {
		f = append(f, "--security-opt=no-new-privileges")
	}
	if s.SeccompFile != "" {
		f = append(f, "--security-opt=seccomp="+s.SeccompFile)
	}
	if s.AppArmor != "" {
		f = append(f, "--security-opt=apparmor="+s.AppArmor)
	}
	if s.ReadOnly {
		f = append(f, "--read-only")
		for _, d := range s.Tmpfs {
			f = append(f, "--tmpfs="+d)
		}
	}
	if s.User != "" {
		f = append(f, "--user="+s.User)
	}
	return f
}

// ComposeService is the part of a compose service s sets.
type ComposeService struct {
	CapDrop     []string `json:"cap_drop"`
	CapAdd      []string `json:"cap_add,omitempty"`
	SecurityOpt []string `json:"security_opt,omitempty"`
	ReadOnly    bool     `json:"read_only,omitempty"`
	Tmpfs       []string `json:"tmpfs,omitempty"`
	User        string   `json:"user,omitempty"`
}

// Compose renders s as compose service keys under services.<service>.
func (s Settings) Compose(service string) ([]byte, error) {
	svc := ComposeService{CapDrop: []string{"ALL"}, CapAdd: s.CapAdd, ReadOnly: s.ReadOnly, Tmpfs: s.Tmpfs, User: s.User}
	if s.NoNewPrivs {
		svc.SecurityOpt = append(svc.SecurityOpt, "no-new-privileges:true")
	}
	if s.SeccompFile != "" {
		svc.SecurityOpt = append(svc.SecurityOpt, "seccomp:"+s.SeccompFile)
	}
	if s.AppArmor != "" {
		svc.SecurityOpt = append(svc.SecurityOpt, "apparmor:"+s.AppArmor)
	}
	doc := map[string]any{"services": map[string]any{service: svc}}
	return yaml.Marshal(doc)
}

// SecurityContext renders s as a Kubernetes container securityContext.
// The seccomp profile is Localhost, relative to the kubelet's seccomp
// directory (/var/lib/kubelet/seccomp): copy the file there.
func (s Settings) SecurityContext() *corev1.SecurityContext {
	f := false
	sc := &corev1.SecurityContext{
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		AllowPrivilegeEscalation: &f,
	}
	if !s.NoNewPrivs {
		sc.AllowPrivilegeEscalation = nil
	}
	for _, c := range s.CapAdd {
		sc.Capabilities.Add = append(sc.Capabilities.Add, corev1.Capability(c))
	}
	if s.SeccompFile != "" {
		p := s.SeccompFile
		sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &p}
	}
	if s.AppArmor != "" {
		n := s.AppArmor
		sc.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: &n}
	}
	if s.ReadOnly {
		t := true
		sc.ReadOnlyRootFilesystem = &t
	}
	if s.User != "" {
		t := true
		sc.RunAsNonRoot = &t
		var uid, gid int64
		fmt.Sscanf(s.User, "%d:%d", &uid, &gid)
		sc.RunAsUser, sc.RunAsGroup = &uid, &gid
	}
	return sc
}

// K8s renders the securityContext as YAML (a container's securityContext key).
func (s Settings) K8s() ([]byte, error) {
	return yaml.Marshal(map[string]any{"securityContext": s.SecurityContext()})
}
