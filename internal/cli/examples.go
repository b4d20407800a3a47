package cli

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Example is one command line from a command's --help Example text.
type Example struct {
	Command string // the command whose help shows it, e.g. "palisade rules validate"
	Line    string
}

// Examples lists every example line of every command's help, so a test can
// run them against the binary and docs cannot drift from it.
func Examples() []Example {
	var list []Example
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, l := range strings.Split(c.Example, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				list = append(list, Example{Command: c.CommandPath(), Line: l})
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRoot(streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}))
	return list
}
