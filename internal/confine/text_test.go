package confine

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteTextFakeProc renders a /proc tree shaped like a Docker
// container's whose process name holds an escape sequence and a bidi
// override.
func TestWriteTextFakeProc(t *testing.T) {
	root := fakeDockerProc(t)
	writeFakeFile(t, root, "proc/self/status", "Name:\tnginx\x1b[31m\u202e\nPid:\t7\nUid:\t101\t101\t101\t101\nGid:\t0\t102\t102\t102\nGroups:\t4 27 \n"+
		"CapInh:\t0000000000000000\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\n"+
		"NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n")
	c, err := ReadProcess(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	id := fakeContainerID
	for _, want := range []string{
		"process         7 (nginx\\x1b[31m\\u202e)\n",
		"uid             real 101, effective 101, saved 101, fs 101\n",
		"gid             real 0, effective 102, saved 102, fs 102\n",
		"groups          4 27\n",
		"cap effective   net_bind_service\n",
		"cap bounding    chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap\n",
		"cap ambient     none\n",
		"                (capabilities of a non-initial user namespace: they act only on what it owns)\n",
		"no_new_privs    on\n",
		"seccomp         filter (1 filter)\n",
		"apparmor        not in kernel (not read (fake root))\n",
		"user ns         uid 0-65535 -> 100000-165535; gid 0-65535 -> 100000-165535\n",
		"cgroup          /docker/" + id + " (memory)\n                /system.slice/docker-" + id + ".scope (v2)\n",
		"container       yes, id ab12ab12ab12\n",
		"                - cgroup path \"/docker/" + id + "\" names docker\n",
		"                - Docker's marker file /.dockerenv exists\n",
		"                - PID 1 is \"nginx\", not an init system\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\u202e") {
		t.Error("an escape sequence or bidi override from the process name reached the terminal output")
	}
}

// TestWriteTextMountinfo renders a finding whose mount point carries a
// newline and an escape sequence (the kernel writes them as octal escapes).
func TestWriteTextMountinfo(t *testing.T) {
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
	var text bytes.Buffer
	c.WriteText(&text)
	out := text.String()
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `mounted at /x\n\x1b[31mred read-only`) || !strings.Contains(out, "findings        1\n  HIGH     sensitive-host-mount: Sensitive host path mounted\n") {
		t.Errorf("text output:\n%s", out)
	}
}

func TestDescribeCaps(t *testing.T) {
	for _, tc := range []struct {
		mask  uint64
		known int
		want  string
	}{
		{1<<41 - 1, 41, "all 41"},
		{0x1fffeffffff, 41, "40 of 41: all but sys_resource"},
		{1<<10 | 1<<12, 41, "net_bind_service, net_admin"},
		{0, 41, "none"},
	} {
		if got := describeCaps(CapSet{Names: CapNames(tc.mask)}, tc.known); got != tc.want {
			t.Errorf("describeCaps(%#x, %d) = %q, want %q", tc.mask, tc.known, got, tc.want)
		}
	}
}
