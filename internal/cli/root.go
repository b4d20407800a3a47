package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/palisade-sec/palisade/internal/atomicfile"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/palisade-sec/palisade/internal/srcpos"
)

// Version is set at build time with -ldflags "-X ...cli.Version=..." (the
// Makefile passes git describe).
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
	// gate is closed when Run gives up on a command after a signal: no
	// --out file is replaced after that (nil: always open).
	gate *atomicfile.Gate
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
	// cobra's completion command: palisade completion bash|zsh|fish|powershell.
	root.CompletionOptions.HiddenDefaultCmd = false
	var maxInput string
	root.PersistentFlags().StringVar(&maxInput, "max-input-size", "", "read at most `SIZE` (e.g. 64MiB) of any one input file instead of its kind's limit ("+inputLimitsHelp()+")")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if err := checkDurations(cmd); err != nil {
			return err
		}
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
		newBaselineCmd(s),
		newSeccompCmd(s),
		newRunCmd(s),
		newAuditCmd(s),
		newAppArmorCmd(s),
		newInspectCmd(s),
		newDoctorCmd(s),
		newAlertsCmd(s),
		newServeCmd(s),
		newCollectCmd(s),
		newVersionCmd(s),
	)
	root.InitDefaultCompletionCmd()
	markUsageErrors(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
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

// stopGrace is how long a command has to return after Ctrl-C before Run
// gives up on it, so every command ends within a second of a signal. Its
// --out file is written beside the target and renamed, so giving up never
// leaves a partial file.
const stopGrace = 700 * time.Millisecond

// stopsOnSignal lists the commands whose normal end is a signal: they get
// all the time they need to flush their outputs and exit 0.
var stopsOnSignal = map[string]bool{"watch": true, "serve": true, "alerts": true, "collect": true}

// usageError marks cobra's own complaints (unknown flag, wrong argument
// count, unknown command) as usage errors: exit 2.
func usageError(err error) error {
	var ee *ExitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: 2, Err: err}
}

// exitCodesHelp ends every command's help: one convention for all.
const exitCodesHelp = "Exit status: 0 ok; 1 findings or alerts at or above the threshold; 2 bad input\n" +
	"or usage; 3 environment (no root, no BPF, daemon or store unreachable);\n" +
	"130 or 143 when stopped by SIGINT or SIGTERM."

// markUsageErrors wraps every command's argument check so its error exits 2,
// and ends every command's help with the exit codes.
func markUsageErrors(c *cobra.Command) {
	if c.Long == "" {
		c.Long = c.Short
	}
	c.Long = strings.TrimRight(c.Long, "\n") + "\n\n" + exitCodesHelp
	if c.HasParent() && c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		// "palisade rules bogus" would otherwise print help and exit 0.
		c.Args = func(cmd *cobra.Command, a []string) error {
			if len(a) > 0 {
				return fmt.Errorf("unknown command %q for %q", a[0], cmd.CommandPath())
			}
			return nil
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error { return usageError(args(cmd, a)) }
	}
	for _, sub := range c.Commands() {
		markUsageErrors(sub)
	}
}

// checkDurations refuses a negative value for any duration flag the user
// set: "run for -5s" has no meaning, and watch used to run forever.
func checkDurations(cmd *cobra.Command) error {
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if err == nil && f.Value.Type() == "duration" {
			if d, perr := time.ParseDuration(f.Value.String()); perr == nil && d < 0 {
				err = exitf(2, "--%s %v: must not be negative", f.Name, d)
			}
		}
	})
	return err
}

// Run executes the command line and returns the process exit code. Errors are
// printed as one line on stderr; a panic in a command is turned into an
// internal error line rather than a stack trace.
func Run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) (code int) {
	s := streams{in: in, out: out, err: errw, gate: &atomicfile.Gate{}}
	root := NewRoot(s)
	root.SetArgs(args)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- &ExitError{Code: 3, Err: fmt.Errorf("internal error: %v (please report this)", r)}
			}
		}()
		done <- root.ExecuteContext(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		if c, _, ferr := root.Find(args); ferr == nil && stopsOnSignal[c.Name()] {
			err = <-done
			break
		}
		select {
		case err = <-done:
		case <-time.After(stopGrace):
			err = context.Cause(ctx)
			if s.gate.Close() {
				// Its --out file was already replaced, complete: the
				// command's work is done and it is only returning.
				select {
				case err = <-done:
				case <-time.After(stopGrace):
				}
			}
		}
	}
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
	// Escaped here once for every command: a file name or message holding
	// ANSI, NUL or bidi characters cannot forge or hide lines on stderr.
	msg := escape.Line(strings.TrimSpace(err.Error()))
	fmt.Fprintf(errw, "palisade: %s\n", msg)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	// An error with a position is about the input, whichever command
	// returned it unclassified.
	var pe *srcpos.Error
	var pl srcpos.ErrorList
	if strings.HasPrefix(msg, "unknown command") || errors.As(err, &pe) || errors.As(err, &pl) {
		return 2
	}
	return 1
}
