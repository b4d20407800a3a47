package apparmor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadSpec reads and parses the policy spec at path.
func ReadSpec(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return ParseSpec(path, data)
}

// IsSpecFile tells a spec (YAML) from a profile by its extension.
func IsSpecFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yaml" || ext == ".yml"
}

// ReadProfile returns the profile at path, or the one generated from it
// when path is a spec (IsSpecFile).
func ReadProfile(path string) ([]byte, error) {
	if !IsSpecFile(path) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read profile: %w", err)
		}
		return data, nil
	}
	spec, err := ReadSpec(path)
	if err != nil {
		return nil, err
	}
	profile, err := Generate(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return profile, nil
}
