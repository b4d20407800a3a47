package cli

import "github.com/spf13/cobra"

func newDoctorCmd(s streams) *cobra.Command {
	return notBuilt("doctor", "Check whether this host can run palisade", "Kernel event source")
}
