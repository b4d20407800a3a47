package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/exposure"
	"github.com/palisade-sec/palisade/internal/kernel"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

func newDoctorCmd(s streams) *cobra.Command {
	var format, out, socket string
	var criSockets []string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check whether this host can run palisade",
		Long: "Checks what live capture and container context need from this host:\n" +
			"privileges, kernel BTF, the BPF ring buffer, BTF/raw tracepoints (by attaching\n" +
			"empty programs), tracefs, lockdown, the cgroup version, a trial load of the\n" +
			"event source, every container engine found (Docker, podman, containerd, CRI:\n" +
			"its socket, its version, or why it does not answer), the Docker daemon's\n" +
			"security options. Each problem comes with its fix. Exits 1 when capture\n" +
			"cannot run here.\n\n" +
			"Then the kernel exposure: which known container-breakout kernel bugs a\n" +
			"container with Docker's defaults could reach on this kernel, what blocks\n" +
			"the others, and the fix (docs/kernel-exposure.md).",
		Example: "  sudo palisade doctor\n  sudo palisade doctor -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if socket == "" {
				socket = container.DockerSocket()
			}
			r := runDoctor(cmd.Context(), socket, criSockets)
			exp, expErr := hostExposure(cmd.Context(), socket)
			if err := writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, doctorJSON{Report: r, KernelExposure: exp})
				}
				if err := r.WriteText(w); err != nil {
					return err
				}
				if exp == nil {
					_, err := fmt.Fprintf(w, "\nkernel exposure: %s\n", escape.Text(expErr.Error()))
					return err
				}
				fmt.Fprintln(w, "\nkernel exposure (docs/kernel-exposure.md):")
				return exp.WriteText(w)
			}); err != nil {
				return err
			}
			if !r.OK {
				return exitf(1, "this host cannot run palisade's live capture (%d failed checks; fixes above)", r.Failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&out, "out", "", "write the report to this file (default stdout)")
	cmd.Flags().StringSliceVar(&criSockets, "cri-socket", nil, "a Kubernetes CRI endpoint to check besides those found (as watch --cri-socket)")
	cmd.Flags().StringVar(&socket, "docker-socket", "", "Docker Engine socket (default $DOCKER_HOST or /var/run/docker.sock)")
	return cmd
}

// doctorJSON is doctor's -o json document: the checks as before, and the
// host's kernel exposure under its own key.
type doctorJSON struct {
	kernel.Report
	KernelExposure *exposure.Report `json:"kernel_exposure"`
}

// hostExposure evaluates the bug table for this host as a container with
// Docker's defaults would meet it.
func hostExposure(ctx context.Context, socket string) (*exposure.Report, error) {
	h := exposure.ReadHost(exposure.DefaultHostPaths)
	if e, err := container.AskEngine(ctx, socket); err == nil && e.Runc != "" {
		rv := exposure.ParseRuntimeVersion(e.Runc)
		h.Runc = &rv
	}
	subj, err := exposure.DockerDefaultSubject(h)
	if err != nil {
		return nil, err
	}
	return exposure.NewReport(exposure.Builtin(), h, subj), nil
}

// runDoctor makes every check: the host's, a trial load of the event
// source, every engine found, then the Docker daemon's.
func runDoctor(ctx context.Context, socket string, criSockets []string) kernel.Report {
	checks := append([]kernel.Check(nil), kernel.Checks()...)
	checks = append(checks, ebpf.CheckOpen())
	checks = append(checks, container.SurveyChecks(container.Survey(ctx, criSockets))...)
	checks = append(checks, container.DaemonChecks(ctx, socket)...)
	return kernel.NewReport(checks)
}
