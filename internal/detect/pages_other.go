//go:build !linux

package detect

// releaseExecutablePages is a no-op off Linux.
func releaseExecutablePages() (int64, error) { return 0, nil }
