package container

import (
	"strings"
	"testing"
)

const (
	hexID   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	podUID  = "b2d6a0c9-95d3-4372-80e0-bce249a26f95"
	podUIDu = "b2d6a0c9_95d3_4372_80e0_bce249a26f95" // as systemd unit names spell it
)

// Paths as each runtime writes them, from its documentation or source
// (cgroup v2, systemd and CRI-O cannot run on the test machine).
var cgroupFixtures = []struct {
	name string
	path string
	want Ref // zero: a host process
}{
	// Docker's runmetrics documentation, both drivers.
	{"docker cgroupfs", "/docker/" + hexID, Ref{ID: hexID, Runtime: RuntimeDocker, User: -1}},
	{"docker systemd", "/system.slice/docker-" + hexID + ".scope", Ref{ID: hexID, Runtime: RuntimeDocker, User: -1}},
	{"docker sub-cgroup", "/docker/" + hexID + "/init.scope", Ref{ID: hexID, Runtime: RuntimeDocker, User: -1}},
	{"docker in docker", "/docker/" + strings.Repeat("f", 64) + "/docker/" + hexID, Ref{ID: hexID, Runtime: RuntimeDocker, User: -1}},
	// Rootless Docker on cgroup v2 (docker/docs#14545).
	{"rootless docker systemd", "/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" + hexID + ".scope", Ref{ID: hexID, Runtime: RuntimeDocker, User: 1000}},
	// Podman: libpod's systemd manager (crun's /container sub-cgroup), its
	// cgroupfs manager (cgroup_parent /libpod_parent), rootless, pods.
	{"podman systemd", "/machine.slice/libpod-" + hexID + ".scope", Ref{ID: hexID, Runtime: RuntimePodman, User: -1}},
	{"podman systemd container", "/machine.slice/libpod-" + hexID + ".scope/container", Ref{ID: hexID, Runtime: RuntimePodman, User: -1}},
	{"podman cgroupfs", "/libpod_parent/libpod-" + hexID, Ref{ID: hexID, Runtime: RuntimePodman, User: -1}},
	{"podman pod systemd", "/machine.slice/machine-libpod_pod_" + strings.Repeat("e", 64) + ".slice/libpod-" + hexID + ".scope/container", Ref{ID: hexID, Runtime: RuntimePodman, User: -1}},
	{"rootless podman", "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + hexID + ".scope/container", Ref{ID: hexID, Runtime: RuntimePodman, User: 1000}},
	{"podman conmon", "/machine.slice/libpod-conmon-" + hexID + ".scope", Ref{}},
	// kubelet's pod cgroups: cgroupfs driver (kubepods/<qos>/pod<uid>) and
	// systemd driver (kubepods-<qos>-pod<uid with _ for ->.slice).
	{"cri cgroupfs besteffort", "/kubepods/besteffort/pod" + podUID + "/" + hexID, Ref{ID: hexID, Runtime: RuntimeCRI, PodUID: podUID, User: -1}},
	{"cri cgroupfs guaranteed", "/kubepods/pod" + podUID + "/" + hexID, Ref{ID: hexID, Runtime: RuntimeCRI, PodUID: podUID, User: -1}},
	{"cri static pod", "/kubepods/burstable/pod" + strings.Repeat("9", 32) + "/" + hexID, Ref{ID: hexID, Runtime: RuntimeCRI, PodUID: strings.Repeat("9", 32), User: -1}},
	{"containerd cri systemd", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podUIDu + ".slice/cri-containerd-" + hexID + ".scope", Ref{ID: hexID, Runtime: RuntimeContainerd, PodUID: podUID, User: -1}},
	{"containerd cri systemd guaranteed", "/kubepods.slice/kubepods-pod" + podUIDu + ".slice/cri-containerd-" + hexID + ".scope", Ref{ID: hexID, Runtime: RuntimeContainerd, PodUID: podUID, User: -1}},
	{"cri-o systemd", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUIDu + ".slice/crio-" + hexID + ".scope", Ref{ID: hexID, Runtime: RuntimeCRIO, PodUID: podUID, User: -1}},
	{"cri-o systemd container", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUIDu + ".slice/crio-" + hexID + ".scope/container", Ref{ID: hexID, Runtime: RuntimeCRIO, PodUID: podUID, User: -1}},
	{"cri-o cgroupfs", "/kubepods/burstable/pod" + podUID + "/crio-" + hexID, Ref{ID: hexID, Runtime: RuntimeCRIO, PodUID: podUID, User: -1}},
	{"cri-o conmon", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + podUIDu + ".slice/crio-conmon-" + hexID + ".scope", Ref{}},
	{"cri-dockerd systemd", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + podUIDu + ".slice/docker-" + hexID + ".scope", Ref{ID: hexID, Runtime: RuntimeDocker, PodUID: podUID, User: -1}},
	// kind's nodes put kubelet under its own slice.
	{"kind", "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + podUIDu + ".slice/cri-containerd-" + hexID + ".scope", Ref{ID: hexID, Runtime: RuntimeContainerd, PodUID: podUID, User: -1}},
	// usernetes (rootless-containers/usernetes#200): rootless kubelet.
	{"usernetes", "/user.slice/user-1001.slice/user@1001.service/u7s-rootlesskit.service/kubepods/burstable/pod" + podUID + "/" + hexID, Ref{ID: hexID, Runtime: RuntimeCRI, PodUID: podUID, User: 1001}},
	// containerd's own cgroupfs layout /<namespace>/<id> (ctr, nerdctl).
	{"containerd default", "/default/" + hexID, Ref{ID: hexID, Runtime: RuntimeContainerd, Namespace: "default", User: -1}},
	{"containerd k8s.io", "/k8s.io/" + hexID, Ref{ID: hexID, Runtime: RuntimeContainerd, Namespace: "k8s.io", User: -1}},
	{"ctr run name", "/default/redis-1", Ref{ID: "redis-1", Runtime: RuntimeContainerd, Namespace: "default", User: -1, Unverified: true}},
	{"nerdctl systemd", "/system.slice/nerdctl-" + hexID + ".scope", Ref{ID: hexID, Runtime: RuntimeContainerd, User: -1}},
	// An id no layout places: every engine is asked.
	{"custom cgroup parent", "/ci/jobs/" + hexID, Ref{ID: hexID, Runtime: RuntimeUnknown, User: -1}},
	{"bare id", "/" + hexID, Ref{ID: hexID, Runtime: RuntimeUnknown, User: -1}},
	{"pod-like outside kubepods", "/batch/pod" + podUID + "/" + hexID, Ref{ID: hexID, Runtime: RuntimeUnknown, User: -1}},
	// Host processes.
	{"root", "/", Ref{}},
	{"empty", "", Ref{}},
	{"session", "/user.slice/user-1000.slice/session-1.scope", Ref{}},
	{"user manager", "/user.slice/user-1000.slice/user@1000.service/init.scope", Ref{}},
	{"dockerd", "/system.slice/docker.service", Ref{}},
	{"init", "/init.scope", Ref{}},
	{"lxc", "/lxc/web", Ref{}},
	{"short id", "/docker/" + hexID[:63], Ref{}},
	{"upper-case id", "/docker/" + strings.ToUpper(hexID), Ref{}},
	{"kubepods besteffort", "/kubepods/besteffort", Ref{}},
	{"three levels", "/a/b/c", Ref{}},
}

func TestParseCgroup(t *testing.T) {
	for _, tc := range cgroupFixtures {
		got, ok := ParseCgroup(tc.path)
		if ok != (tc.want.ID != "") || got != tc.want {
			t.Errorf("%s: ParseCgroup(%q) = %+v %v, want %+v", tc.name, tc.path, got, ok, tc.want)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	// cgroup v1: the named systemd hierarchy at /, a controller in the container.
	v1 := "12:pids:/docker/" + hexID + "\n1:name=systemd:/\n0::/\n"
	if ref, ok := ParseProcCgroup(v1); !ok || ref.ID != hexID || ref.Runtime != RuntimeDocker {
		t.Errorf("v1: %+v %v", ref, ok)
	}
	v2 := "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + hexID + ".scope/container\n"
	if ref, ok := ParseProcCgroup(v2); !ok || ref.Runtime != RuntimePodman || ref.User != 1000 {
		t.Errorf("v2: %+v %v", ref, ok)
	}
	if ref, ok := ParseProcCgroup("0::/init.scope\n"); ok {
		t.Errorf("host: %+v", ref)
	}
	if id, rt, ok := IDFromProcCgroup(v1); !ok || id != hexID[:12] || rt != RuntimeDocker {
		t.Errorf("IDFromProcCgroup = %q %q %v", id, rt, ok)
	}
}

func TestFullIDFromCgroup(t *testing.T) {
	if id, rt, ok := FullIDFromCgroup("/system.slice/docker-" + hexID + ".scope"); !ok || id != hexID || rt != "docker" {
		t.Errorf("FullIDFromCgroup = %q %q %v", id, rt, ok)
	}
	if id, _, ok := FullIDFromCgroup("/default/redis-1"); ok {
		t.Errorf("an unverified name is not an id: %q", id)
	}
}

func TestRuntimeFromCgroup(t *testing.T) {
	for path, want := range map[string]string{
		"/docker/" + hexID:                                    "docker",
		"/system.slice/docker-" + hexID + ".scope":            "docker",
		"/kubepods/burstable/pod1234/" + hexID:                "kubepods",
		"/kubepods.slice/cri-containerd-" + hexID + ".scope":  "kubepods",
		"/system.slice/cri-containerd-" + hexID + ".scope":    "cri-containerd",
		"/machine.slice/libpod-" + hexID + ".scope/container": "machine.slice",
		"/lxc.payload.c1":                                     "lxc",
		"/actions_job/" + hexID:                               "actions_job",
		"/ecs/task/" + hexID:                                  "ecs",
		"/user.slice/user-1000.slice/session-1.scope":         "",
		"/system.slice/dockerd.service":                       "",
		"/":                                                   "",
		"/mydocker/x":                                         "",
	} {
		got, ok := RuntimeFromCgroup(path)
		if got != want || ok != (want != "") {
			t.Errorf("RuntimeFromCgroup(%q) = %q %v, want %q", path, got, ok, want)
		}
	}
}

func TestRefShortID(t *testing.T) {
	if got := (Ref{ID: hexID}).ShortID(); got != hexID[:12] {
		t.Errorf("hex: %q", got)
	}
	if got := (Ref{ID: "redis-1", Namespace: "default"}).ShortID(); got != "redis-1" {
		t.Errorf("name: %q", got)
	}
}

// FuzzParseCgroup: any input parses without panicking, and what is found
// is in the path: the id verbatim, the pod uid with systemd's underscores.
func FuzzParseCgroup(f *testing.F) {
	for _, tc := range cgroupFixtures {
		f.Add(tc.path)
	}
	f.Fuzz(func(t *testing.T, path string) {
		ref, ok := ParseCgroup(path)
		if !ok {
			if ref != (Ref{}) {
				t.Fatalf("not a container but %+v", ref)
			}
			return
		}
		if ref.ID == "" || !strings.Contains(path, ref.ID) {
			t.Fatalf("id %q not in %q", ref.ID, path)
		}
		switch ref.Runtime {
		case RuntimeDocker, RuntimePodman, RuntimeContainerd, RuntimeCRIO, RuntimeCRI, RuntimeUnknown:
		default:
			t.Fatalf("runtime %q", ref.Runtime)
		}
		if ref.PodUID != "" && !isPodUID(ref.PodUID) {
			t.Fatalf("pod uid %q", ref.PodUID)
		}
		if ref.PodUID != "" && !strings.Contains(path, ref.PodUID) && !strings.Contains(path, strings.ReplaceAll(ref.PodUID, "-", "_")) {
			t.Fatalf("pod uid %q not in %q", ref.PodUID, path)
		}
		if ref.Unverified && (ref.Runtime != RuntimeContainerd || ref.Namespace == "") {
			t.Fatalf("unverified %+v", ref)
		}
		if ref.ShortID() == "" {
			t.Fatalf("empty short id for %+v", ref)
		}
	})
}
