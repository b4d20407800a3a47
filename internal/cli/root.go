package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/input"
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "0.1.0-dev"

// ExitError carries a process exit code with the one line shown to the user.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// exitf returns an ExitError with the given code and message.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// streams are the standard streams a command reads and writes; tests swap them.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// NewRoot builds the command tree.
func NewRoot(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "palisade",
		Short:         "Runtime security for containers: audit, least privilege, enforcement, detection",
		Long:          "Palisade audits container breakout vectors, derives and enforces least privilege\n(seccomp, capabilities, AppArmor), and detects compromise at run time with\nFalco-compatible rules over kernel events.",
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.CompletionOptions.DisableDefaultCmd = true
	var maxInput string
	root.PersistentFlags().StringVar(&maxInput, "max-input-size", "", "read at most `SIZE` (e.g. 64MiB) of any one input file instead of its kind's limit ("+inputLimitsHelp()+")")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if maxInput == "" {
			return nil
		}
		n, err := input.ParseSize(maxInput)
		if err != nil {
			return exitf(2, "--max-input-size: %v", err)
		}
		cmd.SetContext(input.WithMaxSize(cmd.Context(), n))
		return nil
	}
	root.AddCommand(
		newWatchCmd(s),
		newReplayCmd(s),
		newRulesCmd(s),
		newRecordCmd(s),
		newProfileCmd(s),
		newSeccompCmd(s),
		newRunCmd(s),
		newAuditCmd(s),
		newAppArmorCmd(s),
		newInspectCmd(s),
		newDoctorCmd(s),
		newAlertsCmd(s),
		newServeCmd(s),
		newCollectCmd(s),
	)
	return root
}

// inputLimitsHelp lists each kind of input's default limit.
func inputLimitsHelp() string {
	var parts []string
	for _, k := range input.Kinds {
		parts = append(parts, k.Name+" "+input.FormatSize(k.Limit))
	}
	return strings.Join(parts, ", ")
}

// Interrupted is the cause of a context cancelled by a signal; main sets
// it so Run can exit 128+signal.
type Interrupted struct{ Signal syscall.Signal }

func (i *Interrupted) Error() string { return "interrupted by " + signalName(i.Signal) }

// ExitCode is the shell's code for a process ended by the signal.
func (i *Interrupted) ExitCode() int { return 128 + int(i.Signal) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// Run executes the command line and returns the process exit code. Errors are
// printed as one line on stderr; a panic in a command is turned into an
// internal error line rather than a stack trace.
func Run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) (code int) {
	s := streams{in: in, out: out, err: errw}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(errw, "palisade: internal error: %v (please report this)\n", r)
			code = 3
		}
	}()
	root := NewRoot(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	// A command cut short by a signal reports the signal, not the error
	// its cancelled work returned. Commands whose normal end is a signal
	// (watch, serve, alerts --follow) return nil and exit 0.
	var sig *Interrupted
	if ctx.Err() != nil && errors.As(context.Cause(ctx), &sig) {
		fmt.Fprintf(errw, "palisade: %s\n", sig.Error())
		return sig.ExitCode()
	}
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(errw, "palisade: %s\n", msg)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}
