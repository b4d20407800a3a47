package apparmor

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/palisade-sec/palisade/internal/input"
)

// ReadSpec reads and parses the policy spec at path.
func ReadSpec(ctx context.Context, path string) (*Spec, error) {
	data, err := input.ReadFile(ctx, path, input.AppArmorSpec)
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
func ReadProfile(ctx context.Context, path string) ([]byte, error) {
	if !IsSpecFile(path) {
		data, err := input.ReadFile(ctx, path, input.AppArmorProfile)
		if err != nil {
			return nil, fmt.Errorf("read profile: %w", err)
		}
		return data, nil
	}
	spec, err := ReadSpec(ctx, path)
	if err != nil {
		return nil, err
	}
	profile, err := Generate(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return profile, nil
}
