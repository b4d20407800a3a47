package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/container"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/kernel"
	"github.com/palisade-sec/palisade/internal/kernel/ebpf"
)

func newDoctorCmd(s streams) *cobra.Command {
	var format, out, socket string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check whether this host can run palisade",
		Long: "Checks what live capture and container context need from this host:\n" +
			"privileges, kernel BTF, the BPF ring buffer, BTF/raw tracepoints (by attaching\n" +
			"empty programs), tracefs, lockdown, the cgroup version, a trial load of the\n" +
			"event source, the Docker socket and the daemon's security options. Each\n" +
			"problem comes with its fix. Exits 1 when capture cannot run here.",
		Example: "  sudo palisade doctor\n  sudo palisade doctor -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if socket == "" {
				socket = container.DockerSocket()
			}
			r := runDoctor(cmd.Context(), socket)
			if err := writeResult(s.out, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, r)
				}
				return r.writeText(w)
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
	cmd.Flags().StringVar(&socket, "docker-socket", "", "Docker Engine socket (default $DOCKER_HOST or /var/run/docker.sock)")
	return cmd
}

// doctorReport is the outcome of every check.
type doctorReport struct {
	OK       bool           `json:"ok"` // no check failed
	Failed   int            `json:"failed"`
	Warnings int            `json:"warnings"`
	Checks   []kernel.Check `json:"checks"`
}

func runDoctor(ctx context.Context, socket string) doctorReport {
	checks := append([]kernel.Check(nil), kernel.Checks()...)
	checks = append(checks, ebpf.CheckOpen())
	checks = append(checks, container.DaemonChecks(ctx, socket)...)
	return newDoctorReport(checks)
}

func newDoctorReport(checks []kernel.Check) doctorReport {
	r := doctorReport{Checks: checks}
	for _, c := range checks {
		switch c.Status {
		case kernel.Fail:
			r.Failed++
		case kernel.Warn:
			r.Warnings++
		}
	}
	r.OK = r.Failed == 0
	return r
}

func (r doctorReport) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tDETAIL")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Status, escape.Text(c.Name), escape.Text(c.Detail))
		if c.Fix != "" && c.Status != kernel.OK {
			fmt.Fprintf(tw, "\t\tfix: %s\n", escape.Text(c.Fix))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case !r.OK:
		_, err := fmt.Fprintf(w, "\nlive capture cannot run here: %d failed, %d warnings\n", r.Failed, r.Warnings)
		return err
	case r.Warnings > 0:
		_, err := fmt.Fprintf(w, "\npalisade can run here (%d warnings)\n", r.Warnings)
		return err
	}
	_, err := fmt.Fprintln(w, "\npalisade can run here")
	return err
}
