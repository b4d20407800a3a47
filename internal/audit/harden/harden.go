package harden

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/yamlpos"
	"github.com/palisade-sec/palisade/internal/selinux"
	"github.com/palisade-sec/palisade/internal/srcpos"
	yaml "go.yaml.in/yaml/v3"
)

// ErrNotYAML is returned for inputs --fix cannot rewrite.
var ErrNotYAML = errors.New("--fix rewrites compose files and Kubernetes manifests only")

// dangerous reports the capabilities --fix removes: those dangerous-capability
// reports. Lesser ones may be what the workload needs and are left alone.
func dangerous(c string) bool { return audit.CapabilityCheck(c) == "dangerous-capability" }

// dropDangerous removes the dangerous capabilities from the list at m's
// key (compose's cap_add, Kubernetes' capabilities.add), and the key when
// none is left.
func dropDangerous(m *yaml.Node, key string) {
	_, v := get(m, key)
	if v == nil || v.Kind != yaml.SequenceNode {
		return
	}
	keep := v.Content[:0]
	for _, c := range v.Content {
		if !dangerous(c.Value) {
			keep = append(keep, c)
		}
	}
	v.Content = keep
	if len(keep) == 0 {
		del(m, key)
	}
}

func get(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func del(m *yaml.Node, key string) bool {
	if m == nil || m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return true
		}
	}
	return false
}

func set(m *yaml.Node, key string, v *yaml.Node) {
	if _, old := get(m, key); old != nil {
		*old = *v
		return
	}
	m.Content = append(m.Content, scalar(key), v)
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

func boolean(v bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v)}
}

// ensureDropAll makes key's list [ALL] unless it already holds ALL.
func ensureDropAll(m *yaml.Node, key string) {
	if _, v := get(m, key); v != nil && v.Kind == yaml.SequenceNode {
		for _, it := range v.Content {
			if audit.NormalizeCap(it.Value) == "ALL" {
				return
			}
		}
	}
	set(m, key, flowSeq("ALL"))
}

// ensureTrue sets key to true unless it already is.
func ensureTrue(m *yaml.Node, key string, want bool) {
	if _, v := get(m, key); v != nil && v.Kind == yaml.ScalarNode && isTrue(v) == want && (want || v.Value == "false") {
		return
	}
	set(m, key, boolean(want))
}

func flowSeq(items ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, it := range items {
		n.Content = append(n.Content, scalar(it))
	}
	return n
}

// child returns the mapping under key, creating it when absent.
func child(m *yaml.Node, key string) *yaml.Node {
	if _, v := get(m, key); v != nil && v.Kind == yaml.MappingNode {
		return v
	}
	n := &yaml.Node{Kind: yaml.MappingNode}
	set(m, key, n)
	return n
}

func isTrue(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.ScalarNode {
		return false
	}
	switch n.Value {
	case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y":
		return true
	}
	return false
}

func note(n *yaml.Node, text string) {
	c := "palisade: " + text
	if strings.Contains(n.HeadComment, c) {
		return
	}
	if n.HeadComment != "" {
		n.HeadComment += "\n"
	}
	n.HeadComment += "# " + c
}

// mountNote comments a volume/hostPath the audit flags but --fix keeps.
func mountNote(n *yaml.Node, hostPath string) {
	slug, why := audit.MountKind(hostPath)
	switch slug {
	case "":
	case "sensitive-host-mount":
		note(n, fmt.Sprintf("%s: %s (%s); remove it, or narrow it and make it read-only", slug, hostPath, why))
	default:
		note(n, fmt.Sprintf("%s: %s (%s); remove it", slug, hostPath, why))
	}
}

func render(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Compose returns the compose file with the fixes applied.
func Compose(file string, data []byte) ([]byte, error) {
	// Every document, as docker compose merges them all.
	found := false
	out, err := eachDocument(file, data, func(doc *yaml.Node) {
		if _, services := yamlpos.Get(doc, "services"); services != nil && services.Kind == yaml.MappingNode {
			found = true
			for j := 0; j+1 < len(services.Content); j += 2 {
				fixService(services.Content[j], yamlpos.Root(services.Content[j+1]))
			}
		}
	})
	if err == nil && !found {
		return nil, &srcpos.Error{Pos: srcpos.Position{File: file}, Err: errors.New("no services mapping")}
	}
	return out, err
}

// eachDocument applies fix to every document of a YAML stream and returns
// the stream re-encoded, documents still apart ("---").
func eachDocument(file string, data []byte, fix func(doc *yaml.Node)) ([]byte, error) {
	var out bytes.Buffer
	for i, d := range yamlpos.Split(data) {
		var doc yaml.Node
		if err := yaml.Unmarshal(d.Data, &doc); err != nil {
			return nil, audit.YAMLError(file, d.Offset, err)
		}
		fix(&doc)
		b, err := render(&doc)
		if err != nil {
			return nil, &srcpos.Error{Pos: srcpos.Position{File: file, Line: d.Offset + 1}, Err: err}
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

func fixService(name, s *yaml.Node) {
	if s == nil || s.Kind != yaml.MappingNode {
		return
	}
	del(s, "privileged")
	for _, k := range []string{"pid", "ipc", "uts", "userns_mode"} {
		if _, v := get(s, k); v != nil && v.Value == "host" {
			del(s, k)
		}
	}
	if _, v := get(s, "network_mode"); v != nil && v.Value == "host" {
		del(s, "network_mode")
	}
	dropDangerous(s, "cap_add")
	ensureDropAll(s, "cap_drop")
	opts := []*yaml.Node{}
	changed, hasNNP := false, false
	if _, v := get(s, "security_opt"); v != nil && v.Kind == yaml.SequenceNode {
		for _, o := range v.Content {
			lo := strings.ToLower(o.Value)
			switch lo {
			case "no-new-privileges", "no-new-privileges:true", "no-new-privileges=true":
				hasNNP = true
				opts = append(opts, o)
				continue
			}
			switch {
			case strings.HasPrefix(lo, "no-new-privileges"),
				lo == "seccomp:unconfined", lo == "seccomp=unconfined",
				lo == "apparmor:unconfined", lo == "apparmor=unconfined",
				lo == "label:disable", lo == "label=disable",
				hostLabelType(lo),
				lo == "systempaths=unconfined", lo == "systempaths:unconfined":
				changed = true
				continue
			}
			opts = append(opts, o)
		}
	}
	if changed || !hasNNP {
		sec := &yaml.Node{Kind: yaml.SequenceNode}
		if !hasNNP {
			opts = append([]*yaml.Node{scalar("no-new-privileges:true")}, opts...)
		}
		sec.Content = opts
		set(s, "security_opt", sec)
	}
	ensureTrue(s, "read_only", true)
	if _, v := get(s, "volumes"); v != nil && v.Kind == yaml.SequenceNode {
		for _, it := range v.Content {
			switch it.Kind {
			case yaml.ScalarNode:
				parts := strings.Split(it.Value, ":")
				if len(parts) >= 2 {
					mountNote(it, parts[0])
				}
				if len(parts) == 3 {
					var o []string
					for _, p := range strings.Split(parts[2], ",") {
						if p != "shared" && p != "rshared" {
							o = append(o, p)
						}
					}
					it.Value = parts[0] + ":" + parts[1]
					if len(o) > 0 {
						it.Value += ":" + strings.Join(o, ",")
					}
				}
			case yaml.MappingNode:
				if _, src := get(it, "source"); src != nil {
					mountNote(it, src.Value)
				}
				if _, b := get(it, "bind"); b != nil {
					if _, p := get(b, "propagation"); p != nil && (p.Value == "shared" || p.Value == "rshared") {
						del(b, "propagation")
						if len(b.Content) == 0 {
							del(it, "bind")
						}
					}
				}
			}
		}
	}
	if _, v := get(s, "devices"); v != nil {
		note(v, "device-access: remove host devices the service does not need")
	}
	if k, u := get(s, "user"); u == nil || audit.RootUserReason(u.Value, "root") != "" {
		target := name
		if k != nil {
			target = k
		}
		note(target, "runs-as-root: set user: \"10001:10001\" (or USER in the image)")
	}
	if _, m := get(s, "mem_limit"); m == nil && !deployLimit(s, "memory") {
		note(name, "no-memory-limit: set mem_limit")
	}
	if _, p := get(s, "pids_limit"); p == nil && !deployLimit(s, "pids") {
		note(name, "no-pids-limit: set pids_limit")
	}
}

func deployLimit(s *yaml.Node, key string) bool {
	_, v := yamlpos.Get(s, "deploy", "resources", "limits", key)
	return v != nil
}

// Manifest returns the manifest stream with the fixes applied to every
// workload's pod template.
func Manifest(file string, data []byte) ([]byte, error) {
	return eachDocument(file, data, func(doc *yaml.Node) { fixObject(yamlpos.Root(doc), 0) })
}

func fixObject(o *yaml.Node, depth int) {
	if o == nil || o.Kind != yaml.MappingNode || depth > 8 {
		return
	}
	_, kind := get(o, "kind")
	if kind == nil {
		return
	}
	var path []any
	switch kind.Value {
	case "List":
		if _, items := get(o, "items"); items != nil && items.Kind == yaml.SequenceNode {
			for _, it := range items.Content {
				fixObject(yamlpos.Root(it), depth+1)
			}
		}
		return
	case "Pod":
		path = []any{"spec"}
	case "PodTemplate":
		path = []any{"template", "spec"}
	case "CronJob":
		path = []any{"spec", "jobTemplate", "spec", "template", "spec"}
	default:
		path = []any{"spec", "template", "spec"}
	}
	if _, spec := yamlpos.Get(o, path...); spec != nil && spec.Kind == yaml.MappingNode {
		fixPodSpec(spec)
	}
	// The legacy AppArmor annotation sits in the pod template's metadata.
	meta := append(append([]any{}, path[:len(path)-1]...), "metadata", "annotations")
	if _, ann := yamlpos.Get(o, meta...); ann != nil && ann.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(ann.Content); i += 2 {
			if strings.HasPrefix(ann.Content[i].Value, "container.apparmor.security.beta.kubernetes.io/") && ann.Content[i+1].Value == "unconfined" {
				ann.Content[i+1].Value = "runtime/default"
			}
		}
	}
}

func fixPodSpec(spec *yaml.Node) {
	for _, k := range []string{"hostPID", "hostNetwork", "hostIPC"} {
		if _, v := get(spec, k); isTrue(v) {
			del(spec, k)
		}
	}
	psc := child(spec, "securityContext")
	if _, sp := get(psc, "seccompProfile"); sp == nil {
		set(psc, "seccompProfile", &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{scalar("type"), scalar("RuntimeDefault")}})
	}
	fixProfile(psc)
	fixSELinux(psc)
	dropUnusedHostPaths(spec)
	hostPaths := map[string]string{}
	if _, vols := get(spec, "volumes"); vols != nil && vols.Kind == yaml.SequenceNode {
		for _, v := range vols.Content {
			_, name := get(v, "name")
			_, hp := yamlpos.Get(v, "hostPath", "path")
			if name != nil && hp != nil {
				hostPaths[name.Value] = hp.Value
				mountNote(v, hp.Value)
			}
		}
	}
	uk, uv := get(psc, "runAsUser")
	runAsUser := [2]*yaml.Node{uk, uv}
	for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
		if _, cs := get(spec, list); cs != nil && cs.Kind == yaml.SequenceNode {
			for _, c := range cs.Content {
				fixContainer(yamlpos.Root(c), list == "ephemeralContainers", runAsUser)
			}
		}
	}
}

// dropUnusedHostPaths removes the hostPath volumes host-path-volume reports:
// sensitive paths no container mounts, so removing them breaks nothing.
func dropUnusedHostPaths(spec *yaml.Node) {
	used := map[string]bool{}
	for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
		_, cs := get(spec, list)
		if cs == nil || cs.Kind != yaml.SequenceNode {
			continue
		}
		for _, c := range cs.Content {
			if _, vms := get(yamlpos.Root(c), "volumeMounts"); vms != nil && vms.Kind == yaml.SequenceNode {
				for _, vm := range vms.Content {
					if _, n := get(yamlpos.Root(vm), "name"); n != nil {
						used[n.Value] = true
					}
				}
			}
		}
	}
	_, vols := get(spec, "volumes")
	if vols == nil || vols.Kind != yaml.SequenceNode {
		return
	}
	kept := vols.Content[:0]
	for _, v := range vols.Content {
		_, name := get(yamlpos.Root(v), "name")
		_, hp := yamlpos.Get(v, "hostPath", "path")
		if name != nil && hp != nil && !used[name.Value] {
			if slug, _ := audit.MountKind(hp.Value); slug != "" {
				continue
			}
		}
		kept = append(kept, v)
	}
	vols.Content = kept
	if len(kept) == 0 {
		del(spec, "volumes")
	}
}

func fixProfile(sc *yaml.Node) {
	if _, sp := get(sc, "seccompProfile"); sp != nil {
		if _, t := get(sp, "type"); t != nil && t.Value == "Unconfined" {
			t.Value = "RuntimeDefault"
		}
	}
	if _, ap := get(sc, "appArmorProfile"); ap != nil {
		if _, t := get(ap, "type"); t != nil && t.Value == "Unconfined" {
			t.Value = "RuntimeDefault"
		}
	}
}

// hostLabelType reports whether a lower-cased security_opt entry is
// label=type:T (or label:type:T) with T a host domain.
func hostLabelType(lo string) bool {
	for _, p := range []string{"label=type:", "label:type:"} {
		if t, ok := strings.CutPrefix(lo, p); ok && selinux.HostDomain(t) != "" {
			return true
		}
	}
	return false
}

// fixSELinux drops an unconfined SELinux type, and the options block if
// nothing is left in it.
func fixSELinux(sc *yaml.Node) {
	_, se := get(sc, "seLinuxOptions")
	if se == nil {
		return
	}
	if _, t := get(se, "type"); t != nil && selinux.HostDomain(t.Value) != "" {
		del(se, "type")
	}
	if se.Kind == yaml.MappingNode && len(se.Content) == 0 {
		del(sc, "seLinuxOptions")
	}
}

func fixContainer(c *yaml.Node, ephemeral bool, podUID [2]*yaml.Node) {
	if c == nil || c.Kind != yaml.MappingNode {
		return
	}
	sc := child(c, "securityContext")
	del(sc, "privileged")
	ensureTrue(sc, "allowPrivilegeEscalation", false)
	ensureTrue(sc, "readOnlyRootFilesystem", true)
	caps := child(sc, "capabilities")
	ensureDropAll(caps, "drop")
	dropDangerous(caps, "add")
	if _, pm := get(sc, "procMount"); pm != nil && pm.Value == "Unmasked" {
		del(sc, "procMount")
	}
	fixProfile(sc)
	fixSELinux(sc)
	uidKey, uid := podUID[0], podUID[1]
	if k, u := get(sc, "runAsUser"); u != nil {
		uidKey, uid = k, u
	}
	if uid != nil && uid.Value == "0" {
		note(uidKey, "runs-as-root: set runAsUser to a non-zero uid")
	} else if uid == nil {
		set(sc, "runAsNonRoot", boolean(true))
	}
	if _, vms := get(c, "volumeMounts"); vms != nil && vms.Kind == yaml.SequenceNode {
		for _, vm := range vms.Content {
			if _, p := get(vm, "mountPropagation"); p != nil && p.Value == "Bidirectional" {
				del(vm, "mountPropagation")
			}
		}
	}
	if !ephemeral {
		if _, mem := yamlpos.Get(c, "resources", "limits", "memory"); mem == nil {
			k, _ := get(c, "name")
			if k != nil {
				note(k, "no-memory-limit: set resources.limits.memory")
			}
		}
	}
}
