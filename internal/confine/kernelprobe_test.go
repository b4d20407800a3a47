package confine

import (
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/exposure"
)

func TestKernelFilter(t *testing.T) {
	refused := ProbeOutcome{Result: "refused", Errno: 1, ErrnoName: "EPERM"}
	ok := ProbeOutcome{Result: "ok"}
	f := &KernelFilter{
		Userns: refused,
		Kernel: []KernelProbeResult{
			{Name: "netlink-netfilter", Call: "socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)", Here: ok},
			{Name: "packet", Call: "socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))", Here: refused, InUserns: &ok},
			{Name: "io_uring", Call: "io_uring_setup(1, &params)", Here: ProbeOutcome{Result: "killed", Note: "SIGSYS"}},
		},
		Syscall: []ProbeResult{{Syscall: "mount", Result: ResultBlocked}, {Syscall: "bpf", Result: ResultDenied}, {Syscall: "keyctl", Result: ResultUnclear}},
	}
	tests := []struct {
		name        string
		args        [6]uint64
		allow, know bool
		how         string
	}{
		{"unshare", [6]uint64{0x10000000}, false, true, "refused with EPERM"},
		{"clone", [6]uint64{0x10000000 | 17}, false, true, "refused with EPERM"},
		{"socket", [6]uint64{16, 3, 12}, true, true, "allowed"},
		{"socket", [6]uint64{17, 3, 0x300}, true, true, "allowed in a new user namespace"},
		{"io_uring_setup", [6]uint64{1}, false, true, "killed"},
		{"mount", [6]uint64{}, false, true, "blocked"},
		{"bpf", [6]uint64{5}, true, true, "reaches the kernel"},
		{"keyctl", [6]uint64{}, true, false, "unclear"},
		{"socket", [6]uint64{2, 1, 0}, true, false, "not probed"},
		{"madvise", [6]uint64{}, true, false, "not probed"},
	}
	for _, tt := range tests {
		allow, how, know := f.Decide(tt.name, tt.args)
		if allow != tt.allow || know != tt.know || !strings.Contains(how, tt.how) {
			t.Errorf("%s%v: %v %q %v, want %v %q %v", tt.name, tt.args[:3], allow, how, know, tt.allow, tt.how, tt.know)
		}
	}
	// Through the evaluation: nf_tables needs CAP_NET_ADMIN, which this
	// process lacks and cannot get in a user namespace.
	c := &Report{PID: 7, Capabilities: CapSets{Effective: CapSet{Hex: "00000000a80425fb"}}, UserNS: UserNS{Initial: true}}
	h := &exposure.Host{Kernel: exposure.ParseKernel("6.1.0", "", ""), Sysctls: map[string]int{}}
	rep := exposure.NewReport(exposure.Builtin().Only(exposure.ComponentKernel), h, c.KernelSubject(f, nil))
	for _, r := range rep.Results {
		switch r.Bug.ID {
		case "CVE-2024-1086":
			if r.Outcome != exposure.Blocked || !strings.Contains(strings.Join(r.BlockedBy, "|"), "a child in a new user namespace was refused with EPERM") {
				t.Errorf("CVE-2024-1086: %s %v", r.Outcome, r.BlockedBy)
			}
		case "CVE-2021-22600": // af_packet: Docker's defaults hold CAP_NET_RAW
			if r.Outcome != exposure.Fixed || !r.Reachable {
				t.Errorf("CVE-2021-22600 on 6.1: %s reachable=%v %v", r.Outcome, r.Reachable, r.BlockedBy)
			}
		}
	}
}
