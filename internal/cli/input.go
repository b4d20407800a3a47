package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/input"
)

// readInput reads the file a user named, bounded by k's limit (or
// --max-input-size) and abandoned on Ctrl-C; a failure is one line, exit 2.
func readInput(cmd *cobra.Command, path string, k input.Kind) ([]byte, error) {
	b, err := input.ReadFile(cmd.Context(), path, k)
	if err != nil {
		return nil, inputError(fmt.Errorf("read %s: %w", k.Name, err))
	}
	return b, nil
}

// inputError makes a read failure one line with exit code 2 (bad input); a
// cancelled read passes through so Run reports the signal.
func inputError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return exitf(2, "%s", escape.Line(err.Error()))
}
