package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// noResults are the commands the README names as printing no results of
// their own, so they take neither -o nor --out for them.
var noResults = map[string]bool{
	"palisade record": true, "palisade run": true, "palisade apparmor install": true,
	"palisade serve": true, "palisade collect": true,
}

// TestResultFlags holds the README's promise: every command that prints
// results takes -o and --out.
func TestResultFlags(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		path := c.CommandPath()
		if c.HasSubCommands() || !c.Runnable() || strings.HasPrefix(path, "palisade completion") || c.Name() == "help" {
			return
		}
		hasO, hasOut := c.Flags().Lookup("output") != nil, c.Flags().Lookup("out") != nil
		switch {
		case noResults[path]:
			if hasO {
				t.Errorf("%s takes -o but the README says it prints no results", path)
			}
		case !hasO || !hasOut:
			t.Errorf("%s: -o %v, --out %v; every command that prints results takes both", path, hasO, hasOut)
		}
	}
	walk(NewRoot(streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}))
}
