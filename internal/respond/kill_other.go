//go:build !linux

package respond

import "errors"

var errNoPidfd = errors.New("kill needs Linux (pidfd)")

func killProcess(pid, startNS int64) error { return errNoPidfd }

func isGone(err error) bool { return errors.Is(err, errReused) }
