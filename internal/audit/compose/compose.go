package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/yamlpos"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/palisade-sec/palisade/internal/srcpos"
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
// The documents of a multi-document file are merged in order, as docker
// compose merges them; a document that is not valid YAML is reported with
// its index and line, and the project is loaded from the others. err joins
// one *srcpos.Error per broken document, or holds the one error that
// stopped the project from loading.
func Parse(ctx context.Context, files []string, opt Options) ([]*audit.Container, error) {
	quietLogs.Do(func() { logrus.SetOutput(io.Discard) })
	main := files[0]
	var docs []Doc
	var errs []error
	configs := make([]types.ConfigFile, len(files))
	for i, f := range files {
		b, err := input.ReadFile(ctx, f, input.Manifest)
		if err != nil {
			return nil, &srcpos.Error{Pos: srcpos.Position{File: f}, Err: err}
		}
		ds, kept, bad := splitDocs(f, b)
		docs = append(docs, ds...)
		errs = append(errs, bad...)
		a, err := filepath.Abs(f)
		if err != nil {
			return nil, &srcpos.Error{Pos: srcpos.Position{File: f}, Err: err}
		}
		configs[i] = types.ConfigFile{Filename: a, Content: kept}
	}
	if len(errs) > 0 && (len(docs) == 0 || docs[0].File != main) {
		return nil, errors.Join(errs...) // nothing readable in the base file
	}
	if len(errs) == 0 && len(docs) == 0 {
		return nil, &srcpos.Error{Pos: srcpos.Position{File: main}, Err: errors.New("empty compose file")}
	}
	var root *yaml.Node
	if len(docs) > 0 {
		root = docs[0].Root
	}
	po, err := cli.NewProjectOptions([]string{configs[0].Filename}, envOptions(filepath.Dir(configs[0].Filename), opt)...)
	if err != nil {
		return nil, &srcpos.Error{Pos: srcpos.Position{File: main}, Err: fmt.Errorf("load compose project: %w", err)}
	}
	// The loader is given the files' content, with broken documents blanked
	// out, rather than their paths.
	proj, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  filepath.Dir(configs[0].Filename),
		ConfigFiles: configs,
		Environment: po.Environment,
	}, loader.WithProfiles([]string{"*"}), func(o *loader.Options) {
		o.SetProjectName("palisade-audit", true)
		o.SkipConsistencyCheck = true
		o.ResolvePaths = true
	})
	if err != nil {
		abs := make([]string, len(configs))
		for i, c := range configs {
			abs[i] = c.Filename
		}
		errs = append(errs, &srcpos.Error{Pos: srcpos.Position{File: main, Line: errLine(root, err)}, Err: fmt.Errorf("load compose project: %v", cleanErr(err, abs))})
		return nil, errors.Join(errs...)
	}
	names := make([]string, 0, len(proj.Services))
	for n := range proj.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	bound := boundVolumes(proj, docs)
	used := map[string]bool{}
	var out []*audit.Container
	for _, n := range names {
		s := proj.Services[n]
		c := FromService(&s, docs)
		// A named volume whose driver_opts bind a host path is a bind mount
		// of that path in all but name.
		for i, m := range c.Mounts {
			if v, ok := bound[m.Name]; ok && m.HostPath == "" {
				c.Mounts[i].HostPath = v.HostPath
				used[m.Name] = true
			}
		}
		markInProject(c, proj.WorkingDir)
		out = append(out, c)
	}
	var unused []audit.Volume
	for _, name := range sortedKeys(bound) {
		if v := bound[name]; !used[name] {
			if v.File == main {
				v.File = ""
			}
			v.InProject = strings.HasPrefix(filepath.Clean(v.HostPath), filepath.Clean(proj.WorkingDir)+"/")
			unused = append(unused, v)
		}
	}
	for _, c := range out {
		c.Volumes = unused
	}
	return out, errors.Join(errs...)
}

// envOptions gather the interpolation environment as docker compose does:
// the process environment (or opt.Env), then the .env beside the base file.
func envOptions(dir string, opt Options) []cli.ProjectOptionsFn {
	fns := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(dir)}
	if opt.Env != nil {
		fns = append(fns, cli.WithEnv(opt.Env))
	} else {
		fns = append(fns, cli.WithOsEnv)
	}
	return append(fns, cli.WithEnvFiles(), cli.WithDotEnv)
}

// splitDocs parses each document of a compose file on its own. It returns
// the readable documents (node lines are the file's), the file's content
// with unreadable documents blanked (so line numbers stay put), and one
// error per unreadable document naming its index and line.
func splitDocs(file string, data []byte) (docs []Doc, kept []byte, errs []error) {
	parts := yamlpos.Split(data)
	kept = data
	for i, d := range parts {
		// Leading newlines put the document's nodes on the file's lines.
		var n yaml.Node
		err := yaml.Unmarshal(append(bytes.Repeat([]byte("\n"), d.Offset), d.Data...), &n)
		if err == nil {
			docs = append(docs, Doc{File: file, Root: &n})
			continue
		}
		e := audit.YAMLError(file, 0, err)
		if len(parts) > 1 {
			if ie, ok := e.(*srcpos.Error); ok {
				ie.Err = fmt.Errorf("document %d: %w", i+1, ie.Err)
			}
		}
		errs = append(errs, e)
		if len(errs) == 1 {
			kept = append([]byte(nil), data...)
		}
		// Split keeps every byte in place, so the document spans
		// len(d.Data) bytes from the start of its first line.
		off := 0
		for l := 0; l < d.Offset; l++ {
			off += bytes.IndexByte(data[off:], '\n') + 1
		}
		for j := off; j < off+len(d.Data) && j < len(kept); j++ {
			if kept[j] != '\n' {
				kept[j] = ' '
			}
		}
	}
	return docs, kept, errs
}

// boundVolumes finds the project's top-level volumes whose local driver
// binds a host path (driver_opts type: none, o: bind, device: PATH).
func boundVolumes(proj *types.Project, docs []Doc) map[string]audit.Volume {
	out := map[string]audit.Volume{}
	for name, v := range proj.Volumes {
		if bool(v.External) || (v.Driver != "" && v.Driver != "local") {
			continue
		}
		dev := v.DriverOpts["device"]
		bind := false
		for _, o := range strings.Split(v.DriverOpts["o"], ",") {
			if o = strings.TrimSpace(o); o == "bind" || o == "rbind" {
				bind = true
			}
		}
		if !bind || !strings.HasPrefix(dev, "/") {
			continue
		}
		av := audit.Volume{Name: name, HostPath: dev, Target: "volume " + name}
		for i := len(docs) - 1; i >= 0 && av.Line == 0; i-- {
			av.Line = yamlpos.FirstLine(docs[i].Root, []any{"volumes", name, "driver_opts", "device"}, []any{"volumes", name})
			av.File = docs[i].File
		}
		out[name] = av
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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

// markInProject flags binds strictly inside the project directory.
func markInProject(c *audit.Container, dir string) {
	dir = filepath.Clean(dir)
	if dir == "/" || dir == "." {
		return
	}
	for i := range c.Mounts {
		if strings.HasPrefix(filepath.Clean(c.Mounts[i].HostPath), dir+"/") {
			c.Mounts[i].InProject = true
		}
	}
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

// Doc is one parsed compose file, for positions.
type Doc struct {
	File string
	Root *yaml.Node
}

// locate finds a key under services.NAME in the files, the last file that
// sets it winning as in compose's merge. It returns the key node and file.
func locate(docs []Doc, name string, path ...any) (*yaml.Node, *yaml.Node, string) {
	for i := len(docs) - 1; i >= 0; i-- {
		if k, v := yamlpos.Get(docs[i].Root, append([]any{"services", name}, path...)...); k != nil {
			return k, v, docs[i].File
		}
	}
	return nil, nil, ""
}

// volumeTarget is the container path a volumes entry (short or long form)
// mounts at.
func volumeTarget(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		parts := strings.Split(n.Value, ":")
		if len(parts) >= 2 {
			return parts[1]
		}
		return parts[0]
	case yaml.MappingNode:
		if _, t := yamlpos.Get(n, "target"); t != nil {
			return t.Value
		}
	}
	return ""
}

// FromService normalizes one loaded service. docs are the parsed files in
// load order (base first), for the positions of offending keys; the
// container's File is the first.
func FromService(s *types.ServiceConfig, docs []Doc) *audit.Container {
	file := ""
	if len(docs) > 0 {
		file = docs[0].File
	}
	c := &audit.Container{
		Source:     audit.SourceCompose,
		File:       file,
		Target:     "service " + s.Name,
		Lines:      map[audit.Field]int{},
		FieldFiles: map[audit.Field]string{},
	}
	// The service is defined where it first appears (the base file, unless
	// only an override declares it).
	for _, d := range docs {
		if k, _ := yamlpos.Get(d.Root, "services", s.Name); k != nil {
			c.Line = k.Line
			if d.File != file {
				c.FieldFiles[0] = d.File
			}
			break
		}
	}
	set := func(field audit.Field, paths ...[]any) {
		for _, p := range paths {
			if k, _, f := locate(docs, s.Name, p...); k != nil {
				c.Lines[field] = k.Line
				if f != file {
					c.FieldFiles[field] = f
				}
				return
			}
		}
	}
	secOpt := func(field audit.Field, prefixes ...string) {
		_, seq, f := locate(docs, s.Name, "security_opt")
		if seq != nil && seq.Kind == yaml.SequenceNode {
			for _, it := range seq.Content {
				for _, prefix := range prefixes {
					if strings.HasPrefix(strings.ToLower(it.Value), prefix) {
						c.Lines[field] = it.Line
						if f != file {
							c.FieldFiles[field] = f
						}
						return
					}
				}
			}
		}
		set(field, []any{"security_opt"})
	}
	set(audit.FieldPrivileged, []any{"privileged"})
	set(audit.FieldCapAdd, []any{"cap_add"})
	set(audit.FieldCapDrop, []any{"cap_drop"})
	secOpt(audit.FieldSeccomp, "seccomp")
	secOpt(audit.FieldAppArmor, "apparmor")
	secOpt(audit.FieldSELinux, "label")
	secOpt(audit.FieldSELinuxOptions, "label")
	secOpt(audit.FieldNoNewPrivileges, "no-new-privileges")
	secOpt(audit.FieldProcMount, "systempaths", "unmask")
	set(audit.FieldSecurity, []any{"security_opt"})
	set(audit.FieldUser, []any{"user"})
	set(audit.FieldHostPID, []any{"pid"})
	set(audit.FieldHostNetwork, []any{"network_mode"}, []any{"net"})
	set(audit.FieldHostIPC, []any{"ipc"})
	set(audit.FieldHostUTS, []any{"uts"})
	set(audit.FieldHostUserns, []any{"userns_mode"})
	set(audit.FieldReadOnlyRoot, []any{"read_only"})
	set(audit.FieldMemory, []any{"mem_limit"}, []any{"deploy", "resources", "limits"})
	set(audit.FieldPids, []any{"pids_limit"}, []any{"deploy", "resources", "limits"})
	// A field without its own key points at the service, in whichever file
	// defines it.
	if f := c.FieldFiles[0]; f != "" {
		for _, fld := range []audit.Field{audit.FieldPrivileged, audit.FieldCapAdd, audit.FieldCapDrop, audit.FieldSeccomp, audit.FieldAppArmor, audit.FieldSELinux, audit.FieldSELinuxOptions, audit.FieldNoNewPrivileges, audit.FieldProcMount, audit.FieldSecurity, audit.FieldUser, audit.FieldHostPID, audit.FieldHostNetwork, audit.FieldHostIPC, audit.FieldHostUTS, audit.FieldHostUserns, audit.FieldReadOnlyRoot, audit.FieldMemory, audit.FieldPids} {
			if c.Lines[fld] == 0 {
				c.FieldFiles[fld] = f
			}
		}
	}
	delete(c.FieldFiles, 0)
	c.Privileged = s.Privileged
	c.CapAdd = append(c.CapAdd, s.CapAdd...)
	c.DropsAll = audit.CapsDropAll(s.CapDrop)
	var optLines []int
	if _, seq, _ := locate(docs, s.Name, "security_opt"); seq != nil && seq.Kind == yaml.SequenceNode && len(seq.Content) == len(s.SecurityOpt) {
		for _, it := range seq.Content {
			optLines = append(optLines, it.Line)
		}
	}
	audit.ApplySecurityOpts(c, s.SecurityOpt, optLines)
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
	_, devNode, devFile := locate(docs, s.Name, "devices")
	for i, d := range s.Devices {
		dev := audit.Device{Host: d.Source, Line: c.Line}
		if devNode != nil {
			dev.Line, dev.File = devNode.Line, devFile
			if devNode.Kind == yaml.SequenceNode && len(devNode.Content) == len(s.Devices) {
				dev.Line = devNode.Content[i].Line
			}
		}
		c.Devices = append(c.Devices, dev)
	}
	for _, r := range s.DeviceCgroupRules {
		k, _, f := locate(docs, s.Name, "device_cgroup_rules")
		dev := audit.Device{Host: "cgroup rule " + r, Line: c.Line}
		if k != nil {
			dev.Line, dev.File = k.Line, f
		}
		c.Devices = append(c.Devices, dev)
	}
	for _, v := range s.Volumes {
		m := audit.Mount{Destination: v.Target, ReadOnly: v.ReadOnly, Line: c.Line}
		// The entry is matched by target, the key compose merges volumes on.
		for i := len(docs) - 1; i >= 0; i-- {
			_, seq := yamlpos.Get(docs[i].Root, "services", s.Name, "volumes")
			if seq == nil || seq.Kind != yaml.SequenceNode {
				continue
			}
			found := false
			for _, it := range seq.Content {
				if volumeTarget(it) == v.Target {
					m.Line, m.File, found = it.Line, docs[i].File, true
					break
				}
			}
			if found {
				break
			}
		}
		if m.File == file {
			m.File = ""
		}
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
