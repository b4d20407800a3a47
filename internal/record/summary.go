package record

import (
	"fmt"
	"io"
	"strings"

	"github.com/palisade-sec/palisade/internal/escape"
)

// WriteSummary writes the "palisade: recorded ..." lines for a recording
// written to out: processes, distinct syscalls per arch, files, executables
// and destinations, how the recording ended, lost records and capabilities.
func (r *Recording) WriteSummary(w io.Writer, out string) {
	var parts []string
	for _, a := range r.Arches() {
		parts = append(parts, fmt.Sprintf("%d %s", len(r.Syscalls[a]), a))
	}
	if len(parts) == 0 {
		parts = []string{"0"}
	}
	src := Source{}
	if len(r.Sources) > 0 {
		src = r.Sources[0]
	}
	fmt.Fprintf(w, "palisade: recorded %d processes, %s distinct syscalls, %d files read, %d written, %d executables, %d connect destinations (%s) -> %s\n",
		r.Processes, strings.Join(parts, " + "), len(r.Files.Read), len(r.Files.Write), len(r.Executables), len(r.Connect), src.Ended, escape.Text(out))
	if src.ExitCode != nil && *src.ExitCode != 0 {
		fmt.Fprintf(w, "palisade: the command exited with status %d\n", *src.ExitCode)
	}
	if r.Lost > 0 {
		fmt.Fprintf(w, "palisade: warning: %d kernel records were lost (ring buffer full; host-wide count): the recording may miss syscalls, record again on a quieter host\n", r.Lost)
	}
	if r.Caps.Collected {
		needed := strings.Join(r.Caps.Needed(), ",")
		if needed == "" {
			needed = "none"
		}
		fmt.Fprintf(w, "palisade: capabilities: %d checked by the kernel (%s); needed: %s\n", len(r.Caps.Checked), r.Caps.Source, needed)
	} else {
		fmt.Fprintf(w, "palisade: capabilities: partial: %s\n", r.Caps.Reason)
	}
}
