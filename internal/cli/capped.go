package cli

import (
	"fmt"
	"io"
)

// maxRepeated is how many warnings or errors of one kind a command prints
// before it only counts the rest: a hostile 16 MiB rule file can hold
// hundreds of thousands, and nobody reads past the first screen.
const maxRepeated = 50

// printCapped writes the first maxRepeated messages, each as prefix+msg on
// its own line, and then one line counting the rest ("and N more
// warnings"). Messages must already be escaped.
func printCapped(w io.Writer, prefix, noun string, msgs []string) {
	for i, m := range msgs {
		if i == maxRepeated {
			fmt.Fprintf(w, "%s... and %d more %s\n", prefix, len(msgs)-maxRepeated, noun)
			return
		}
		fmt.Fprintf(w, "%s%s\n", prefix, m)
	}
}
