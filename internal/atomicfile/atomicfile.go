package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// ErrGateClosed is returned by a write whose gate closed before it could
// replace its file: the process gave up on the command and is exiting.
var ErrGateClosed = errors.New("not written: the command was abandoned")

// A Gate orders the commits (the final renames) of a command's writes
// against the command being given up on. Once Close has returned, no write
// through the gate replaces its file, so a process that exits after a
// signal leaves each file as it was or complete, never replaced after it
// said it stopped. The zero Gate is open.
type Gate struct {
	mu      sync.Mutex
	closed  bool
	commits int
}

// Close makes every later write through g fail with ErrGateClosed, waiting
// for a commit in progress. It says whether any write through g had
// already replaced its file.
func (g *Gate) Close() (committed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	return g.commits > 0
}

// Write streams fn's output to path with permissions perm. An error from fn
// is returned as it is; failures of the file system name path.
func Write(path string, perm os.FileMode, fn func(w io.Writer) error) error {
	return WriteGated(nil, path, perm, fn)
}

// WriteGated is Write whose final rename happens only while g is open (a
// nil g is always open).
func WriteGated(g *Gate, path string, perm os.FileMode, fn func(w io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	if err := fn(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	err = f.Chmod(perm)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = commit(g, tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, ErrGateClosed) {
			return err
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func commit(g *Gate, tmp, path string) error {
	if g == nil {
		return os.Rename(tmp, path)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrGateClosed
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	g.commits++
	return nil
}
