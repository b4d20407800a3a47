package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// writeResult renders with fn into memory and then writes the bytes to path
// (stdout when path is "" or "-"). Files are replaced atomically, so a failed
// render never leaves a partial file behind.
func writeResult(stdout io.Writer, path string, fn func(w io.Writer) error) error {
	var buf bytes.Buffer
	if err := fn(&buf); err != nil {
		return err
	}
	if path == "" || path == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	return writeFileAtomic(path, buf.Bytes(), 0o644)
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
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
