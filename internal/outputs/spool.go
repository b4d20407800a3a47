package outputs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// spool is a bounded on-disk FIFO of request bodies: one file per entry,
// named by a zero-padded sequence number so directory order is send order.
// Entries survive a restart. When a bound is hit the oldest entry is
// dropped and counted.
type spool struct {
	dir      string
	maxFiles int
	maxBytes int64
	mu       sync.Mutex
	entries  []spoolEntry
	bytes    int64
	next     uint64
	dropped  uint64
}

type spoolEntry struct {
	name string
	size int64
}

func openSpool(dir string, maxFiles int, maxBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s := &spool{dir: dir, maxFiles: maxFiles, maxBytes: maxBytes}
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			os.Remove(filepath.Join(dir, name)) // a half-written temp file
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, ".json"), 10, 64)
		if err != nil || !strings.HasSuffix(name, ".json") {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		s.entries = append(s.entries, spoolEntry{name: name, size: info.Size()})
		s.bytes += info.Size()
		s.next = max(s.next, seq+1)
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].name < s.entries[j].name })
	return s, nil
}

func (s *spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

func (s *spool) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Push appends body, dropping the oldest entries if a bound is exceeded.
func (s *spool) Push(body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.entries) > 0 && (len(s.entries) >= s.maxFiles || s.bytes+int64(len(body)) > s.maxBytes) {
		s.removeLocked(s.entries[0].name)
		s.dropped++
	}
	name := fmt.Sprintf("%020d.json", s.next)
	s.next++
	tmp := filepath.Join(s.dir, "."+name)
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool alert: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool alert: %w", err)
	}
	s.entries = append(s.entries, spoolEntry{name: name, size: int64(len(body))})
	s.bytes += int64(len(body))
	return nil
}

// Oldest returns the first entry's name and body.
func (s *spool) Oldest() (string, []byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.entries) > 0 {
		e := s.entries[0]
		b, err := os.ReadFile(filepath.Join(s.dir, e.name))
		if err == nil {
			return e.name, b, true
		}
		s.removeLocked(e.name) // unreadable: skip it rather than stall forever
		s.dropped++
	}
	return "", nil, false
}

// Remove deletes a delivered entry.
func (s *spool) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(name)
}

func (s *spool) removeLocked(name string) {
	for i, e := range s.entries {
		if e.name == name {
			s.bytes -= e.size
			s.entries = append(s.entries[:i], s.entries[i+1:]...)
			break
		}
	}
	os.Remove(filepath.Join(s.dir, name))
}
