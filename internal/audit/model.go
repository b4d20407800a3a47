package audit

import (
	"fmt"
	"strings"
)

// Source says where a container description came from; fixes are phrased in
// its own terms.
type Source string

// The sources palisade audits.
const (
	SourceDocker     Source = "docker"     // docker inspect JSON or the live Engine API
	SourceCompose    Source = "compose"    // compose files
	SourceKubernetes Source = "kubernetes" // Kubernetes manifests
	SourceOCI        Source = "oci"        // OCI runtime config.json
	SourceDaemon     Source = "daemon"     // the Docker daemon's own settings
)

// Severity orders findings; higher is worse.
type Severity int

// Severities, lowest first.
const (
	SeverityLow Severity = iota + 1
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = map[Severity]string{
	SeverityLow: "low", SeverityMedium: "medium", SeverityHigh: "high", SeverityCritical: "critical",
}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText writes the severity's name, so JSON carries "high", not 3.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads low, medium, high or critical (any case).
func ParseSeverity(name string) (Severity, error) {
	for s, n := range severityNames {
		if strings.EqualFold(n, name) {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want low, medium, high or critical)", name)
}

// Field names a setting whose line in the source file a finding points at.
type Field int

// Settings with a position of their own. A finding about a setting that is
// absent points at the container itself (Container.Line).
const (
	FieldPrivileged Field = iota + 1
	FieldCapAdd
	FieldCapDrop
	FieldSeccomp
	FieldAppArmor
	FieldSELinux
	FieldNoNewPrivileges
	FieldUser
	FieldHostPID
	FieldHostNetwork
	FieldHostIPC
	FieldHostUTS
	FieldHostUserns
	FieldReadOnlyRoot
	FieldMemory
	FieldPids
	FieldProcMount
	FieldSecurity // the securityContext / security_opt block as a whole
	// FieldSELinuxOptions is the seLinuxOptions block (or label= option).
	FieldSELinuxOptions
)

// Mount is a filesystem mount into the container.
type Mount struct {
	// HostPath is the host path for bind mounts (Kubernetes hostPath, with
	// any subPath joined). Empty for named volumes, tmpfs and the like.
	HostPath    string
	Destination string
	ReadOnly    bool
	// Propagation as the source spells it (shared, rshared, Bidirectional...).
	Propagation string
	// Name is how the source refers to the mount (a volume name), if any.
	Name string
	Line int
	// PropagationLine is where the propagation is set, when that is not Line.
	PropagationLine int
	// File is the file that declares the mount when that is not the
	// container's (a compose override file).
	File string
	// InProject marks a compose bind of a path inside the project directory
	// (./data): the project's own files, not a sensitive host path even when
	// the project lives under /etc or /root.
	InProject bool
}

// Volume is a host path declared as a volume apart from any mount: a
// Kubernetes hostPath volume no container mounts, a compose top-level volume
// whose driver_opts bind a host directory and no service uses.
type Volume struct {
	Name     string
	HostPath string
	Line     int
	// File is the file that declares the volume when that is not the
	// container's (a compose override file).
	File string
	// Target, when set, is the name findings about the volume are shown
	// under instead of the container's group ("volume sock" for a compose
	// project's volume, which belongs to no one service).
	Target string
	// InProject marks a compose device inside the project directory.
	InProject bool
}

// Device is a host device made available to the container.
type Device struct {
	// Host is the host path (/dev/sda) or a device cgroup rule (c *:* rwm).
	Host string
	Line int
	File string
}

// Container is the normalized configuration the checks run over. Sources
// fill in what they can express; Skip lists checks a source has no way to
// express (Kubernetes has no per-container pids limit, for instance).
type Container struct {
	Source Source
	File   string
	// Target names this container for the user: "service web",
	// "Deployment default/api container app", "container /db".
	Target string
	// Group is the unit settings shared by several containers belong to
	// (a pod's workload); pod-level findings are reported against it.
	Group string
	// Line is where the container is defined (0 when unknown).
	Line  int
	Lines map[Field]int
	// FieldFiles names the file a setting's line is in when that is not File
	// (a compose override file).
	FieldFiles map[Field]string
	// Ephemeral marks a Kubernetes ephemeral (debug) container, which cannot
	// carry resources.
	Ephemeral bool

	Privileged bool
	// CapAdd lists capabilities added to the runtime's default set; for OCI it
	// is the union of the process's capability sets. Names are upper case
	// without the CAP_ prefix ("ALL" is kept).
	CapAdd []string
	// DropsAll is true when the source drops every capability by default.
	DropsAll bool
	// KeptCaps (OCI only) are the rarely needed default capabilities still in
	// the process's sets.
	KeptCaps []string

	// Seccomp is "" for the runtime default, "unconfined", or a profile name.
	Seccomp string
	// SeccompUnset is true when the source leaves seccomp to a default that is
	// unconfined (a Kubernetes pod without seccompProfile, an OCI config
	// without linux.seccomp).
	SeccompUnset    bool
	AppArmor        string // "unconfined" when explicitly disabled
	SELinuxDisabled string // why, when SELinux separation is off
	// SELinuxCustom says what SELinux user, role or non-container type is
	// set, which Pod Security Standards forbid (one entry each).
	SELinuxCustom   []string
	NoNewPrivileges bool

	// RunsAsRoot says why the process runs as uid 0 on the host ("" when it
	// does not, or when a user namespace remaps it).
	RunsAsRoot string

	HostPID, HostNetwork, HostIPC, HostUTS, HostUserns bool

	ReadOnlyRoot bool
	MemoryLimit  int64
	PidsLimit    int64

	Mounts  []Mount
	Devices []Device
	// Volumes are host paths the pod (or compose project) declares as
	// volumes that no container mounts; every container of the pod carries
	// the same list and the finding is reported once.
	Volumes []Volume
	// UnmaskedProc says why /proc and /sys are not masked ("" when they are).
	UnmaskedProc string
	// RootPropagation is the rootfs propagation when it is shared (OCI).
	RootPropagation string

	// Unreadable lists security-relevant settings whose value cannot be read
	// (an empty seccompProfile, an unknown type or option): each is a finding
	// of its own, never taken to be fine.
	Unreadable []Unreadable

	// Skip holds checks that do not apply to this source.
	Skip map[string]bool

	// Kernel lists the container's exposure to known kernel bugs (filled
	// only by the live engine source, which knows the host's kernel).
	Kernel []KernelExposure
}

// KernelExposure is one kernel or runtime bug's outcome for a container or
// the daemon, as internal/exposure worked it out.
type KernelExposure struct {
	// Bug is the CVE id; Outcome is internal/exposure's (reachable,
	// vendor-check, unknown, blocked, fixed, not-affected); CodeReachable
	// says every precondition is met, whatever the version.
	Bug, Name, Outcome string
	CodeReachable      bool
	// Detail explains the outcome; Fix is what closes it.
	Detail, Fix string
}

// Unreadable is one setting the runtime would reject, ignore or replace with
// a default it does not show.
type Unreadable struct {
	// Field locates the setting through the container's Lines, unless Line
	// (in the file of that field) is known more exactly.
	Field Field
	Line  int
	// Detail says what was found; Fix how to write it, in the source's terms.
	Detail, Fix string
}

func (c *Container) line(f Field) int {
	if l := c.Lines[f]; l > 0 {
		return l
	}
	return c.Line
}

func (c *Container) group() string {
	if c.Group != "" {
		return c.Group
	}
	return c.Target
}

// Daemon is the Docker daemon's own configuration as far as it bears on
// breakouts.
type Daemon struct {
	// Target names the daemon ("daemon unix:///var/run/docker.sock").
	Target   string
	Rootless bool
	// UsernsRemap is true when the daemon runs containers in a remapped user
	// namespace.
	UsernsRemap bool
	// Seccomp is the daemon's default profile as Info reports it: "builtin",
	// a path, "unconfined", or "" when seccomp is not available at all.
	Seccomp string
	// NoNewPrivileges is the daemon-wide default ("no-new-privileges": true),
	// which applies to every container it starts.
	NoNewPrivileges bool
	// TCP lists plain-TCP endpoints the daemon listens on (or that we reached
	// it through) without client-certificate verification.
	TCP []string
	// Runtime lists the runtime's (runc's) known breakout bugs against the
	// version the daemon reports.
	Runtime []KernelExposure
}
