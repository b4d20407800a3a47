package outputs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// spool is a bounded on-disk FIFO of request bodies. Each Push writes one
// segment file of newline-separated bodies (JSON has no raw newlines), named
// by a zero-padded sequence number so directory order is send order; one
// file per batch keeps an outage cheap even at thousands of alerts a
// second. Segments survive a restart; a segment that was partly sent before
// a restart is resent whole (at-least-once). When a bound is hit the oldest
// segment is dropped and its bodies counted.
type spool struct {
	dir       string
	maxBodies int
	maxBytes  int64
	mu        sync.Mutex
	segs      []*segment
	bodies    int // pending bodies across segments
	bytes     int64
	next      uint64
	dropped   uint64
}

type segment struct {
	name   string
	size   int64
	lines  [][]byte // loaded lazily for segments found on disk
	count  int
	offset int // bodies already delivered
}

func openSpool(dir string, maxBodies int, maxBytes int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s := &spool{dir: dir, maxBodies: maxBodies, maxBytes: maxBytes}
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			os.Remove(filepath.Join(dir, name)) // a half-written temp file
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, ".jsonl"), 10, 64)
		if err != nil || !strings.HasSuffix(name, ".jsonl") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		lines := splitLines(data)
		s.segs = append(s.segs, &segment{name: name, size: int64(len(data)), lines: lines, count: len(lines)})
		s.bodies += len(lines)
		s.bytes += int64(len(data))
		s.next = max(s.next, seq+1)
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].name < s.segs[j].name })
	return s, nil
}

func splitLines(data []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// Len is the number of bodies waiting.
func (s *spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies
}

func (s *spool) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Push appends bodies as one segment, dropping the oldest segments if a
// bound would be exceeded.
func (s *spool) Push(bodies [][]byte) error {
	if len(bodies) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if extra := len(bodies) - s.maxBodies; extra > 0 {
		bodies = bodies[extra:] // a batch alone over the bound keeps its newest
		s.dropped += uint64(extra)
	}
	data := bytes.Join(bodies, []byte("\n"))
	data = append(data, '\n')
	for len(s.segs) > 0 && (s.bodies+len(bodies) > s.maxBodies || s.bytes+int64(len(data)) > s.maxBytes) {
		head := s.segs[0]
		s.dropped += uint64(head.count - head.offset)
		s.removeHeadLocked()
	}
	name := fmt.Sprintf("%020d.jsonl", s.next)
	s.next++
	tmp := filepath.Join(s.dir, "."+name)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool %d alerts: %w", len(bodies), err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool %d alerts: %w", len(bodies), err)
	}
	lines := make([][]byte, len(bodies))
	copy(lines, bodies)
	s.segs = append(s.segs, &segment{name: name, size: int64(len(data)), lines: lines, count: len(lines)})
	s.bodies += len(bodies)
	s.bytes += int64(len(data))
	return nil
}

// Peek returns the oldest pending body and a token for Ack.
func (s *spool) Peek() (seg *segment, body []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 {
		return nil, nil, false
	}
	head := s.segs[0]
	return head, head.lines[head.offset], true
}

// Ack marks the body Peek returned as done.
func (s *spool) Ack(seg *segment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 || s.segs[0] != seg {
		return // dropped meanwhile for space
	}
	seg.offset++
	s.bodies-- // removeHeadLocked subtracts only what is still pending
	if seg.offset == seg.count {
		s.removeHeadLocked()
	}
}

// removeHeadLocked deletes the oldest segment; its pending bodies leave
// the count.
func (s *spool) removeHeadLocked() {
	head := s.segs[0]
	s.bodies -= head.count - head.offset
	s.bytes -= head.size
	s.segs = s.segs[1:]
	os.Remove(filepath.Join(s.dir, head.name))
}
