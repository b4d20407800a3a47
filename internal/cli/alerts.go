package cli

import "github.com/spf13/cobra"

func newAlertsCmd(s streams) *cobra.Command {
	return notBuilt("alerts", "Query alert history", "Alert delivery")
}
