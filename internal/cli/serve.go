package cli

import "github.com/spf13/cobra"

func newServeCmd(s streams) *cobra.Command {
	return notBuilt("serve", "Alert dashboard", "Alert delivery")
}
