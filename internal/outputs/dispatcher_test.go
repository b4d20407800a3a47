package outputs

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
)

// memOutput records what it receives; block, if not nil, holds Write until
// closed.
type memOutput struct {
	name  string
	block chan struct{}
	fail  error
	mu    sync.Mutex
	got   []alert.Alert
	calls int
}

func (m *memOutput) Name() string { return m.name }
func (m *memOutput) Write(ctx context.Context, batch []alert.Alert) error {
	if m.block != nil {
		select {
		case <-m.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail != nil {
		return m.fail
	}
	m.got = append(m.got, batch...)
	return nil
}
func (m *memOutput) Close() error { return nil }
func (m *memOutput) received() []alert.Alert {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]alert.Alert(nil), m.got...)
}

func testAlert(i int) alert.Alert {
	return alert.Alert{Time: time.Now(), Rule: fmt.Sprintf("rule-%d", i%3), Priority: alert.Warning,
		Output: fmt.Sprintf("alert %d", i), OutputFields: map[string]any{"n": i}, Source: "syscall", Hostname: "h"}
}

func TestDispatcherSlowOutputDoesNotBlock(t *testing.T) {
	fast := &memOutput{name: "fast"}
	stuck := &memOutput{name: "stuck", block: make(chan struct{})}
	var obs countObserver
	d := NewDispatcher([]Output{fast, stuck}, DispatcherOptions{QueueSize: 10, Observer: &obs})
	start := time.Now()
	for i := 0; i < 1000; i++ {
		d.Send(testAlert(i))
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Send blocked behind a stuck output: 1000 sends took %v", el)
	}
	// The stuck output holds at most one batch in Write plus a full queue;
	// the rest is dropped and counted.
	st := d.Stats()
	if st[1].Dropped < 1000-10-512 || st[1].Dropped > 1000-10 {
		t.Fatalf("stuck output dropped %d, want between 478 and 990: %+v", st[1].Dropped, st)
	}
	close(stuck.block)
	if err := d.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	st = d.Stats()
	if got := st[1].Delivered + st[1].Dropped; got != 1000 {
		t.Fatalf("stuck output: delivered %d + dropped %d != 1000", st[1].Delivered, st[1].Dropped)
	}
	if got := st[0].Delivered + st[0].Dropped; got != 1000 || st[0].Delivered == 0 {
		t.Fatalf("fast output: delivered %d + dropped %d != 1000", st[0].Delivered, st[0].Dropped)
	}
	if obs.dropped("stuck") != int(st[1].Dropped) || obs.delivered("fast") != int(st[0].Delivered) {
		t.Fatalf("observer saw dropped=%d delivered=%d", obs.dropped("stuck"), obs.delivered("fast"))
	}
	// Order is kept per output.
	prev := -1
	for _, a := range fast.received() {
		if n := a.OutputFields["n"].(int); n <= prev {
			t.Fatalf("alert %d after %d: out of order", n, prev)
		} else {
			prev = n
		}
	}
}

func TestDispatcherCloseTimeout(t *testing.T) {
	stuck := &memOutput{name: "stuck", block: make(chan struct{})}
	d := NewDispatcher([]Output{stuck}, DispatcherOptions{QueueSize: 100, MaxBatch: 1})
	for i := 0; i < 50; i++ {
		d.Send(testAlert(i))
	}
	start := time.Now()
	if err := d.Close(200 * time.Millisecond); err != ErrFlushTimeout {
		t.Fatalf("Close = %v, want ErrFlushTimeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Close took %v", el)
	}
	st := d.Stats()[0]
	if st.Dropped+st.Failed != 50 {
		t.Fatalf("after timeout: %+v, want all 50 dropped or failed", st)
	}
	d.Send(testAlert(0)) // after Close: dropped, no panic
	if d.Stats()[0].Dropped+d.Stats()[0].Failed != 51 {
		t.Fatal("send after close was not counted as dropped")
	}
}

func TestDispatcherFailuresCountedAndLogged(t *testing.T) {
	bad := &memOutput{name: "bad", fail: fmt.Errorf("boom\x1b[2J")}
	var log lockedBuffer
	d := NewDispatcher([]Output{bad}, DispatcherOptions{Log: &log})
	for i := 0; i < 5; i++ {
		d.Send(testAlert(i))
	}
	d.Close(time.Second)
	if st := d.Stats()[0]; st.Failed != 5 {
		t.Fatalf("failed = %d, want 5", st.Failed)
	}
	out := log.String()
	checkInertLines(t, out)
	if want := `palisade: output bad: boom\x1b[2J`; !contains(out, want) {
		t.Fatalf("log %q lacks %q", out, want)
	}
}

type countObserver struct {
	mu                  sync.Mutex
	accepted            int
	deliv, fails, drops map[string]int
}

func (c *countObserver) Accepted(*alert.Alert) { c.mu.Lock(); c.accepted++; c.mu.Unlock() }
func (c *countObserver) add(m *map[string]int, k string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[k] += n
}
func (c *countObserver) Delivered(o string, b []alert.Alert, _ time.Time) { c.add(&c.deliv, o, len(b)) }
func (c *countObserver) Failed(o string, n int)                           { c.add(&c.fails, o, n) }
func (c *countObserver) Dropped(o string, n int)                          { c.add(&c.drops, o, n) }
func (c *countObserver) dropped(o string) int                             { c.mu.Lock(); defer c.mu.Unlock(); return c.drops[o] }
func (c *countObserver) delivered(o string) int                           { c.mu.Lock(); defer c.mu.Unlock(); return c.deliv[o] }

func TestLimiterDedup(t *testing.T) {
	l := NewLimiter(LimiterConfig{DedupWindow: 10 * time.Second})
	now := time.Unix(1000, 0)
	a := testAlert(0)
	if _, ok := l.Admit(a, now); !ok {
		t.Fatal("first alert suppressed")
	}
	for i := 1; i <= 4; i++ {
		if _, ok := l.Admit(a, now.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("duplicate %d admitted", i)
		}
	}
	other := testAlert(1)
	if _, ok := l.Admit(other, now); !ok {
		t.Fatal("different alert suppressed")
	}
	if got := l.Flush(now.Add(5 * time.Second)); len(got) != 0 {
		t.Fatalf("flush inside window emitted %d", len(got))
	}
	got := l.Flush(now.Add(11 * time.Second))
	if len(got) != 1 || got[0].OutputFields[MergedField] != 4 || got[0].Output != a.Output {
		t.Fatalf("flush after window = %+v, want one summary for 4 merged", got)
	}
	if _, ok := a.OutputFields[MergedField]; ok {
		t.Fatal("summary mutated the caller's output_fields map")
	}
	if _, ok := l.Admit(a, now.Add(12*time.Second)); !ok {
		t.Fatal("alert after window suppressed")
	}
}

func TestLimiterRate(t *testing.T) {
	l := NewLimiter(LimiterConfig{RatePerRule: 1, Burst: 2})
	now := time.Unix(1000, 0)
	a := testAlert(0)
	var admitted []alert.Alert
	for i := 0; i < 10; i++ {
		if b, ok := l.Admit(a, now); ok {
			admitted = append(admitted, b)
		}
	}
	if len(admitted) != 2 {
		t.Fatalf("burst admitted %d, want 2", len(admitted))
	}
	// One second later one token is back; the admitted alert carries the 8
	// suppressed ones plus itself.
	b, ok := l.Admit(a, now.Add(time.Second))
	if !ok || b.OutputFields[MergedField] != 9 {
		t.Fatalf("after refill: ok=%v merged=%v, want 9", ok, b.OutputFields[MergedField])
	}
	l.Admit(a, now.Add(time.Second)) // suppressed
	got := l.Flush(time.Time{})
	if len(got) != 1 || got[0].OutputFields[MergedField] != 1 {
		t.Fatalf("final flush = %+v", got)
	}
	if NewLimiter(LimiterConfig{}) != nil {
		t.Fatal("zero config must disable the limiter")
	}
}

func TestDispatcherWithLimiterFlushesOnClose(t *testing.T) {
	m := &memOutput{name: "m"}
	d := NewDispatcher([]Output{m}, DispatcherOptions{Limiter: NewLimiter(LimiterConfig{DedupWindow: time.Hour})})
	for i := 0; i < 100; i++ {
		d.Send(testAlert(0))
	}
	d.Close(time.Second)
	got := m.received()
	if len(got) != 2 || got[1].OutputFields[MergedField] != 99 {
		t.Fatalf("got %d alerts, last %+v; want the first and a summary of 99", len(got), got[len(got)-1].OutputFields)
	}
}

// A blocking dispatcher (replay) waits for a slow output instead of
// dropping: every alert arrives, in order.
func TestDispatcherBlockLosesNothing(t *testing.T) {
	slow := &memOutput{name: "slow", block: make(chan struct{})}
	d := NewDispatcher([]Output{slow}, DispatcherOptions{QueueSize: 4, MaxBatch: 2, Block: true})
	sent := make(chan struct{})
	go func() {
		for i := 0; i < 100; i++ {
			d.Send(testAlert(i))
		}
		close(sent)
	}()
	select {
	case <-sent:
		t.Fatal("100 sends into a queue of 4 returned while the output was stuck")
	case <-time.After(100 * time.Millisecond):
	}
	close(slow.block)
	<-sent
	if err := d.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	got := slow.received()
	if st := d.Stats()[0]; len(got) != 100 || st.Dropped != 0 {
		t.Fatalf("received %d, dropped %d; want 100, 0", len(got), st.Dropped)
	}
	for i, a := range got {
		if a.OutputFields["n"].(int) != i {
			t.Fatalf("alert %d is %v: out of order", i, a.OutputFields["n"])
		}
	}
}
