package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Commit and Date are set by the Makefile with -ldflags -X, like Version;
// without them the VCS stamp Go records in the binary is used.
var (
	Commit = ""
	Date   = ""
)

// buildInfo is what `palisade version` reports.
type buildInfo struct {
	Version   string            `json:"version"`
	Commit    string            `json:"commit"`
	Date      string            `json:"date"`
	GoVersion string            `json:"go_version"`
	Platform  string            `json:"platform"`
	Settings  map[string]string `json:"build_settings"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Settings: map[string]string{}}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "-ldflags", "-tags", "-trimpath", "CGO_ENABLED", "GOARCH", "GOOS", "GOAMD64", "GOARM64", "vcs.modified":
				b.Settings[s.Key] = s.Value
			}
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

func newVersionCmd(s streams) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date, Go version and build flags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			b := readBuildInfo()
			return writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, b)
				}
				return writeVersionText(w, b)
			})
		},
	}
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}

func writeVersionText(w io.Writer, b buildInfo) error {
	_, err := fmt.Fprintf(w, "palisade %s\ncommit:   %s\ndate:     %s\ngo:       %s (%s)\n", b.Version, b.Commit, b.Date, b.GoVersion, b.Platform)
	for _, k := range []string{"CGO_ENABLED", "-tags", "-trimpath", "-ldflags", "vcs.modified"} {
		if v, ok := b.Settings[k]; ok && err == nil {
			_, err = fmt.Fprintf(w, "build:    %s=%s\n", k, v)
		}
	}
	return err
}
