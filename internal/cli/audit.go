package cli

import "github.com/spf13/cobra"

func newAuditCmd(s streams) *cobra.Command {
	return notBuilt("audit [PATH...] [--docker]", "Audit breakout vectors and hardening", "Audit breakout vectors")
}
