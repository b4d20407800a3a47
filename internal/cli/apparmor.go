package cli

import "github.com/spf13/cobra"

func newAppArmorCmd(s streams) *cobra.Command {
	return notBuilt("apparmor generate POLICY", "AppArmor profiles from a short spec", "AppArmor and SELinux")
}
