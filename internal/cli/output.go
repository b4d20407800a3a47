package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/atomicfile"
)

// writeResult writes what fn renders to path, replacing the file only once
// fn succeeded, or to stdout when path is "" or "-" (rendered into memory
// first, so a failed render prints nothing).
func writeResult(s streams, path string, fn func(w io.Writer) error) error {
	if path != "" && path != "-" {
		return atomicfile.WriteGated(s.gate, path, 0o644, fn)
	}
	var buf bytes.Buffer
	if err := fn(&buf); err != nil {
		return err
	}
	_, err := s.out.Write(buf.Bytes())
	return err
}

// writeJSON encodes v as indented JSON with a trailing newline. HTML
// characters are escaped so attacker-controlled strings stay inert when the
// JSON is embedded in a page.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// checkFormat rejects an -o value outside the allowed set.
func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return exitf(2, "unknown output format %q (want one of %v)", format, allowed)
}

// addResultFlags registers the -o and --out flags every results command
// takes: the format (first of formats by default) and the file to write
// (stdout when empty; files are replaced atomically by writeResult).
func addResultFlags(cmd *cobra.Command, format, out *string, formats ...string) {
	help := formats[0]
	if n := len(formats); n > 1 {
		help = strings.Join(formats[:n-1], ", ") + " or " + formats[n-1]
	}
	cmd.Flags().StringVarP(format, "output", "o", formats[0], "output format: "+help)
	cmd.Flags().StringVar(out, "out", "", "write to this file instead of stdout")
}
