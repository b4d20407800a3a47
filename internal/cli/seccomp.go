package cli

import "github.com/spf13/cobra"

func newSeccompCmd(s streams) *cobra.Command {
	return notBuilt("seccomp", "Seccomp profile tooling: compile, eval, stats, lint, diff", "Seccomp")
}
