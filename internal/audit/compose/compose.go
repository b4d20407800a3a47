package compose

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/yamlpos"
	"github.com/sirupsen/logrus"
	yaml "go.yaml.in/yaml/v3"
)

var nameRE = regexp.MustCompile(`^(docker-)?compose(\.[^/]+)?\.ya?ml$`)

// IsComposeName reports whether a file name is one docker compose looks for
// (compose.yaml, docker-compose.yml, compose.prod.yaml...).
func IsComposeName(name string) bool { return nameRE.MatchString(filepath.Base(name)) }

// IsOverrideName reports whether a file is an override that compose applies
// on top of the base file in the same directory.
func IsOverrideName(name string) bool {
	b := filepath.Base(name)
	return IsComposeName(b) && strings.Contains(b, ".override.")
}

// Looks reports whether YAML data has a top-level services key.
func Looks(data []byte) bool {
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "services:") {
			return true
		}
	}
	return false
}

var quietLogs sync.Once

// Options control how a project is loaded.
type Options struct {
	// Env replaces the process environment for interpolation when non-nil.
	Env []string
}

// Parse loads the compose files (the first is the base; later ones override
// it, as with docker compose -f a -f b) and returns one container per service.
func Parse(ctx context.Context, files []string, opt Options) ([]*audit.Container, error) {
	quietLogs.Do(func() { logrus.SetOutput(io.Discard) })
	main := files[0]
	data, err := os.ReadFile(main)
	if err != nil {
		return nil, &audit.InputError{File: main, Err: err}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, audit.YAMLError(main, 0, err)
	}
	for _, f := range files[1:] {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, &audit.InputError{File: f, Err: err}
		}
		var n yaml.Node
		if err := yaml.Unmarshal(b, &n); err != nil {
			return nil, audit.YAMLError(f, 0, err)
		}
	}
	abs := make([]string, len(files))
	for i, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			return nil, &audit.InputError{File: f, Err: err}
		}
		abs[i] = a
	}
	fns := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(filepath.Dir(abs[0])),
		cli.WithName("palisade-audit"),
		cli.WithProfiles([]string{"*"}),
		cli.WithConsistency(false),
		cli.WithResolvedPaths(true),
	}
	if opt.Env != nil {
		fns = append(fns, cli.WithEnv(opt.Env))
	} else {
		fns = append(fns, cli.WithOsEnv)
	}
	fns = append(fns, cli.WithEnvFiles(), cli.WithDotEnv)
	po, err := cli.NewProjectOptions(abs, fns...)
	if err != nil {
		return nil, &audit.InputError{File: main, Err: fmt.Errorf("load compose project: %w", err)}
	}
	proj, err := po.LoadProject(ctx)
	if err != nil {
		return nil, &audit.InputError{File: main, Line: errLine(&root, err), Err: fmt.Errorf("load compose project: %v", cleanErr(err, abs))}
	}
	names := make([]string, 0, len(proj.Services))
	for n := range proj.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*audit.Container
	for _, n := range names {
		s := proj.Services[n]
		out = append(out, FromService(&s, main, &root))
	}
	return out, nil
}

var svcInErr = regexp.MustCompile(`services\.([A-Za-z0-9._-]+)`)

// errLine finds the service (and key) an error names, for its position.
// Service names may contain dots, so every split of "services.a.b.c" is
// tried, longest key path last.
func errLine(root *yaml.Node, err error) int {
	m := svcInErr.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	parts := strings.Split(m[1], ".")
	best := 0
	for i := 1; i <= len(parts); i++ {
		path := []any{"services", strings.Join(parts[:i], ".")}
		for _, k := range parts[i:] {
			path = append(path, k)
		}
		for j := len(path); j >= 2; j-- {
			if l := yamlpos.Line(root, path[:j]...); l > 0 {
				if j == len(path) {
					return l
				}
				if best == 0 {
					best = l
				}
				break
			}
		}
	}
	return best
}

// cleanErr shortens absolute paths in compose-go's errors back to what the
// user typed.
func cleanErr(err error, abs []string) string {
	s := err.Error()
	for _, a := range abs {
		s = strings.ReplaceAll(s, a+": ", "")
		s = strings.ReplaceAll(s, a, filepath.Base(a))
	}
	return s
}

// FromService normalizes one loaded service; root is the parsed base file for
// positions (nil when unknown).
func FromService(s *types.ServiceConfig, file string, root *yaml.Node) *audit.Container {
	line := func(path ...any) int {
		return yamlpos.Line(root, append([]any{"services", s.Name}, path...)...)
	}
	first := func(paths ...[]any) int {
		for _, p := range paths {
			if l := line(p...); l > 0 {
				return l
			}
		}
		return 0
	}
	_, secNode := yamlpos.Get(root, "services", s.Name, "security_opt")
	secLine := func(prefix string) int {
		if secNode != nil && secNode.Kind == yaml.SequenceNode {
			for _, it := range secNode.Content {
				if strings.HasPrefix(strings.ToLower(it.Value), prefix) {
					return it.Line
				}
			}
		}
		return line("security_opt")
	}
	c := &audit.Container{
		Source: audit.SourceCompose,
		File:   file,
		Target: "service " + s.Name,
		Line:   line(),
		Lines: map[audit.Field]int{
			audit.FieldPrivileged:      line("privileged"),
			audit.FieldCapAdd:          line("cap_add"),
			audit.FieldCapDrop:         line("cap_drop"),
			audit.FieldSeccomp:         secLine("seccomp"),
			audit.FieldAppArmor:        secLine("apparmor"),
			audit.FieldSELinux:         secLine("label"),
			audit.FieldNoNewPrivileges: secLine("no-new-privileges"),
			audit.FieldProcMount:       secLine("systempaths"),
			audit.FieldUser:            line("user"),
			audit.FieldHostPID:         line("pid"),
			audit.FieldHostNetwork:     first([]any{"network_mode"}, []any{"net"}),
			audit.FieldHostIPC:         line("ipc"),
			audit.FieldHostUTS:         line("uts"),
			audit.FieldHostUserns:      line("userns_mode"),
			audit.FieldReadOnlyRoot:    line("read_only"),
			audit.FieldMemory:          first([]any{"mem_limit"}, []any{"deploy", "resources", "limits"}),
			audit.FieldPids:            first([]any{"pids_limit"}, []any{"deploy", "resources", "limits"}),
		},
	}
	c.Privileged = s.Privileged
	c.CapAdd = append(c.CapAdd, s.CapAdd...)
	c.DropsAll = audit.CapsDropAll(s.CapDrop)
	audit.ApplySecurityOpts(c, s.SecurityOpt)
	c.RunsAsRoot = audit.RootUserReason(s.User, "no user set: the image's USER applies, root unless the image sets one")
	c.HostPID = s.Pid == "host"
	c.HostNetwork = s.NetworkMode == "host" || s.Net == "host"
	c.HostIPC = s.Ipc == "host"
	c.HostUTS = s.Uts == "host"
	c.HostUserns = s.UserNSMode == "host"
	c.ReadOnlyRoot = s.ReadOnly
	c.MemoryLimit = int64(s.MemLimit)
	c.PidsLimit = s.PidsLimit
	if s.Deploy != nil && s.Deploy.Resources.Limits != nil {
		if c.MemoryLimit <= 0 {
			c.MemoryLimit = int64(s.Deploy.Resources.Limits.MemoryBytes)
		}
		if c.PidsLimit <= 0 {
			c.PidsLimit = s.Deploy.Resources.Limits.Pids
		}
	}
	_, devNode := yamlpos.Get(root, "services", s.Name, "devices")
	for i, d := range s.Devices {
		dl := line("devices")
		if devNode != nil && devNode.Kind == yaml.SequenceNode && len(devNode.Content) == len(s.Devices) {
			dl = devNode.Content[i].Line
		}
		c.Devices = append(c.Devices, audit.Device{Host: d.Source, Line: dl})
	}
	for _, r := range s.DeviceCgroupRules {
		c.Devices = append(c.Devices, audit.Device{Host: "cgroup rule " + r, Line: line("device_cgroup_rules")})
	}
	_, volNode := yamlpos.Get(root, "services", s.Name, "volumes")
	for i, v := range s.Volumes {
		vl := line("volumes")
		if volNode != nil && volNode.Kind == yaml.SequenceNode && len(volNode.Content) == len(s.Volumes) {
			vl = volNode.Content[i].Line
		}
		m := audit.Mount{Destination: v.Target, ReadOnly: v.ReadOnly, Line: vl}
		if v.Type == types.VolumeTypeBind {
			m.HostPath = v.Source
		} else {
			m.Name = v.Source
		}
		if v.Bind != nil {
			m.Propagation = v.Bind.Propagation
		}
		c.Mounts = append(c.Mounts, m)
	}
	return c
}
