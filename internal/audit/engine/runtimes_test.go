package engine

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/audit"
	"github.com/palisade-sec/palisade/internal/container"
)

// A pod's container as its CRI reports it is judged as a Kubernetes
// container: the runtime's default capabilities are not "added", one the
// securityContext added is, host namespaces and a missing seccomp profile
// are findings with securityContext fixes.
func TestFromCRISpec(t *testing.T) {
	caps := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
		"CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", "CAP_SYS_ADMIN"}
	spec, _ := json.Marshal(map[string]any{
		"ociVersion": "1.0.2-dev",
		"process": map[string]any{"user": map[string]any{"uid": 0, "gid": 0}, "args": []string{"sleep"}, "cwd": "/",
			"capabilities": map[string]any{"bounding": caps, "effective": caps, "permitted": caps}},
		"root": map[string]any{"path": "rootfs"},
		// As containerd's CRI writes it: the sandbox's namespaces by path.
		"linux": map[string]any{"namespaces": []map[string]string{{"type": "pid"}, {"type": "ipc", "path": "/proc/77/ns/ipc"},
			{"type": "uts", "path": "/proc/77/ns/uts"}, {"type": "network", "path": "/proc/77/ns/net"}, {"type": "mount"}}, "maskedPaths": []string{"/proc/kcore"}},
	})
	c := fromCRISpec(container.Spec{ID: "abc", Name: "nginx", Namespace: "shop", Pod: "web-1", PrivilegedKnown: true, HostNetwork: true, Runtime: spec})
	if c == nil {
		t.Fatal("no container from the spec")
	}
	if c.Source != audit.SourceKubernetes || c.Target != "pod shop/web-1 container nginx" || c.Group != "pod shop/web-1" ||
		!slices.Equal(c.CapAdd, []string{"SYS_ADMIN"}) || !c.HostNetwork || c.HostPID || c.Skip["privileged"] {
		t.Fatalf("%+v", c)
	}
	got := map[string]string{}
	for _, f := range audit.Audit(c) {
		got[f.Check] = f.Fix
	}
	for check, fix := range map[string]string{
		"host-network":       "remove hostNetwork: true; expose the port through a Service",
		"seccomp-unconfined": "set securityContext.seccompProfile.type: RuntimeDefault (or Localhost with localhostProfile)",
	} {
		if got[check] != fix {
			t.Errorf("%s: fix %q, want %q", check, got[check], fix)
		}
	}
	if fix, ok := got["dangerous-capability"]; !ok || !strings.Contains(fix, "capabilities") {
		t.Errorf("SYS_ADMIN: fix %q (found %v)", fix, ok)
	}
	if _, ok := got["risky-capability"]; ok {
		t.Error("a default capability was taken as added")
	}
	if fromCRISpec(container.Spec{ID: "x"}) != nil {
		t.Error("a container without a spec was audited")
	}
}
