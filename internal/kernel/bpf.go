package kernel

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
)

// CaptureTracepoints are the tracepoints the event source attaches to.
var CaptureTracepoints = []string{"sys_enter", "sys_exit", "sched_process_exec", "sched_process_fork", "sched_process_exit"}

// RingBuffer checks that the kernel can create a BPF ring buffer map.
func RingBuffer() Check {
	c := Check{Name: "ringbuf"}
	err := features.HaveMapType(ebpf.RingBuf)
	switch {
	case err == nil:
		c.Status, c.Detail = OK, "BPF ring buffer maps available"
	case errors.Is(err, ebpf.ErrNotSupported):
		c.Status, c.Detail = Fail, "no BPF ring buffer: "+err.Error()
		c.Fix = "upgrade to Linux 5.8 or later"
	default:
		c.Status, c.Detail = Fail, "probe failed: "+err.Error()
		c.Fix = "run as root; check that bpf() is not blocked by seccomp or an LSM"
	}
	return c
}

var returnZero = asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}

// attachTPBTF loads an empty BTF tracepoint program for name, attaches and
// detaches it.
func attachTPBTF(name string) error {
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: name,
		Instructions: returnZero, License: "GPL",
	})
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer p.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: p})
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	return l.Close()
}

// attachRawTP does the same with a plain raw tracepoint program.
func attachRawTP(name string) error {
	p, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.RawTracepoint, Instructions: returnZero, License: "GPL",
	})
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer p.Close()
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: name, Program: p})
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	return l.Close()
}

// groupFailures lists the names whose errs are not nil, those failing with
// the same message together, so a library's hint in the message (cilium/ebpf's
// MEMLOCK advice) is said once, not once per name.
func groupFailures(prefix string, names []string, errs []error) string {
	var msgs []string
	failed := map[string][]string{}
	for i, err := range errs {
		if err == nil {
			continue
		}
		msg := err.Error()
		if failed[msg] == nil {
			msgs = append(msgs, msg)
		}
		failed[msg] = append(failed[msg], names[i])
	}
	var out []string
	for _, msg := range msgs {
		out = append(out, prefix+strings.Join(failed[msg], ", ")+": "+msg)
	}
	return strings.Join(out, "; ")
}

// Tracepoints attaches an empty program to each tracepoint capture uses,
// as a BTF tracepoint (what Palisade loads) and as a raw tracepoint.
func Tracepoints() Check {
	c := Check{Name: "tracepoints"}
	errs := make([]error, len(CaptureTracepoints))
	rawOK := 0
	for i, tp := range CaptureTracepoints {
		errs[i] = attachTPBTF(tp)
		if attachRawTP(tp) == nil {
			rawOK++
		}
	}
	if bad := groupFailures("tp_btf/", CaptureTracepoints, errs); bad != "" {
		c.Status = Fail
		c.Detail = bad
		c.Fix = "run as root on Linux 5.8+ with BTF; BTF tracepoints need CONFIG_DEBUG_INFO_BTF=y and no LSM denying BPF_PROG_LOAD"
		return c
	}
	c.Status = OK
	c.Detail = fmt.Sprintf("tp_btf attach works on %s; raw_tp on %d/%d", strings.Join(CaptureTracepoints, ", "), rawOK, len(CaptureTracepoints))
	return c
}
