package cli

import "github.com/spf13/cobra"

func newRunCmd(s streams) *cobra.Command {
	return notBuilt("run [hardening flags] -- CMD", "Launch a process least-privileged", "Seccomp")
}
