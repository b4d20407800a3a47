package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/audit/yamlpos"
	"github.com/palisade-sec/palisade/internal/selinux"
	"github.com/palisade-sec/palisade/internal/srcpos"
	yaml "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxListDepth bounds nested List kinds.
const MaxListDepth = 8

// Built-in kinds that hold no containers; they are skipped silently.
var noContainers = map[string]bool{
	"Service": true, "ConfigMap": true, "Secret": true, "Namespace": true, "ServiceAccount": true,
	"Role": true, "RoleBinding": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"Ingress": true, "IngressClass": true, "NetworkPolicy": true, "PersistentVolume": true,
	"PersistentVolumeClaim": true, "StorageClass": true, "HorizontalPodAutoscaler": true,
	"PodDisruptionBudget": true, "CustomResourceDefinition": true, "LimitRange": true,
	"ResourceQuota": true, "Endpoints": true, "EndpointSlice": true, "PriorityClass": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"APIService": true, "Lease": true, "Event": true, "RuntimeClass": true, "CSIDriver": true,
	"VolumeAttachment": true, "CSINode": true, "Node": true, "ControllerRevision": true,
	"Kustomization": true, "VerticalPodAutoscaler": true, "Certificate": true,
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// Looks reports whether a YAML or JSON file has top-level apiVersion and kind
// keys. It looks at the text only, so a manifest too broken to parse is still
// recognized (and its error reported).
func Looks(data []byte) bool {
	api, kind := false, false
	for _, l := range bytes.Split(data, []byte("\n")) {
		switch {
		case bytes.HasPrefix(l, []byte("apiVersion:")):
			api = true
		case bytes.HasPrefix(l, []byte("kind:")):
			kind = true
		}
	}
	if api && kind {
		return true
	}
	t := bytes.TrimSpace(data)
	return len(t) > 0 && t[0] == '{' && bytes.Contains(t, []byte(`"apiVersion"`)) && bytes.Contains(t, []byte(`"kind"`))
}

// Parse reads every document of a manifest file. Each document stands
// alone: one that cannot be read is reported with its index and line while
// the others are still audited, and a kind that holds no containers palisade
// knows of (PodSecurityPolicy, a custom resource without a pod template) is
// skipped with a note. err joins one *srcpos.Error per broken document.
func Parse(file string, data []byte) (cs []*audit.Container, notes []audit.Note, err error) {
	docs := yamlpos.Split(data)
	p := &parser{file: file}
	var errs []error
	for i, d := range docs {
		p.offset, p.doc = d.Offset, 0
		if len(docs) > 1 {
			p.doc = i + 1
		}
		var node yaml.Node
		if err := yaml.Unmarshal(d.Data, &node); err != nil {
			errs = append(errs, p.inDoc(audit.YAMLError(file, d.Offset, err)))
			continue
		}
		js, err := yamlpos.ToJSON(&node)
		if err != nil {
			errs = append(errs, p.inDoc(audit.YAMLError(file, d.Offset, err)))
			continue
		}
		got, err := p.object(js, yamlpos.Root(&node), 0)
		cs = append(cs, got...)
		errs = flatten(errs, err)
	}
	return cs, p.notes, errors.Join(errs...)
}

// flatten appends the positioned errors inside err: a List's items are
// joined, and Lists nest, but callers expect one level, one error a line.
func flatten(out []error, err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = flatten(out, e)
		}
		return out
	}
	if err != nil {
		out = append(out, err)
	}
	return out
}

type parser struct {
	file   string
	offset int
	// doc is the 1-based index of the document being read in a
	// multi-document file, 0 when the file holds one document.
	doc   int
	notes []audit.Note
}

// inDoc names the document an error is in, for multi-document files.
func (p *parser) inDoc(err error) error {
	var ie *srcpos.Error
	if p.doc > 0 && errors.As(err, &ie) {
		ie.Err = fmt.Errorf("document %d: %w", p.doc, ie.Err)
	}
	return err
}

// skip records a document (or List item) that is not audited.
func (p *parser) skip(line int, format string, args ...any) {
	if line > 0 {
		line += p.offset
	}
	text := fmt.Sprintf(format, args...)
	if p.doc > 0 {
		text = fmt.Sprintf("document %d: %s", p.doc, text)
	}
	p.notes = append(p.notes, audit.Note{File: p.file, Line: line, Text: text})
}

func (p *parser) errAt(line int, format string, args ...any) error {
	if line > 0 {
		line += p.offset
	}
	return p.inDoc(&srcpos.Error{Pos: srcpos.Position{File: p.file, Line: line}, Err: fmt.Errorf(format, args...)})
}

// decodeErr places a typed-decode error on the line of the field it names.
func (p *parser) decodeErr(node *yaml.Node, kind string, err error) error {
	line := node.Line
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		if l := yamlpos.FindDotted(node, te.Field); l > 0 {
			line = l
		}
		return p.errAt(line, "%s: field %s: cannot use %s as %s", kind, te.Field, te.Value, te.Type)
	}
	return p.errAt(line, "%s: %v", kind, err)
}

func (p *parser) object(js []byte, node *yaml.Node, depth int) ([]*audit.Container, error) {
	if node == nil || string(js) == "null" {
		return nil, nil
	}
	if node.Kind != yaml.MappingNode {
		return nil, p.errAt(node.Line, "a Kubernetes object must be a mapping, not a %s", nodeKind(node))
	}
	var tm typeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, p.decodeErr(node, "object", err)
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		return nil, p.errAt(node.Line, "document has no kind and apiVersion: not a Kubernetes object")
	}
	kindLine := yamlpos.Line(node, "kind")
	group := tm.APIVersion
	if i := strings.LastIndexByte(group, '/'); i >= 0 {
		group = group[:i]
	} else {
		group = ""
	}
	decode := func(v any) error {
		if err := json.Unmarshal(js, v); err != nil {
			return p.decodeErr(node, tm.Kind, err)
		}
		return nil
	}
	var (
		meta     metav1.ObjectMeta
		spec     *corev1.PodSpec
		specPath []any
		tmplMeta metav1.ObjectMeta
	)
	switch {
	case tm.Kind == "List" || (strings.HasSuffix(tm.Kind, "List") && (group == "" || !strings.Contains(group, "."))):
		if depth >= MaxListDepth {
			return nil, p.errAt(kindLine, "Lists nested more than %d deep", MaxListDepth)
		}
		var l struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := decode(&l); err != nil {
			return nil, err
		}
		_, items := yamlpos.Get(node, "items")
		// Items stand alone like documents: a broken one does not hide the rest.
		var out []*audit.Container
		var errs []error
		for i, raw := range l.Items {
			var itemNode *yaml.Node
			if items != nil && items.Kind == yaml.SequenceNode && i < len(items.Content) {
				itemNode = yamlpos.Root(items.Content[i])
			}
			if itemNode == nil {
				errs = append(errs, p.errAt(node.Line, "List item %d has no position", i))
				continue
			}
			cs, err := p.object(raw, itemNode, depth+1)
			out = append(out, cs...)
			if err != nil {
				errs = append(errs, err)
			}
		}
		return out, errors.Join(errs...)
	case tm.Kind == "Pod" && group == "":
		var o corev1.Pod
		if err := decode(&o); err != nil {
			return nil, err
		}
		meta, tmplMeta, spec, specPath = o.ObjectMeta, o.ObjectMeta, &o.Spec, []any{"spec"}
	case tm.Kind == "PodTemplate" && group == "":
		var o corev1.PodTemplate
		if err := decode(&o); err != nil {
			return nil, err
		}
		meta, tmplMeta, spec, specPath = o.ObjectMeta, o.Template.ObjectMeta, &o.Template.Spec, []any{"template", "spec"}
	case tm.Kind == "ReplicationController" && group == "":
		var o corev1.ReplicationController
		if err := decode(&o); err != nil {
			return nil, err
		}
		if o.Spec.Template == nil {
			return nil, nil
		}
		meta, tmplMeta, spec, specPath = o.ObjectMeta, o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, []any{"spec", "template", "spec"}
	case tm.Kind == "Deployment" && (group == "apps" || group == "extensions"):
		var o appsv1.Deployment
		if err := decode(&o); err != nil {
			return nil, err
		}
		meta, tmplMeta, spec, specPath = o.ObjectMeta, o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, []any{"spec", "template", "spec"}
	case tm.Kind == "StatefulSet" && group == "apps":
		var o appsv1.StatefulSet
		if err := decode(&o); err != nil {
			return nil, err
		}
		meta, tmplMeta, spec, specPath = o.ObjectMeta, o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, []any{"spec", "template", "spec"}
	case tm.Kind == "DaemonSet" && (group == "apps" || group == "extensions"):
		var o appsv1.DaemonSet
		if err := decode(&o); err != nil {
			return nil, err
		}
		meta, tmplMeta, spec, specPath = o.ObjectMeta, o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, []any{"spec", "template", "spec"}
	case tm.Kind == "ReplicaSet" && (group == "apps" || group == "extensions"):
		var o appsv1.ReplicaSet
		if err := decode(&o); err != nil {
			return nil, err
		}
		meta, tmplMeta, spec, specPath = o.ObjectMeta, o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, []any{"spec", "template", "spec"}
	case tm.Kind == "Job" && group == "batch":
		var o batchv1.Job
		if err := decode(&o); err != nil {
			return nil, err
		}
		meta, tmplMeta, spec, specPath = o.ObjectMeta, o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, []any{"spec", "template", "spec"}
	case tm.Kind == "CronJob" && group == "batch":
		var o batchv1.CronJob
		if err := decode(&o); err != nil {
			return nil, err
		}
		t := &o.Spec.JobTemplate.Spec.Template
		meta, tmplMeta, spec, specPath = o.ObjectMeta, t.ObjectMeta, &t.Spec, []any{"spec", "jobTemplate", "spec", "template", "spec"}
	case noContainers[tm.Kind]:
		return nil, nil
	case strings.Contains(group, ".") && !strings.HasSuffix(group, ".k8s.io"):
		// A custom resource: audit it when it embeds a pod template.
		var o struct {
			metav1.ObjectMeta `json:"metadata"`
			Spec              struct {
				Template *corev1.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(js, &o); err != nil {
			p.skip(kindLine, "custom resource %s (%s): spec.template cannot be read as a pod template (%v): not audited", tm.Kind, tm.APIVersion, err)
			return nil, nil
		}
		if o.Spec.Template == nil || len(o.Spec.Template.Spec.Containers) == 0 {
			p.skip(kindLine, "custom resource %s (%s) embeds no pod template (spec.template.spec): not audited", tm.Kind, tm.APIVersion)
			return nil, nil
		}
		meta, tmplMeta, spec, specPath = o.ObjectMeta, o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, []any{"spec", "template", "spec"}
	case strings.HasSuffix(group, ".k8s.io"):
		return nil, nil // built-in API groups without workloads (rbac, networking, storage...)
	default:
		// A removed kind (PodSecurityPolicy), a typo or a kind from a newer
		// API: nothing palisade can read, and nothing the others depend on.
		p.skip(kindLine, "unknown kind %q in apiVersion %q: not audited", tm.Kind, tm.APIVersion)
		return nil, nil
	}
	_, specNode := yamlpos.Get(node, specPath...)
	if specNode == nil {
		specNode = node
	}
	w := workload{p: p, kind: tm.Kind, meta: meta, annotations: tmplMeta.Annotations, spec: spec, node: specNode}
	return w.containers(), nil
}

// profileProblem says why a seccompProfile or appArmorProfile cannot be
// read (the API server rejects each of these), or returns "".
func profileProblem(typ string, localhost *string, valid ...string) string {
	switch {
	case typ == "":
		return "has no type"
	case typ == "Localhost" && (localhost == nil || *localhost == ""):
		return "type Localhost names no localhostProfile"
	case typ != "Localhost" && localhost != nil:
		return fmt.Sprintf("sets localhostProfile with type %s, which does not use it", typ)
	}
	for _, v := range valid {
		if typ == v {
			return ""
		}
	}
	return fmt.Sprintf("type %q is not one of %s", typ, strings.Join(valid, ", "))
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "node"
}

type workload struct {
	p           *parser
	kind        string
	meta        metav1.ObjectMeta
	annotations map[string]string
	spec        *corev1.PodSpec
	node        *yaml.Node // the pod spec
}

func (w *workload) name() string {
	if w.meta.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", w.kind, w.meta.Namespace, w.meta.Name)
	}
	return fmt.Sprintf("%s %s", w.kind, w.meta.Name)
}

func (w *workload) line(path ...any) int {
	l := yamlpos.Line(w.node, path...)
	if l > 0 {
		l += w.p.offset
	}
	return l
}

func (w *workload) firstLine(paths ...[]any) int {
	for _, p := range paths {
		if l := w.line(p...); l > 0 {
			return l
		}
	}
	return 0
}

func (w *workload) containers() []*audit.Container {
	var out []*audit.Container
	defer func() {
		vols := w.unmountedHostPaths()
		for _, c := range out {
			c.Volumes = vols
		}
	}()
	for i := range w.spec.InitContainers {
		out = append(out, w.container(&w.spec.InitContainers[i], "initContainers", i, "init container", false))
	}
	for i := range w.spec.Containers {
		out = append(out, w.container(&w.spec.Containers[i], "containers", i, "container", false))
	}
	for i := range w.spec.EphemeralContainers {
		ec := corev1.Container(w.spec.EphemeralContainers[i].EphemeralContainerCommon)
		out = append(out, w.container(&ec, "ephemeralContainers", i, "ephemeral container", true))
	}
	return out
}

// unmountedHostPaths lists the pod's hostPath volumes that no container
// (init, regular or ephemeral) mounts.
func (w *workload) unmountedHostPaths() []audit.Volume {
	used := map[string]bool{}
	for _, k := range w.spec.InitContainers {
		for _, vm := range k.VolumeMounts {
			used[vm.Name] = true
		}
	}
	for _, k := range w.spec.Containers {
		for _, vm := range k.VolumeMounts {
			used[vm.Name] = true
		}
	}
	for _, k := range w.spec.EphemeralContainers {
		for _, vm := range k.VolumeMounts {
			used[vm.Name] = true
		}
	}
	var out []audit.Volume
	for i, v := range w.spec.Volumes {
		if v.HostPath == nil || used[v.Name] {
			continue
		}
		out = append(out, audit.Volume{Name: v.Name, HostPath: v.HostPath.Path,
			Line: w.firstLine([]any{"volumes", i, "hostPath", "path"}, []any{"volumes", i})})
	}
	return out
}

// container merges pod- and container-level settings for one container.
// Pod-level runAsUser, runAsNonRoot, seLinuxOptions, seccompProfile and
// appArmorProfile apply unless the container sets its own; privileged,
// capabilities, allowPrivilegeEscalation, readOnlyRootFilesystem and
// procMount exist only on the container.
func (w *workload) container(k *corev1.Container, list string, idx int, role string, ephemeral bool) *audit.Container {
	at := func(path ...any) []any { return append([]any{list, idx}, path...) }
	sc := k.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	psc := w.spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	c := &audit.Container{
		Source:    audit.SourceKubernetes,
		File:      w.p.file,
		Group:     w.name(),
		Target:    fmt.Sprintf("%s %s %s", w.name(), role, k.Name),
		Line:      w.line(list, idx),
		Ephemeral: ephemeral,
		Skip:      map[string]bool{"no-pids-limit": true, "host-uts": true, "host-userns": true},
		Lines:     map[audit.Field]int{},
	}
	scLine := w.line(at("securityContext")...)
	if scLine == 0 {
		scLine = c.Line
	}
	podSC := func(field string) []any { return []any{"securityContext", field} }
	ctrSC := func(field ...string) []any {
		p := at("securityContext")
		for _, f := range field {
			p = append(p, f)
		}
		return p
	}
	c.Lines[audit.FieldSecurity] = scLine

	c.Privileged = sc.Privileged != nil && *sc.Privileged
	c.Lines[audit.FieldPrivileged] = w.line(ctrSC("privileged")...)
	if sc.Capabilities != nil {
		for _, a := range sc.Capabilities.Add {
			c.CapAdd = append(c.CapAdd, string(a))
		}
		for _, d := range sc.Capabilities.Drop {
			if audit.NormalizeCap(string(d)) == "ALL" {
				c.DropsAll = true
			}
		}
	}
	c.Lines[audit.FieldCapAdd] = w.line(ctrSC("capabilities", "add")...)
	c.Lines[audit.FieldCapDrop] = w.firstLine(ctrSC("capabilities", "drop"), ctrSC("capabilities"), ctrSC())

	// allowPrivilegeEscalation is forced true for privileged containers and
	// those granted CAP_SYS_ADMIN.
	sysAdmin := false
	for _, a := range c.CapAdd {
		if n := audit.NormalizeCap(a); n == "SYS_ADMIN" || n == "ALL" {
			sysAdmin = true
		}
	}
	c.NoNewPrivileges = sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation && !c.Privileged && !sysAdmin
	c.Lines[audit.FieldNoNewPrivileges] = w.firstLine(ctrSC("allowPrivilegeEscalation"), ctrSC())

	c.ReadOnlyRoot = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	c.Lines[audit.FieldReadOnlyRoot] = w.firstLine(ctrSC("readOnlyRootFilesystem"), ctrSC())
	if sc.ProcMount != nil {
		c.Lines[audit.FieldProcMount] = w.line(ctrSC("procMount")...)
		switch *sc.ProcMount {
		case corev1.UnmaskedProcMount:
			c.UnmaskedProc = "procMount is Unmasked"
		case corev1.DefaultProcMount:
		default:
			c.Unreadable = append(c.Unreadable, audit.Unreadable{Field: audit.FieldProcMount,
				Detail: fmt.Sprintf("procMount %q is neither Default nor Unmasked", *sc.ProcMount),
				Fix:    "set securityContext.procMount: Default, or remove it"})
		}
	}

	// Seccomp: the container's profile, else the pod's.
	seccomp := sc.SeccompProfile
	c.Lines[audit.FieldSeccomp] = w.line(ctrSC("seccompProfile")...)
	if seccomp == nil {
		seccomp = psc.SeccompProfile
		c.Lines[audit.FieldSeccomp] = w.line(podSC("seccompProfile")...)
	}
	switch {
	case seccomp == nil:
		c.SeccompUnset = true
	case seccomp.Type == corev1.SeccompProfileTypeUnconfined:
		c.Seccomp = "unconfined"
	}
	if seccomp != nil {
		if why := profileProblem(string(seccomp.Type), seccomp.LocalhostProfile, "RuntimeDefault", "Localhost", "Unconfined"); why != "" {
			c.Unreadable = append(c.Unreadable, audit.Unreadable{Field: audit.FieldSeccomp, Detail: "seccompProfile " + why,
				Fix: "set seccompProfile.type: RuntimeDefault (or Localhost with localhostProfile: PROFILE.json)"})
		}
	}

	// AppArmor: the container's field, else the pod's, else the annotation.
	aa := sc.AppArmorProfile
	c.Lines[audit.FieldAppArmor] = w.line(ctrSC("appArmorProfile")...)
	if aa == nil {
		aa = psc.AppArmorProfile
		c.Lines[audit.FieldAppArmor] = w.line(podSC("appArmorProfile")...)
	}
	aaFix := "set appArmorProfile.type: RuntimeDefault (or Localhost with localhostProfile: PROFILE)"
	if aa != nil {
		if aa.Type == corev1.AppArmorProfileTypeUnconfined {
			c.AppArmor = "unconfined"
		}
		if why := profileProblem(string(aa.Type), aa.LocalhostProfile, "RuntimeDefault", "Localhost", "Unconfined"); why != "" {
			c.Unreadable = append(c.Unreadable, audit.Unreadable{Field: audit.FieldAppArmor, Detail: "appArmorProfile " + why, Fix: aaFix})
		}
	} else if v, ok := w.annotations["container.apparmor.security.beta.kubernetes.io/"+k.Name]; ok {
		c.Lines[audit.FieldAppArmor] = 0
		switch {
		case v == "unconfined":
			c.AppArmor = "unconfined"
		case v == "runtime/default" || strings.HasPrefix(v, "localhost/") && len(v) > len("localhost/"):
		default:
			c.Unreadable = append(c.Unreadable, audit.Unreadable{Field: audit.FieldAppArmor,
				Detail: fmt.Sprintf("AppArmor annotation value %q is not runtime/default, localhost/PROFILE or unconfined", v), Fix: aaFix})
		}
	}

	// The container's seLinuxOptions replace the pod's as a whole.
	se := sc.SELinuxOptions
	c.Lines[audit.FieldSELinux] = w.line(ctrSC("seLinuxOptions", "type")...)
	c.Lines[audit.FieldSELinuxOptions] = w.line(ctrSC("seLinuxOptions")...)
	if se == nil {
		se = psc.SELinuxOptions
		c.Lines[audit.FieldSELinux] = w.line("securityContext", "seLinuxOptions", "type")
		c.Lines[audit.FieldSELinuxOptions] = w.line("securityContext", "seLinuxOptions")
	}
	if se != nil {
		switch why := selinux.HostDomain(se.Type); {
		case why != "":
			c.SELinuxDisabled = "SELinux type " + se.Type + ": " + why
		case se.Type != "" && !selinux.IsContainerType(se.Type):
			c.SELinuxCustom = append(c.SELinuxCustom, fmt.Sprintf("seLinuxOptions.type %s is not one Pod Security Standards allow (%s)", se.Type, strings.Join(selinux.ContainerTypes, ", ")))
		}
		if se.User != "" {
			c.SELinuxCustom = append(c.SELinuxCustom, "seLinuxOptions.user is set ("+se.User+")")
		}
		if se.Role != "" {
			c.SELinuxCustom = append(c.SELinuxCustom, "seLinuxOptions.role is set ("+se.Role+")")
		}
	}

	// User: runAsUser and runAsNonRoot, container over pod. With
	// hostUsers: false the pod has its own user namespace and uid 0 inside
	// is not root on the host.
	uid, uidLine := sc.RunAsUser, w.line(ctrSC("runAsUser")...)
	if uid == nil {
		uid, uidLine = psc.RunAsUser, w.line(podSC("runAsUser")...)
	}
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	userns := w.spec.HostUsers != nil && !*w.spec.HostUsers
	switch {
	case userns:
	case uid != nil && *uid == 0:
		c.RunsAsRoot = "runAsUser is 0"
		c.Lines[audit.FieldUser] = uidLine
	case uid != nil:
	case nonRoot != nil && *nonRoot:
	default:
		c.RunsAsRoot = "neither runAsNonRoot: true nor a non-zero runAsUser is set; the image's user (often root) applies"
		c.Lines[audit.FieldUser] = scLine
	}

	c.HostPID, c.HostNetwork, c.HostIPC = w.spec.HostPID, w.spec.HostNetwork, w.spec.HostIPC
	c.Lines[audit.FieldHostPID] = w.line("hostPID")
	c.Lines[audit.FieldHostNetwork] = w.line("hostNetwork")
	c.Lines[audit.FieldHostIPC] = w.line("hostIPC")

	if q, ok := k.Resources.Limits[corev1.ResourceMemory]; ok {
		c.MemoryLimit = q.Value()
	}
	c.Lines[audit.FieldMemory] = w.firstLine(at("resources", "limits"), at("resources"))

	vols := map[string]int{}
	for i, v := range w.spec.Volumes {
		vols[v.Name] = i
	}
	for j, vm := range k.VolumeMounts {
		i, ok := vols[vm.Name]
		m := audit.Mount{Destination: vm.MountPath, ReadOnly: vm.ReadOnly, Name: vm.Name, Line: w.line(at("volumeMounts", j)...)}
		if vm.MountPropagation != nil {
			m.Propagation = string(*vm.MountPropagation)
			m.PropagationLine = w.line(at("volumeMounts", j, "mountPropagation")...)
		}
		if ok && w.spec.Volumes[i].HostPath != nil {
			m.HostPath = w.spec.Volumes[i].HostPath.Path
			if vm.SubPath != "" {
				m.HostPath = path.Join(m.HostPath, vm.SubPath)
			}
			if l := w.line("volumes", i, "hostPath", "path"); l > 0 {
				m.Line = l
			}
		}
		c.Mounts = append(c.Mounts, m)
	}
	return c
}
