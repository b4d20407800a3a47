package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/palisade-sec/palisade/internal/apparmor"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/input"
	"github.com/spf13/cobra"
)

func newAppArmorCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apparmor",
		Short: "AppArmor profiles from a short spec: generate, validate, install",
		Long: "Generate an AppArmor profile from a short YAML spec (files, network,\n" +
			"capabilities, signal, ptrace, mount), check it with the real\n" +
			"apparmor_parser, and load it where the kernel has AppArmor.\n" +
			"See docs/apparmor.md for the spec.",
	}
	cmd.AddCommand(newAppArmorGenerateCmd(s), newAppArmorValidateCmd(s), newAppArmorInstallCmd(s))
	return cmd
}

// readSpecFile reads and parses a spec, every failure one line naming the file.
func readSpecFile(cmd *cobra.Command, path string) (*apparmor.Spec, error) {
	spec, err := apparmor.ReadSpec(cmd.Context(), path)
	if err != nil {
		return nil, inputError(err)
	}
	return spec, nil
}

func newAppArmorGenerateCmd(s streams) *cobra.Command {
	var out, format string
	var check bool
	cmd := &cobra.Command{
		Use:   "generate SPEC.yaml",
		Short: "Write the AppArmor profile for a policy spec",
		Example: "  palisade apparmor generate examples/nginx-web.yaml --out nginx-web.profile\n" +
			"  palisade apparmor generate spec.yaml --check",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			spec, err := readSpecFile(cmd, args[0])
			if err != nil {
				return err
			}
			profile, err := apparmor.Generate(spec)
			if err != nil {
				return exitf(1, "%s: %v", args[0], err)
			}
			if check {
				if err := apparmor.Check(cmd.Context(), args[0], profile); err != nil {
					return exitf(1, "%v", err)
				}
			}
			return writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, struct {
						Name    string         `json:"name"`
						Spec    *apparmor.Spec `json:"spec"`
						Profile string         `json:"profile"`
					}{spec.Name, spec, string(profile)})
				}
				_, err := w.Write(profile)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the profile to this file (default stdout)")
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text (the profile) or json")
	cmd.Flags().BoolVar(&check, "check", false, "also run apparmor_parser -Q -K on the result")
	return cmd
}

func newAppArmorValidateCmd(s streams) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a profile (or a spec's generated profile) with apparmor_parser -Q -K",
		Long: "Runs the real AppArmor parser over FILE without loading anything into the\n" +
			"kernel. FILE is a profile, or a spec (.yaml/.yml) whose profile is generated\n" +
			"first. Needs apparmor_parser (Debian/Ubuntu package apparmor).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			path := args[0]
			profile, err := apparmor.ReadProfile(cmd.Context(), path)
			if err != nil {
				return inputError(err)
			}
			if err := apparmor.Check(cmd.Context(), path, profile); err != nil {
				if errors.Is(err, apparmor.ErrParserMissing) {
					return exitf(2, "validate %s: %v", path, err)
				}
				return exitf(1, "%v", err)
			}
			names := apparmor.ProfileNames(profile)
			return writeResult(s, out, func(w io.Writer) error {
				if format == "json" {
					return writeJSON(w, struct {
						File     string   `json:"file"`
						Valid    bool     `json:"valid"`
						Profiles []string `json:"profiles"`
					}{path, true, orEmpty(names)})
				}
				_, err := fmt.Fprintf(w, "%s: ok, apparmor_parser accepts it (profiles: %s)\n", escape.Text(path), escape.Text(strings.Join(names, ", ")))
				return err
			})
		},
	}
	addResultFlags(cmd, &format, &out, "text", "json")
	return cmd
}

func newAppArmorInstallCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "install PROFILE",
		Short: "Load a profile into the kernel with apparmor_parser -r",
		Long: "Loads (or replaces) the profile with apparmor_parser -r and prints the\n" +
			"docker run flag that applies it. Needs root and a kernel with AppArmor\n" +
			"enabled; elsewhere it says so and exits 1.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			data, err := readInput(cmd, path, input.AppArmorProfile)
			if err != nil {
				return err
			}
			names := apparmor.ProfileNames(data)
			if len(names) == 0 {
				return exitf(1, "%s: no `profile NAME {` line; is this an AppArmor profile? (generate one with `palisade apparmor generate SPEC.yaml`)", path)
			}
			if err := apparmor.Load(cmd.Context(), path); err != nil {
				return exitf(1, "install %s: %v", path, err)
			}
			fmt.Fprintf(s.out, "loaded AppArmor profile %s\nuse it with: docker run --security-opt apparmor=%s ...\n", escape.Text(names[0]), escape.Text(names[0]))
			return nil
		},
	}
	return cmd
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
