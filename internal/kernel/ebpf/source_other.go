//go:build !linux || !amd64

package ebpf

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// Source is a running capture; on this platform Open always fails.
type Source struct{}

var errPlatform = fmt.Errorf("eBPF capture is built for linux/amd64 only, not %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)

// Open fails: the capture programs are only generated for x86_64 Linux.
func Open(Options) (*Source, error) { return nil, errPlatform }

// SetSyscalls fails on this platform.
func (s *Source) SetSyscalls([]int) error { return errPlatform }

// Read fails on this platform.
func (s *Source) Read(context.Context) (*Record, error) { return nil, errPlatform }

// ReadInto fails on this platform.
func (s *Source) ReadInto(context.Context, *Record) error { return errPlatform }

// ReadBatch fails on this platform.
func (s *Source) ReadBatch(context.Context, *Record, func(*Record) error) error { return errPlatform }

// Stats reports nothing on this platform.
func (s *Source) Stats() (events, drops uint64, err error) { return 0, 0, errPlatform }

// StatsPerCPU reports nothing on this platform.
func (s *Source) StatsPerCPU() (events, drops []uint64, err error) { return nil, nil, errPlatform }

// ShedCounts reports nothing on this platform.
func (s *Source) ShedCounts() ([]uint64, error) { return nil, errPlatform }

// IOUring is false on this platform.
func (s *Source) IOUring() bool { return false }

// Protect fails on this platform.
func (s *Source) Protect(...FileID) error { return errPlatform }

// Unprotect fails: there is no capture on this platform.
func (s *Source) Unprotect(...FileID) error { return errPlatform }

// ProtectedCount fails: there is no capture on this platform.
func (s *Source) ProtectedCount() (int, error) { return 0, errPlatform }

// Close does nothing on this platform.
func (s *Source) Close() error { return nil }
