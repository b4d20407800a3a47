package exposure

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadHost reads a fixture /proc and /lib/modules: a Debian kernel with
// nf_tables loaded, cls_route installed, openvswitch not built.
func TestReadHost(t *testing.T) {
	dir := t.TempDir()
	proc, mods := filepath.Join(dir, "proc"), filepath.Join(dir, "modules")
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(proc, "sys/kernel/osrelease"), "6.1.0-18-amd64\n")
	write(filepath.Join(proc, "version"), "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)\n")
	write(filepath.Join(proc, "sys/user/max_user_namespaces"), "0\n")
	write(filepath.Join(proc, "sys/kernel/io_uring_disabled"), "garbage\n")
	write(filepath.Join(proc, "sys/kernel/modules_disabled"), "1\n")
	write(filepath.Join(proc, "modules"), "nf_tables 303104 0 - Live 0x0000000000000000\nnfnetlink 20480 1 nf_tables, Live 0x0000000000000000\n")
	write(filepath.Join(proc, "self/mountinfo"), "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n")
	var cfg bytes.Buffer
	zw := gzip.NewWriter(&cfg)
	zw.Write([]byte("CONFIG_NF_TABLES=m\nCONFIG_NET_CLS_ROUTE4=m\n# CONFIG_OPENVSWITCH is not set\nCONFIG_PACKET=y\n"))
	zw.Close()
	write(filepath.Join(proc, "config.gz"), cfg.String())
	write(filepath.Join(mods, "6.1.0-18-amd64/modules.dep"), "kernel/net/sched/cls_route.ko.xz: \nkernel/net/netfilter/nf_tables.ko.xz: kernel/net/netfilter/nfnetlink.ko.xz\n")
	write(filepath.Join(mods, "6.1.0-18-amd64/modules.builtin"), "kernel/net/packet/af_packet.ko\n")

	h := ReadHost(HostPaths{Proc: proc, Modules: mods})
	if h.Kernel.Upstream != "6.1.76" || h.Kernel.Vendor != "debian" {
		t.Errorf("kernel %+v", h.Kernel)
	}
	if v, ok := h.Sysctls["user.max_user_namespaces"]; !ok || v != 0 {
		t.Errorf("max_user_namespaces %d %v", v, ok)
	}
	if !slices.Contains(h.Unreadable, "kernel.io_uring_disabled") {
		t.Errorf("garbage sysctl not unreadable: %v", h.Unreadable)
	}
	if _, ok := h.Sysctls["kernel.unprivileged_userns_clone"]; ok {
		t.Error("absent sysctl read")
	}
	if !h.Loaded["nf_tables"] || !h.Available["cls_route"] || !h.Builtin["af_packet"] || h.Config["CONFIG_PACKET"] != "y" || h.CgroupV1 != "no" {
		t.Errorf("modules %v %v %v config %v cgroup v1 %q", h.Loaded, h.Available, h.Builtin, h.Config, h.CgroupV1)
	}
	unconfined := &Subject{Name: "c"}
	for id, want := range map[string]string{
		"CVE-2022-2588": "module cls_route not loaded and kernel.modules_disabled=1",
		"CVE-2022-2639": "the kernel is built without CONFIG_OPENVSWITCH",
		"CVE-2024-1086": "sysctl user.max_user_namespaces=0",
		"CVE-2022-0492": "cgroup v2 only",
	} {
		r := EvaluateBug(bug(t, id), h, unconfined)
		if r.Outcome != Blocked && r.Outcome != Fixed || !strings.Contains(strings.Join(r.BlockedBy, "\n"), want) {
			t.Errorf("%s: %s %v, want blocked by %q", id, r.Outcome, r.BlockedBy, want)
		}
	}
	// An unreadable io_uring sysctl gates nothing.
	if r := EvaluateBug(bug(t, "CVE-2022-29582"), h, unconfined); r.Outcome != Fixed || !r.Reachable {
		t.Errorf("io_uring with unreadable sysctl: %s %v", r.Outcome, r.BlockedBy)
	}
}

func TestReadHostNothing(t *testing.T) {
	h := ReadHost(HostPaths{Proc: t.TempDir(), Modules: t.TempDir()})
	if h.Kernel.Known {
		t.Errorf("nothing read but kernel known: %+v", h.Kernel)
	}
	r := EvaluateBug(bug(t, "CVE-2022-0847"), h, &Subject{Name: "c"})
	if r.Outcome != UnknownResult {
		t.Errorf("unknown host: %s, want unknown", r.Outcome)
	}
}
