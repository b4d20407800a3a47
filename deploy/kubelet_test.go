package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// This file is the part of kubelet (pkg/kubelet/kuberuntime and the
// volume plugins) that turns a pod into CRI requests, for the fields our
// manifests use: TestDaemonSetUnderCRI runs the DaemonSet's pod through it
// on a containerd with CRI. Every field of the pod it does not translate is
// an error naming the field, so the manifest cannot grow a setting the
// test would silently leave out.

// kubeletNode is what the test's node gives the pods kubelet runs on it.
type kubeletNode struct {
	Name string // spec.nodeName
	// HostPaths maps each hostPath the manifests name to where this node
	// keeps it (the test's containerd socket, a spool directory).
	HostPaths map[string]string
	// ConfigMaps and Secrets stand in for the API server: name → key → data.
	ConfigMaps map[string]map[string]string
	Secrets    map[string]map[string][]byte
	// SeccompRoot is kubelet's seccomp directory (/var/lib/kubelet/seccomp):
	// localhostProfile is relative to it.
	SeccompRoot string
	PodsDir     string // kubelet's /var/lib/kubelet/pods: volumes are written there
	LogsDir     string // kubelet's /var/log/pods
	MemoryBytes int64  // the node's memory, for a burstable pod's OOM score
}

// kubeletPod is what kubelet asks of the CRI for one pod, and what it does
// around the CRI that the test repeats (probes, the stop timeout).
type kubeletPod struct {
	Sandbox    *runtimeapi.PodSandboxConfig
	Containers []*runtimeapi.ContainerConfig
	// Probes are the containers' HTTP probes, resolved to a port number.
	Probes []httpProbe
	// StopTimeout is terminationGracePeriodSeconds (StopContainer's timeout).
	StopTimeout int64
}

type httpProbe struct {
	Container, Kind, Path string // Kind: liveness or readiness
	Port                  int
}

// translated lists the pod fields kubeletPodConfigs translates (or, for
// the scheduler's and the API server's fields, knows to have no effect on
// the node), as JSON paths with [] for any index. A set field not under
// one of these is an error.
var translated = []string{
	"metadata.labels", "metadata.annotations",
	// The service account matters to the node only through its token
	// volume, which automountServiceAccountToken: false leaves out (checked).
	"spec.serviceAccountName", "spec.automountServiceAccountToken",
	"spec.hostPID", "spec.hostNetwork", "spec.hostIPC", "spec.shareProcessNamespace",
	"spec.tolerations", // the scheduler's
	"spec.priorityClassName", "spec.terminationGracePeriodSeconds",
	"spec.securityContext.seccompProfile", "spec.securityContext.runAsUser", "spec.securityContext.runAsGroup",
	"spec.securityContext.runAsNonRoot", "spec.securityContext.supplementalGroups",
	"spec.containers[].name", "spec.containers[].image", "spec.containers[].imagePullPolicy",
	"spec.containers[].command", "spec.containers[].args", "spec.containers[].workingDir",
	"spec.containers[].env[].name", "spec.containers[].env[].value",
	"spec.containers[].env[].valueFrom.fieldRef.fieldPath", "spec.containers[].env[].valueFrom.fieldRef.apiVersion",
	"spec.containers[].ports[].name", "spec.containers[].ports[].containerPort", "spec.containers[].ports[].protocol",
	"spec.containers[].resources.requests", "spec.containers[].resources.limits",
	"spec.containers[].stdin", "spec.containers[].tty",
	"spec.containers[].terminationMessagePath", "spec.containers[].terminationMessagePolicy",
	"spec.containers[].securityContext.privileged", "spec.containers[].securityContext.allowPrivilegeEscalation",
	"spec.containers[].securityContext.readOnlyRootFilesystem", "spec.containers[].securityContext.capabilities",
	"spec.containers[].securityContext.runAsUser", "spec.containers[].securityContext.runAsGroup",
	"spec.containers[].securityContext.runAsNonRoot", "spec.containers[].securityContext.seccompProfile",
	"spec.containers[].volumeMounts[].name", "spec.containers[].volumeMounts[].mountPath",
	"spec.containers[].volumeMounts[].subPath", "spec.containers[].volumeMounts[].readOnly",
	"spec.volumes[].name", "spec.volumes[].configMap.name", "spec.volumes[].configMap.defaultMode",
	"spec.volumes[].secret.secretName", "spec.volumes[].secret.defaultMode",
	"spec.volumes[].hostPath.path", "spec.volumes[].hostPath.type",
}

func init() {
	for _, kind := range []string{"livenessProbe", "readinessProbe"} {
		for _, f := range []string{"httpGet.path", "httpGet.port", "httpGet.scheme", "initialDelaySeconds", "periodSeconds",
			"timeoutSeconds", "successThreshold", "failureThreshold"} {
			translated = append(translated, "spec.containers[]."+kind+"."+f)
		}
	}
}

// fieldError is a pod field the translation refuses, by its JSON path
// (spec.containers[0].lifecycle).
type fieldError struct{ Path, Msg string }

func (e *fieldError) Error() string { return e.Path + ": " + e.Msg }

// untranslated walks v (a pod's metadata or spec) and returns the set
// fields that no translated path covers, in field order.
// A pointer field is set when not nil, even to false or 0 (its default
// may be otherwise); any other field when not its zero value.
func untranslated(path string, v reflect.Value) []*fieldError {
	if v.Kind() == reflect.Pointer && v.IsNil() || v.Kind() != reflect.Pointer && v.IsZero() {
		return nil
	}
	generic := regexp.MustCompile(`\[\d+\]`).ReplaceAllString(path, "[]")
	if slices.Contains(translated, generic) {
		return nil
	}
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
		if v.Kind() == reflect.Struct && v.IsZero() && !slices.ContainsFunc(translated, func(p string) bool { return strings.HasPrefix(p, generic+".") }) {
			return []*fieldError{{path, notTranslated}}
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		var out []*fieldError
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			p := path + "." + name
			if name == "" && f.Anonymous { // json:",inline"
				p = path
			}
			if name == "-" || !f.IsExported() {
				continue
			}
			out = append(out, untranslated(p, v.Field(i))...)
		}
		return out
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct {
			var out []*fieldError
			for i := 0; i < v.Len(); i++ {
				out = append(out, untranslated(fmt.Sprintf("%s[%d]", path, i), v.Index(i))...)
			}
			return out
		}
	}
	return []*fieldError{{path, notTranslated}}
}

const notTranslated = "set, but the test's kubelet (deploy/kubelet_test.go) does not translate it to CRI: teach it, or the manifest has left what is tested"

// kubeletPodConfigs turns a pod (a template's metadata and spec, with the
// name, namespace and uid its controller gives it) into the CRI requests
// kubelet makes for it on node n, writing its configMap and secret volumes
// and termination-log files under n.PodsDir as kubelet does. Errors name
// the pod field by its JSON path.
func kubeletPodConfigs(n kubeletNode, name, namespace, uid string, meta metav1.ObjectMeta, spec corev1.PodSpec) (*kubeletPod, error) {
	var errs []*fieldError
	errs = append(errs, untranslated("metadata", reflect.ValueOf(meta))...)
	errs = append(errs, untranslated("spec", reflect.ValueOf(spec))...)
	fail := func(path, format string, args ...any) {
		errs = append(errs, &fieldError{path, fmt.Sprintf(format, args...)})
	}

	if spec.ServiceAccountName != "" && (spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken) {
		fail("spec.automountServiceAccountToken", "the service account's token volume is not translated; set it false")
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	podLabels := map[string]string{"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace, "io.kubernetes.pod.uid": uid}
	for k, v := range meta.Labels {
		podLabels[k] = v
	}
	ns := &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_CONTAINER, Ipc: runtimeapi.NamespaceMode_POD}
	if spec.HostNetwork {
		ns.Network = runtimeapi.NamespaceMode_NODE
	}
	if spec.HostIPC {
		ns.Ipc = runtimeapi.NamespaceMode_NODE
	}
	if spec.ShareProcessNamespace != nil && *spec.ShareProcessNamespace {
		ns.Pid = runtimeapi.NamespaceMode_POD
	}
	if spec.HostPID {
		ns.Pid = runtimeapi.NamespaceMode_NODE
	}
	qos, cgroupParent := podQOS(spec), ""
	switch qos {
	case corev1.PodQOSGuaranteed:
		cgroupParent = "/kubepods/pod" + uid
	default:
		cgroupParent = "/kubepods/" + strings.ToLower(string(qos)) + "/pod" + uid
	}
	var groups []int64
	for _, g := range psc.SupplementalGroups {
		groups = append(groups, g)
	}
	privileged := false
	for _, c := range spec.Containers {
		if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
			privileged = true
		}
	}
	sandbox := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: namespace, Uid: uid},
		Labels:       podLabels,
		Annotations:  copyMap(meta.Annotations),
		LogDirectory: filepath.Join(n.LogsDir, namespace+"_"+name+"_"+uid),
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: cgroupParent,
			Sysctls:      map[string]string{},
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions:   ns,
				Privileged:         privileged,
				SupplementalGroups: groups,
				// kubelet runs every sandbox under runtime/default, so that a
				// pod-level profile need not allow what the pause process calls.
				Seccomp: &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
			},
		},
	}
	if psc.RunAsUser != nil {
		sandbox.Linux.SecurityContext.RunAsUser = &runtimeapi.Int64Value{Value: *psc.RunAsUser}
	}
	if psc.RunAsGroup != nil {
		sandbox.Linux.SecurityContext.RunAsGroup = &runtimeapi.Int64Value{Value: *psc.RunAsGroup}
	}
	if !spec.HostNetwork {
		sandbox.Hostname = name
	}
	// No DNS config: a kubelet without a cluster DNS gives pods the node's
	// resolv.conf, which is what containerd does when given none.

	grace := int64(30) // the API server's default
	if spec.TerminationGracePeriodSeconds != nil {
		grace = *spec.TerminationGracePeriodSeconds
	}
	oomScoreAdj := int64(0)
	switch {
	case spec.PriorityClassName == "system-node-critical" || spec.PriorityClassName == "system-cluster-critical":
		oomScoreAdj = -997 // critical pods are kept like guaranteed ones
	case spec.PriorityClassName != "":
		fail("spec.priorityClassName", "%q: the test has no API server to read its priority from", spec.PriorityClassName)
	case qos == corev1.PodQOSGuaranteed:
		oomScoreAdj = -997
	case qos == corev1.PodQOSBestEffort:
		oomScoreAdj = 1000
	}

	volumes := map[string]corev1.Volume{}
	volumeDirs := map[string]string{}
	for i, v := range spec.Volumes {
		path := fmt.Sprintf("spec.volumes[%d]", i)
		volumes[v.Name] = v
		dir, err := kubeletVolume(n, uid, v)
		if err != nil {
			switch {
			case v.HostPath != nil:
				path += ".hostPath.path"
			case v.ConfigMap != nil:
				path += ".configMap.name"
			case v.Secret != nil:
				path += ".secret.secretName"
			}
			fail(path, "%v", err)
			continue
		}
		volumeDirs[v.Name] = dir
	}

	out := &kubeletPod{Sandbox: sandbox, StopTimeout: grace}
	for i, c := range spec.Containers {
		cpath := fmt.Sprintf("spec.containers[%d]", i)
		if c.ImagePullPolicy == corev1.PullAlways || (c.ImagePullPolicy == "" && (strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":"))) {
			fail(cpath+".imagePullPolicy", "the image would be pulled (Always); there is no registry here: IfNotPresent or Never")
		}
		env := map[string]string{}
		var envs []*runtimeapi.KeyValue
		for j, e := range c.Env {
			val := expandVars(e.Value, env)
			if e.ValueFrom != nil {
				fr := e.ValueFrom.FieldRef
				switch {
				case fr == nil:
					fail(fmt.Sprintf("%s.env[%d].valueFrom", cpath, j), "only fieldRef is translated")
				case fr.FieldPath == "spec.nodeName":
					val = n.Name
				case fr.FieldPath == "metadata.name":
					val = name
				case fr.FieldPath == "metadata.namespace":
					val = namespace
				case fr.FieldPath == "metadata.uid":
					val = uid
				default:
					fail(fmt.Sprintf("%s.env[%d].valueFrom.fieldRef.fieldPath", cpath, j), "%q is not translated", fr.FieldPath)
				}
			}
			env[e.Name] = val
			envs = append(envs, &runtimeapi.KeyValue{Key: e.Name, Value: []byte(val)})
		}
		var command, args []string
		for _, s := range c.Command {
			command = append(command, expandVars(s, env))
		}
		for _, s := range c.Args {
			args = append(args, expandVars(s, env))
		}

		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		csc := &runtimeapi.LinuxContainerSecurityContext{
			NamespaceOptions:   ns,
			SupplementalGroups: groups,
			MaskedPaths:        testutil.DefaultMaskedPaths,
			ReadonlyPaths:      testutil.DefaultReadonlyPaths,
		}
		if sc.Privileged != nil && *sc.Privileged {
			csc.Privileged, csc.MaskedPaths, csc.ReadonlyPaths = true, nil, nil
		}
		if caps := sc.Capabilities; caps != nil {
			csc.Capabilities = &runtimeapi.Capability{}
			for _, a := range caps.Add {
				csc.Capabilities.AddCapabilities = append(csc.Capabilities.AddCapabilities, string(a))
			}
			for _, d := range caps.Drop {
				csc.Capabilities.DropCapabilities = append(csc.Capabilities.DropCapabilities, string(d))
			}
		}
		csc.ReadonlyRootfs = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
		csc.NoNewPrivs = sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
		runAsUser, runAsGroup, runAsNonRoot := psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
		if sc.RunAsUser != nil {
			runAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			runAsGroup = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			runAsNonRoot = sc.RunAsNonRoot
		}
		if runAsUser != nil {
			csc.RunAsUser = &runtimeapi.Int64Value{Value: *runAsUser}
		}
		if runAsGroup != nil {
			csc.RunAsGroup = &runtimeapi.Int64Value{Value: *runAsGroup}
		}
		if runAsNonRoot != nil && *runAsNonRoot {
			// kubelet checks it against runAsUser, or the image's user.
			switch {
			case runAsUser == nil:
				fail(cpath+".securityContext.runAsNonRoot", "without runAsUser kubelet reads the image's user, which this test does not")
			case *runAsUser == 0:
				fail(cpath+".securityContext.runAsNonRoot", "runAsUser is 0: kubelet refuses to start the container")
			}
		}
		seccomp := psc.SeccompProfile
		if sc.SeccompProfile != nil {
			seccomp = sc.SeccompProfile
		}
		csc.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined} // no SeccompDefault
		if seccomp != nil {
			switch seccomp.Type {
			case corev1.SeccompProfileTypeRuntimeDefault:
				csc.Seccomp.ProfileType = runtimeapi.SecurityProfile_RuntimeDefault
			case corev1.SeccompProfileTypeLocalhost:
				if seccomp.LocalhostProfile == nil {
					fail(cpath+".securityContext.seccompProfile", "Localhost without localhostProfile")
					break
				}
				csc.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost,
					LocalhostRef: filepath.Join(n.SeccompRoot, *seccomp.LocalhostProfile)}
			case corev1.SeccompProfileTypeUnconfined:
			default:
				where := "spec.securityContext.seccompProfile.type"
				if sc.SeccompProfile != nil {
					where = cpath + ".securityContext.seccompProfile.type"
				}
				fail(where, "%q is not a profile type", seccomp.Type)
			}
		}

		resources, err := kubeletResources(c.Resources)
		if err != nil {
			fail(cpath+".resources", "%v", err)
		}
		if resources == nil {
			resources = &runtimeapi.LinuxContainerResources{CpuShares: 2} // no request: kubelet's minimum
		}
		resources.OomScoreAdj = oomScoreAdj
		if qos == corev1.PodQOSBurstable && spec.PriorityClassName == "" {
			resources.OomScoreAdj = burstableOOMScoreAdj(c.Resources, n.MemoryBytes)
		}

		var mounts []*runtimeapi.Mount
		for j, m := range c.VolumeMounts {
			mpath := fmt.Sprintf("%s.volumeMounts[%d]", cpath, j)
			v, ok := volumes[m.Name]
			dir := volumeDirs[m.Name]
			if !ok {
				fail(mpath+".name", "no volume %q", m.Name)
				continue
			}
			if dir == "" {
				continue // its volume's error is reported
			}
			host := dir
			if m.SubPath != "" {
				host = filepath.Join(dir, m.SubPath)
				if _, err := os.Stat(host); err != nil {
					fail(mpath+".subPath", "%v", err)
				}
			}
			mounts = append(mounts, &runtimeapi.Mount{
				ContainerPath: m.MountPath, HostPath: host,
				// kubelet mounts configMap and secret volumes read-only whatever
				// the mount says.
				Readonly:    m.ReadOnly || v.ConfigMap != nil || v.Secret != nil,
				Propagation: runtimeapi.MountPropagation_PROPAGATION_PRIVATE,
			})
		}
		termPath := c.TerminationMessagePath
		if termPath == "" {
			termPath = "/dev/termination-log" // the API server's default
		}
		termFile := filepath.Join(n.PodsDir, uid, "containers", c.Name, "termination-log")
		if err := os.MkdirAll(filepath.Dir(termFile), 0o750); err != nil {
			return nil, err
		}
		if err := os.WriteFile(termFile, nil, 0o666); err != nil {
			return nil, err
		}
		mounts = append(mounts, &runtimeapi.Mount{ContainerPath: termPath, HostPath: termFile, Propagation: runtimeapi.MountPropagation_PROPAGATION_PRIVATE})

		policy := string(c.TerminationMessagePolicy)
		if policy == "" {
			policy = string(corev1.TerminationMessageReadFile)
		}
		cfg := &runtimeapi.ContainerConfig{
			Metadata:   &runtimeapi.ContainerMetadata{Name: c.Name},
			Image:      &runtimeapi.ImageSpec{Image: c.Image},
			Command:    command,
			Args:       args,
			WorkingDir: c.WorkingDir,
			Envs:       envs,
			Mounts:     mounts,
			Labels: map[string]string{"io.kubernetes.container.name": c.Name, "io.kubernetes.pod.name": name,
				"io.kubernetes.pod.namespace": namespace, "io.kubernetes.pod.uid": uid},
			Annotations: map[string]string{"io.kubernetes.container.restartCount": "0",
				"io.kubernetes.container.terminationMessagePath":   termPath,
				"io.kubernetes.container.terminationMessagePolicy": policy,
				"io.kubernetes.pod.terminationGracePeriod":         strconv.FormatInt(grace, 10)},
			LogPath: filepath.Join(c.Name, "0.log"),
			Stdin:   c.Stdin, StdinOnce: c.StdinOnce, Tty: c.TTY,
			Linux: &runtimeapi.LinuxContainerConfig{Resources: resources, SecurityContext: csc},
		}
		if len(c.Ports) > 0 {
			ports, _ := json.Marshal(c.Ports)
			cfg.Annotations["io.kubernetes.container.ports"] = string(ports)
		}
		out.Containers = append(out.Containers, cfg)

		for _, p := range c.Ports {
			proto := runtimeapi.Protocol_TCP
			switch p.Protocol {
			case corev1.ProtocolUDP:
				proto = runtimeapi.Protocol_UDP
			case corev1.ProtocolSCTP:
				proto = runtimeapi.Protocol_SCTP
			}
			sandbox.PortMappings = append(sandbox.PortMappings, &runtimeapi.PortMapping{Protocol: proto, ContainerPort: p.ContainerPort})
		}
		for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			if p == nil {
				continue
			}
			ppath := cpath + "." + kind + "Probe"
			if p.HTTPGet == nil {
				fail(ppath, "only httpGet probes are translated")
				continue
			}
			if p.HTTPGet.Scheme != "" && p.HTTPGet.Scheme != corev1.URISchemeHTTP {
				fail(ppath+".httpGet.scheme", "only HTTP is translated")
			}
			port, ok := probePort(p.HTTPGet.Port, c.Ports)
			if !ok {
				fail(ppath+".httpGet.port", "%s names no port of the container", p.HTTPGet.Port.String())
			}
			out.Probes = append(out.Probes, httpProbe{Container: c.Name, Kind: kind, Path: p.HTTPGet.Path, Port: port})
		}
	}
	slices.SortFunc(out.Probes, func(a, b httpProbe) int { return strings.Compare(a.Container+a.Kind, b.Container+b.Kind) })
	if len(errs) > 0 {
		return nil, errorList(errs)
	}
	return out, nil
}

// errorList is every refused field, one a line.
type errorList []*fieldError

func (l errorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func copyMap(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// kubeletVolume prepares volume v of pod uid on node n as kubelet's volume
// plugins do and returns the host directory (or file) to mount.
func kubeletVolume(n kubeletNode, uid string, v corev1.Volume) (string, error) {
	switch {
	case v.ConfigMap != nil:
		data, ok := n.ConfigMaps[v.ConfigMap.Name]
		if !ok {
			return "", fmt.Errorf("configMap %q: the test's cluster has none", v.ConfigMap.Name)
		}
		files := map[string][]byte{}
		for k, s := range data {
			files[k] = []byte(s)
		}
		return writeVolume(filepath.Join(n.PodsDir, uid, "volumes", "kubernetes.io~configmap", v.Name), files, v.ConfigMap.DefaultMode)
	case v.Secret != nil:
		data, ok := n.Secrets[v.Secret.SecretName]
		if !ok {
			return "", fmt.Errorf("secret %q: the test's cluster has none", v.Secret.SecretName)
		}
		return writeVolume(filepath.Join(n.PodsDir, uid, "volumes", "kubernetes.io~secret", v.Name), data, v.Secret.DefaultMode)
	case v.HostPath != nil:
		host, ok := n.HostPaths[v.HostPath.Path]
		if !ok {
			return "", fmt.Errorf("hostPath %s: the test's node does not provide it (kubeletNode.HostPaths)", v.HostPath.Path)
		}
		typ := corev1.HostPathUnset
		if v.HostPath.Type != nil {
			typ = *v.HostPath.Type
		}
		fi, err := os.Stat(host)
		switch typ {
		case corev1.HostPathUnset:
		case corev1.HostPathDirectoryOrCreate:
			if err != nil {
				err = os.MkdirAll(host, 0o755)
			} else if !fi.IsDir() {
				err = fmt.Errorf("%s is not a directory", host)
			}
		case corev1.HostPathDirectory:
			if err == nil && !fi.IsDir() {
				err = fmt.Errorf("%s is not a directory", host)
			}
		case corev1.HostPathFile:
			if err == nil && !fi.Mode().IsRegular() {
				err = fmt.Errorf("%s is not a file", host)
			}
		case corev1.HostPathSocket:
			if err == nil && fi.Mode()&os.ModeSocket == 0 {
				err = fmt.Errorf("%s is not a socket", host)
			}
		default:
			err = fmt.Errorf("hostPath type %s is not translated", typ)
		}
		if err != nil {
			return "", fmt.Errorf("hostPath %s (type %s): %w", v.HostPath.Path, typ, err)
		}
		return host, nil
	}
	return "", fmt.Errorf("volume %q: only configMap, secret and hostPath volumes are translated", v.Name)
}

// writeVolume writes files into dir with mode (0644 unless given), as the
// configMap and secret plugins do.
func writeVolume(dir string, files map[string][]byte, mode *int32) (string, error) {
	perm := os.FileMode(0o644)
	if mode != nil {
		perm = os.FileMode(*mode)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for k, data := range files {
		if err := os.WriteFile(filepath.Join(dir, k), data, perm); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// podQOS is the pod's QoS class, as the API server computes it.
func podQOS(spec corev1.PodSpec) corev1.PodQOSClass {
	requests, limits, guaranteed := 0, 0, true
	for _, c := range spec.Containers {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if hasReq {
				requests++
			}
			if hasLim {
				limits++
			}
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case requests == 0 && limits == 0:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// kubeletResources turns a container's requests and limits into cgroup
// settings as kubelet does: CPU shares from the request (or the limit),
// a CFS quota from a CPU limit, the memory limit.
func kubeletResources(r corev1.ResourceRequirements) (*runtimeapi.LinuxContainerResources, error) {
	for _, l := range []corev1.ResourceList{r.Requests, r.Limits} {
		for name := range l {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
				return nil, fmt.Errorf("resource %s is not translated", name)
			}
		}
	}
	out := &runtimeapi.LinuxContainerResources{}
	cpu, ok := r.Requests[corev1.ResourceCPU]
	if !ok {
		cpu, ok = r.Limits[corev1.ResourceCPU]
	}
	out.CpuShares = 2
	if ok {
		out.CpuShares = max(cpu.MilliValue()*1024/1000, 2)
	}
	if lim, ok := r.Limits[corev1.ResourceCPU]; ok {
		out.CpuPeriod = 100000
		out.CpuQuota = max(lim.MilliValue()*100000/1000, 1000)
	}
	if lim, ok := r.Limits[corev1.ResourceMemory]; ok {
		out.MemoryLimitInBytes = lim.Value()
	}
	return out, nil
}

// burstableOOMScoreAdj is kubelet's OOM score for a burstable container:
// 1000 less its share of the node's memory requested, within 2..999.
func burstableOOMScoreAdj(r corev1.ResourceRequirements, nodeMemory int64) int64 {
	req := r.Requests[corev1.ResourceMemory]
	if nodeMemory <= 0 {
		return 999
	}
	return min(max(1000-(1000*req.Value())/nodeMemory, 2), 999)
}

// probePort resolves a probe's port (a number or a port's name).
func probePort(p intstr.IntOrString, ports []corev1.ContainerPort) (int, bool) {
	if p.Type == intstr.Int {
		return p.IntValue(), p.IntValue() > 0
	}
	for _, cp := range ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), true
		}
	}
	return 0, false
}

// expandVars replaces $(NAME) by env's NAME as kubelet expands command,
// args and env values; $$ is a $, and an unknown $(NAME) stays as written.
func expandVars(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i+2:], ')'); end >= 0 {
				name := s[i+2 : i+2+end]
				if v, ok := env[name]; ok {
					b.WriteString(v)
				} else {
					b.WriteString(s[i : i+3+end])
				}
				i += 2 + end
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// manifestPos finds the line and column of a JSON path (spec.template.
// spec.containers[0].args) in a YAML manifest, or 0, 0.
func manifestPos(data []byte, path string) (int, int) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0, 0
	}
	n, line, col := doc.Content[0], 0, 0
	for _, seg := range regexp.MustCompile(`[^.\[\]]+|\[\d+\]`).FindAllString(path, -1) {
		if i, err := strconv.Atoi(strings.Trim(seg, "[]")); err == nil && strings.HasPrefix(seg, "[") {
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return line, col
			}
			n = n.Content[i]
			line, col = n.Line, n.Column
			continue
		}
		if n.Kind != yaml.MappingNode {
			return line, col
		}
		found := false
		for k := 0; k+1 < len(n.Content); k += 2 {
			if n.Content[k].Value == seg {
				line, col = n.Content[k].Line, n.Content[k].Column
				n, found = n.Content[k+1], true
				break
			}
		}
		if !found {
			return line, col
		}
	}
	return line, col
}
