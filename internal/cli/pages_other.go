//go:build !linux

package cli

// releaseExecutablePages is a no-op off Linux.
func releaseExecutablePages() (int64, error) { return 0, nil }
