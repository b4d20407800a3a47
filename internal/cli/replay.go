package cli

import "github.com/spf13/cobra"

func newReplayCmd(s streams) *cobra.Command {
	return notBuilt("replay EVENTS.jsonl", "Run rules over recorded events", "Foundation")
}
