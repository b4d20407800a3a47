package outputs

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// ProgramConfig configures the program output.
type ProgramConfig struct {
	// Command is run with /bin/sh -c for every alert, with the alert's
	// Falco JSON (one line) on stdin.
	Command string        `yaml:"command"`
	Timeout time.Duration `yaml:"timeout"` // per run; default 10s
}

// ProgramOutput pipes each alert to a command. The alert never becomes part
// of the command line, so a hostile string cannot inject shell syntax.
type ProgramOutput struct{ cfg ProgramConfig }

// NewProgramOutput checks the config.
func NewProgramOutput(cfg ProgramConfig) (*ProgramOutput, error) {
	if strings.TrimSpace(cfg.Command) == "" {
		return nil, fmt.Errorf("program output: empty command")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	return &ProgramOutput{cfg: cfg}, nil
}

// Name implements Output.
func (o *ProgramOutput) Name() string { return "program" }

// Write implements Output: one run per alert, in order.
func (o *ProgramOutput) Write(ctx context.Context, batch []alert.Alert) error {
	for i, a := range batch {
		body, err := FalcoJSON(a)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		if err := o.run(ctx, append(body, '\n')); err != nil {
			return fmt.Errorf("%d of %d alerts: %w", len(batch)-i, len(batch), err)
		}
	}
	return nil
}

func (o *ProgramOutput) run(ctx context.Context, stdin []byte) error {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", o.cfg.Command)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(truncateUTF8(stderr.String(), 200))
		if msg != "" {
			return fmt.Errorf("run %q: %w: %s", o.cfg.Command, err, msg)
		}
		return fmt.Errorf("run %q: %w", o.cfg.Command, err)
	}
	return nil
}

// Close implements Output.
func (o *ProgramOutput) Close() error { return nil }
