package cli

import "github.com/spf13/cobra"

func newProfileCmd(s streams) *cobra.Command {
	return notBuilt("profile KIND RECORDING", "Derive seccomp, caps, apparmor, docker, compose or k8s settings from a recording", "Record a workload")
}
