package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
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
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(errw, "palisade: %s\n", msg)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}
