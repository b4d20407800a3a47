package cli

import "github.com/spf13/cobra"

func newWatchCmd(s streams) *cobra.Command {
	return notBuilt("watch", "Live detection: alerts from kernel events", "Kernel event source")
}
