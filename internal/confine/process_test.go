package confine

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

func writeFakeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const fakeContainerID = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"

// fakeDockerProc writes a /proc tree shaped like a Docker container's.
func fakeDockerProc(t *testing.T) string {
	root := t.TempDir()
	writeFakeFile(t, root, "proc/self/status", "Name:\tnginx\x1b[31m\nPid:\t7\nUid:\t101\t101\t101\t101\nGid:\t0\t102\t102\t102\nGroups:\t4 27 \n"+
		"CapInh:\t0000000000000000\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\n"+
		"NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n")
	writeFakeFile(t, root, "proc/self/uid_map", "         0     100000      65536\n")
	writeFakeFile(t, root, "proc/self/gid_map", "         0     100000      65536\n")
	writeFakeFile(t, root, "proc/self/cgroup", "4:memory:/docker/"+fakeContainerID+"\n0::/system.slice/docker-"+fakeContainerID+".scope\n")
	writeFakeFile(t, root, "proc/sys/kernel/cap_last_cap", "40\n")
	writeFakeFile(t, root, "proc/1/comm", "nginx\n")
	writeFakeFile(t, root, ".dockerenv", "")
	return root
}

func TestReadProcessFakeProc(t *testing.T) {
	c, err := ReadProcess(fakeDockerProc(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.PID != 7 || c.Command != "nginx\x1b[31m" || c.UID != (IDs{101, 101, 101, 101}) || c.GID != (IDs{0, 102, 102, 102}) || !reflect.DeepEqual(c.Groups, []int{4, 27}) {
		t.Errorf("ids: %+v %q %+v %+v %v", c.PID, c.Command, c.UID, c.GID, c.Groups)
	}
	if !reflect.DeepEqual(c.Capabilities.Effective.Names, []string{"net_bind_service"}) || c.Capabilities.Known != 41 {
		t.Errorf("effective = %v, known %d", c.Capabilities.Effective.Names, c.Capabilities.Known)
	}
	// 0xa80425fb is Docker's default bounding set.
	wantBnd := []string{"chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap", "net_bind_service", "net_raw", "sys_chroot", "mknod", "audit_write", "setfcap"}
	if !reflect.DeepEqual(c.Capabilities.Bounding.Names, wantBnd) {
		t.Errorf("bounding = %v", c.Capabilities.Bounding.Names)
	}
	if !c.NoNewPrivs || c.Seccomp != (SeccompState{"filter", 1}) {
		t.Errorf("nnp %v seccomp %+v", c.NoNewPrivs, c.Seccomp)
	}
	if c.UserNS.Initial || !reflect.DeepEqual(c.UserNS.UIDMap, []IDMap{{0, 100000, 65536}}) {
		t.Errorf("userns %+v", c.UserNS)
	}
	if c.Container.Verdict != "yes" || c.Container.ID != fakeContainerID || len(c.Container.Evidence) != 3 ||
		c.Container.Evidence[0] != `cgroup path "/docker/`+fakeContainerID+`" names docker` {
		t.Errorf("container %+v", c.Container)
	}
	if c.Probes == nil || c.Sockets == nil || c.Writable == nil {
		t.Error("an empty list would come out as JSON null")
	}
}

func TestReadProcessErrors(t *testing.T) {
	root := t.TempDir()
	if _, err := ReadProcess(root, 0); err == nil || !strings.Contains(err.Error(), "read process status") {
		t.Fatalf("missing status: %v", err)
	}
	for status, want := range map[string]string{
		"Name:\tx\nPid:\t1\nUid:\t0 0 0\n":                     "Uid: want 4 ids",
		"Name:\tx\nPid:\tone\n":                                `Pid: "one" is not a number`,
		"Pid:\t1\nUid:\t0 0 0 0\n":                             "no Gid: line",
		"Pid:\t1\nUid:\t0 0 0 0\nGid:\t0 0 0 0\nGroups:\tx\n":  `Groups: "x" is not a number`,
		"Pid:\t1\nUid:\t0 0 0 0\nGid:\t0 0 0 0\nCapInh:\tzz\n": `CapInh: "zz" is not a hex mask`,
	} {
		writeFakeFile(t, root, "proc/self/status", status)
		if _, err := ReadProcess(root, 0); err == nil || !strings.HasPrefix(err.Error(), "parse /proc/self/status: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("status %q: %v, want %q", status, err, want)
		}
	}
}

// TestReadProcessSelf checks the real report against the kernel's own
// answers obtained another way (capget, prctl, getuid).
func TestReadProcessSelf(t *testing.T) {
	c, err := ReadProcess("/", 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.PID != os.Getpid() || c.UID.Real != os.Getuid() || c.UID.Effective != os.Geteuid() || c.GID.Real != os.Getgid() {
		t.Errorf("ids %+v / %+v pid %d", c.UID, c.GID, c.PID)
	}
	caps, err := capability.NewPid2(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := caps.Load(); err != nil {
		t.Fatal(err)
	}
	want := []string{}
	for _, cp := range capability.ListKnown() {
		if caps.Get(capability.EFFECTIVE, cp) {
			want = append(want, cp.String())
		}
	}
	if !reflect.DeepEqual(c.Capabilities.Effective.Names, want) {
		t.Errorf("effective caps %v, capget says %v", c.Capabilities.Effective.Names, want)
	}
	nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.NoNewPrivs != (nnp == 1) {
		t.Errorf("no_new_privs %v, prctl says %d", c.NoNewPrivs, nnp)
	}
	sc, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	if err == nil && (sc == 2) != (c.Seccomp.Mode == "filter") {
		t.Errorf("seccomp %+v, prctl says %d", c.Seccomp, sc)
	}
	_, statErr := os.Stat("/sys/fs/selinux/enforce")
	if c.SELinux.Enabled() != (statErr == nil) {
		t.Errorf("selinux %+v", c.SELinux)
	}
}

// TestReadProcessFakeMountinfo reads findings from a fake mount table whose
// mount point carries a newline and an escape sequence (the kernel writes
// them as octal escapes), and rejects a truncated table.
func TestReadProcessFakeMountinfo(t *testing.T) {
	root := t.TempDir()
	writeFakeFile(t, root, "proc/self/status", "Name:\tsh\nPid:\t1\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t\n"+
		"CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n"+
		"NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n")
	writeFakeFile(t, root, "proc/self/mountinfo", "1 0 0:40 / / ro - overlay overlay rw\n"+
		"2 1 8:1 /etc /x\\012\\033[31mred ro - ext4 /dev/sda1 rw\n")
	c, err := ReadProcess(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Findings) != 1 || c.Findings[0].Check != "sensitive-host-mount" || !strings.Contains(c.Findings[0].Detail, "mounted at /x\n\x1b[31mred read-only") {
		t.Fatalf("findings %+v", c.Findings)
	}
	writeFakeFile(t, root, "proc/self/mountinfo", "1 0 0:40 / /\n")
	if _, err := ReadProcess(root, 0); err == nil || !strings.HasPrefix(err.Error(), "/proc/self/mountinfo:1: want at least 6 fields") {
		t.Errorf("bad mountinfo: %v", err)
	}
}

func TestCapNames(t *testing.T) {
	if got := CapNames(1<<10 | 1<<12); !reflect.DeepEqual(got, []string{"net_bind_service", "net_admin"}) {
		t.Errorf("two: %v", got)
	}
	if got := CapNames(1 << 50); !reflect.DeepEqual(got, []string{"cap_50"}) {
		t.Errorf("unknown bit: %v", got)
	}
	if got := CapNames(0); got == nil || len(got) != 0 {
		t.Errorf("empty mask: %#v", got)
	}
}

func TestParseIDMapAndCgroups(t *testing.T) {
	m := ParseIDMap("0 0 4294967295\n  1000 100000 65536\nbad line here x\n0 0\n")
	if !reflect.DeepEqual(m, []IDMap{{0, 0, 4294967295}, {1000, 100000, 65536}}) {
		t.Errorf("id map %+v", m)
	}
	if !isIdentityMap(m[:1]) || isIdentityMap(m) {
		t.Error("identity map")
	}
	cg := ParseCgroups("12:pids:/docker/x\n0::/a:b\nno colon\nx:y:z\n")
	if !reflect.DeepEqual(cg, []Cgroup{{12, "pids", "/docker/x"}, {0, "", "/a:b"}}) {
		t.Errorf("cgroups %+v", cg)
	}
}

func TestDetectContainer(t *testing.T) {
	id := fakeContainerID
	for _, tc := range []struct {
		name, cgroup, comm string
		dockerenv          bool
		verdict, cid, ev0  string
	}{
		{"docker systemd", "/system.slice/docker-" + id + ".scope", "nginx", false, "yes", id, `cgroup path "/system.slice/docker-` + id + `.scope" names docker`},
		{"kubernetes", "/kubepods/burstable/pod1/" + id, "pause", false, "yes", id, `cgroup path "/kubepods/burstable/pod1/` + id + `" names kubepods`},
		{"bare id", "/" + id, "sh", false, "yes", id, `cgroup path "/` + id + `" names a container id`},
		{"lxc without id", "/lxc.payload.web", "systemd", false, "yes", "", `cgroup path "/lxc.payload.web" names lxc`},
		{"marker file only", "/", "systemd", true, "likely", "", "Docker's marker file /.dockerenv exists"},
		{"pid 1 not init", "/user.slice", "bash", false, "likely", "", `PID 1 is "bash", not an init system`},
		{"host", "/user.slice/user-1000.slice/session-1.scope", "systemd", false, "no evidence", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFakeFile(t, root, "proc/1/comm", tc.comm+"\n")
			if tc.dockerenv {
				writeFakeFile(t, root, ".dockerenv", "")
			}
			v := DetectContainer(root, []Cgroup{{0, "", tc.cgroup}})
			ev0 := ""
			if len(v.Evidence) > 0 {
				ev0 = v.Evidence[0]
			}
			if v.Verdict != tc.verdict || v.ID != tc.cid || ev0 != tc.ev0 {
				t.Errorf("got %+v, want %s id %q evidence %q", v, tc.verdict, tc.cid, tc.ev0)
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add("Name:\tsh\nPid:\t1\nUid:\t0 0 0 0\nGid:\t0 0 0 0\nGroups:\t\nCapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t3fffffffff\nCapAmb:\t0\nSeccomp:\t2\n")
	f.Add("Pid:\t-1\nUid:\t1 2 3 4 5\n")
	f.Fuzz(func(t *testing.T, text string) {
		var c Report
		if err := ParseStatus(text, 40, &c); err == nil {
			if c.Groups == nil || c.Capabilities.Known != 41 || c.Seccomp.Mode == "" {
				t.Fatalf("accepted %q but left %+v", text, c)
			}
		}
		ParseIDMap(text)
		ParseCgroups(text)
	})
}
