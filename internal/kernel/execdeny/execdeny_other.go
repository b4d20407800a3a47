//go:build !(linux && amd64)

package execdeny

// List is not available here.
type List struct{}

// Open fails: the program is built for Linux on amd64.
func Open() (*List, error) { return nil, ErrNotSupported }

// IDOf fails here.
func IDOf(string) (FileID, error) { return FileID{}, ErrNotSupported }

// Deny fails here.
func (*List) Deny(string) (FileID, error) { return FileID{}, ErrNotSupported }

// Allow fails here.
func (*List) Allow(FileID) error { return ErrNotSupported }

// Counts fails here.
func (*List) Counts() (Counts, error) { return Counts{}, ErrNotSupported }

// ReadKill fails here.
func (*List) ReadKill() (Kill, error) { return Kill{}, ErrNotSupported }

// Close does nothing here.
func (*List) Close() error { return nil }
