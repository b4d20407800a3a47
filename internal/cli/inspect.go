package cli

import "github.com/spf13/cobra"

func newInspectCmd(s streams) *cobra.Command {
	return notBuilt("inspect", "Show what confines this process", "AppArmor and SELinux")
}
