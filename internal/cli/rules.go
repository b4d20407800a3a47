package cli

import "github.com/spf13/cobra"

func newRulesCmd(s streams) *cobra.Command {
	return notBuilt("rules", "Rule tooling: validate, list, explain", "Foundation")
}
