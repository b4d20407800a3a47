package fields

import (
	"sort"
	"strconv"
	"strings"

	"github.com/palisade-sec/palisade/internal/event"
	"github.com/palisade-sec/palisade/internal/glob"
)

func ctr(e *event.Event) *event.Container {
	if e.Proc == nil {
		return nil
	}
	if e.Proc.Container == nil {
		return event.Host
	}
	return e.Proc.Container
}

func ctrStr(name, desc string, fn func(c *event.Container) (string, bool)) {
	strI(name, desc, func(e *event.Event, _ int) (string, bool) {
		c := ctr(e)
		if c == nil {
			return "", false
		}
		return fn(c)
	})
}

// inContainer applies fn only to real containers; the host has no image,
// labels or mounts.
func inContainer(fn func(c *event.Container) (string, bool)) func(c *event.Container) (string, bool) {
	return func(c *event.Container) (string, bool) {
		if c.IsHost() {
			return "", false
		}
		return fn(c)
	}
}

// NA is what Falco prints for a value that is not present.
const NA = "<NA>"

// mountField registers container.mount.X[N|path]: by 0-based index, or for
// a path argument the mount whose other end matches it as a glob (dest is
// looked up by source and source by dest, as Falco does). An unmatched
// mount in a container yields "<NA>" so `not ... in ("<NA>")` tests presence.
func mountField(name, desc string, byDest bool, fn func(m *event.Mount) string) {
	register(&Field{Name: name, Kind: String, Arg: RequiredKey, Desc: desc, make: func(arg string, _ int) Extractor {
		idx, err := strconv.Atoi(arg)
		isIdx := err == nil
		return Extractor{Str: func(e *event.Event, _ int) (string, bool) {
			c := ctr(e)
			if c == nil || c.IsHost() {
				return "", false
			}
			for i := range c.Mounts {
				m := &c.Mounts[i]
				if isIdx {
					if i == idx {
						return fn(m), true
					}
					continue
				}
				key := m.Source
				if byDest {
					key = m.Dest
				}
				if glob.Match(arg, key, 0) {
					return fn(m), true
				}
			}
			return NA, true
		}}
	}})
}

func init() {
	strI("container.id", "container id (12 hex characters), or host", func(e *event.Event, _ int) (string, bool) {
		if e.Proc == nil {
			return "", false
		}
		if e.Proc.Container == nil {
			return "host", true
		}
		return e.Proc.Container.ID, true
	})
	ctrStr("container.full_id", "full container id, or host", func(c *event.Container) (string, bool) { return c.ID, true })
	ctrStr("container.name", "container name, or host", func(c *event.Container) (string, bool) { return nonEmpty(c.Name) })
	ctrStr("container.image", "image as the container was started with it (repository:tag)", inContainer(func(c *event.Container) (string, bool) { return nonEmpty(c.Image) }))
	ctrStr("container.image.id", "image id", inContainer(func(c *event.Container) (string, bool) { return nonEmpty(c.ImageID) }))
	ctrStr("container.image.repository", "image repository (without tag)", inContainer(func(c *event.Container) (string, bool) { return nonEmpty(c.ImageRepository) }))
	ctrStr("container.image.tag", "image tag", inContainer(func(c *event.Container) (string, bool) { return nonEmpty(c.ImageTag) }))
	ctrStr("container.image.digest", "image digest", inContainer(func(c *event.Container) (string, bool) { return nonEmpty(c.ImageDigest) }))
	ctrStr("container.type", "runtime that owns the container (docs/runtimes.md): docker, podman, containerd, cri-o, cri (a CRI runtime no engine named), host; <NA> for an id no runtime claims", func(c *event.Container) (string, bool) { return nonEmpty(c.Type) })
	boolean("container.privileged", "true for a privileged container", func(e *event.Event) (bool, bool) {
		c := ctr(e)
		if c == nil || c.IsHost() || !c.HasPrivileged {
			return false, false
		}
		return c.Privileged, true
	})
	num("container.start_ts", "container start time, Unix ns", func(e *event.Event) (int64, bool) {
		c := ctr(e)
		if c == nil || c.IsHost() || c.StartTime == 0 {
			return 0, false
		}
		return c.StartTime, true
	})
	num("container.duration", "ns since the container started", func(e *event.Event) (int64, bool) {
		c := ctr(e)
		if c == nil || c.IsHost() || c.StartTime == 0 {
			return 0, false
		}
		return e.Time - c.StartTime, true
	})
	ctrStr("container.labels", "container labels as key:value pairs separated by commas", inContainer(func(c *event.Container) (string, bool) {
		if len(c.Labels) == 0 {
			return "", false
		}
		keys := make([]string, 0, len(c.Labels))
		for k := range c.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + ":" + c.Labels[k])
		}
		return b.String(), true
	}))
	register(&Field{Name: "container.label", Kind: String, Arg: RequiredKey, Desc: "one container label: container.label[KEY]", make: func(arg string, _ int) Extractor {
		return Extractor{Str: func(e *event.Event, _ int) (string, bool) {
			c := ctr(e)
			if c == nil || c.IsHost() {
				return "", false
			}
			v, ok := c.Labels[arg]
			return v, ok
		}}
	}})
	ctrStr("container.mounts", "mounts as source:dest:mode:rdwr:propagation, comma separated", inContainer(func(c *event.Container) (string, bool) {
		var b strings.Builder
		for i, m := range c.Mounts {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(m.Source + ":" + m.Dest + ":" + m.Mode + ":" + strconv.FormatBool(m.RW) + ":" + m.Propagation)
		}
		return b.String(), true
	}))
	mountField("container.mount.source", "mount source: [N] by index, [PATH] by destination glob", true, func(m *event.Mount) string { return m.Source })
	mountField("container.mount.dest", "mount destination: [N] by index, [PATH] by source glob", false, func(m *event.Mount) string { return m.Dest })
	mountField("container.mount.mode", "mount mode: [N] or [SOURCE glob]", false, func(m *event.Mount) string { return m.Mode })
	mountField("container.mount.rdwr", "mount writable (true/false): [N] or [SOURCE glob]", false, func(m *event.Mount) string { return strconv.FormatBool(m.RW) })
	mountField("container.mount.propagation", "mount propagation: [N] or [SOURCE glob]", false, func(m *event.Mount) string { return m.Propagation })
	register(&Field{Name: "container.mount", Kind: String, Arg: RequiredKey, Desc: "one mount as source:dest:mode:rdwr:propagation, by [N] or [SOURCE glob]", make: func(arg string, _ int) Extractor {
		idx, err := strconv.Atoi(arg)
		return Extractor{Str: func(e *event.Event, _ int) (string, bool) {
			c := ctr(e)
			if c == nil || c.IsHost() {
				return "", false
			}
			for i, m := range c.Mounts {
				if (err == nil && i == idx) || (err != nil && glob.Match(arg, m.Source, 0)) {
					return m.Source + ":" + m.Dest + ":" + m.Mode + ":" + strconv.FormatBool(m.RW) + ":" + m.Propagation, true
				}
			}
			return NA, true
		}}
	}})
	ctrStr("k8s.ns.name", "Kubernetes namespace (from the runtime's pod labels)", inContainer(func(c *event.Container) (string, bool) { return nonEmpty(c.K8sNamespace) }))
	ctrStr("k8s.pod.name", "Kubernetes pod name", inContainer(func(c *event.Container) (string, bool) { return nonEmpty(c.K8sPodName) }))
	ctrStr("k8s.pod.uid", "Kubernetes pod uid", inContainer(func(c *event.Container) (string, bool) { return nonEmpty(c.K8sPodUID) }))
	register(&Field{Name: "k8s.pod.label", Kind: String, Arg: RequiredKey, Desc: "one pod label: k8s.pod.label[KEY]", make: func(arg string, _ int) Extractor {
		return Extractor{Str: func(e *event.Event, _ int) (string, bool) {
			c := ctr(e)
			if c == nil || c.IsHost() || c.K8sPodName == "" {
				return "", false
			}
			v, ok := c.Labels[arg]
			return v, ok
		}}
	}})
}
