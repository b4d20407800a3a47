package cli

import "github.com/spf13/cobra"

func newRecordCmd(s streams) *cobra.Command {
	return notBuilt("record", "Observe a workload (a command or a container) and write a recording", "Record a workload")
}
