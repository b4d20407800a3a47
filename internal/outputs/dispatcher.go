package outputs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/escape"
)

// Observer is told what happens to alerts; metrics.Set implements it through
// an adapter in FromConfig. Methods are called from many goroutines.
type Observer interface {
	// Accepted is called once per alert that passed the limiter.
	Accepted(a *alert.Alert)
	// Delivered is called when an output delivered a batch at time at;
	// each alert's latency is at minus its event time.
	Delivered(output string, batch []alert.Alert, at time.Time)
	Failed(output string, n int)
	Dropped(output string, n int)
}

// DispatcherOptions tune a Dispatcher. The zero value is usable.
type DispatcherOptions struct {
	QueueSize int           // per output; default 4096
	MaxBatch  int           // alerts handed to one Write; default 512
	Limiter   *Limiter      // optional rate limit / de-dup
	Observer  Observer      // optional
	Log       io.Writer     // output errors, rate limited; nil discards
	ErrEvery  time.Duration // minimum gap between two error lines of one output; default 10s
	// Block makes Send wait for room in a full queue instead of dropping
	// the alert: for a recording, where nothing falls behind by waiting
	// and nothing may be lost.
	Block bool
}

// OutputStats is a snapshot of one output's counters.
type OutputStats struct {
	Name      string `json:"name"`
	Queued    int    `json:"queued"`
	Delivered uint64 `json:"delivered"`
	Failed    uint64 `json:"failed"`
	Dropped   uint64 `json:"dropped"`
}

// Dispatcher fans alerts out to outputs. Send never blocks (unless
// DispatcherOptions.Block): each output has its own bounded queue and
// goroutine, and an alert that does not fit in a full queue is dropped for
// that output only and counted.
type Dispatcher struct {
	opts    DispatcherOptions
	sinks   []*sink
	mu      sync.RWMutex // guards closed against Send racing Close
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	limStop chan struct{}
	limDone chan struct{}
}

type sink struct {
	out       Output
	q         chan alert.Alert
	delivered atomic.Uint64
	failed    atomic.Uint64
	dropped   atomic.Uint64
	lastErr   atomic.Int64 // unix nanos of the last logged error
	failing   atomic.Bool  // the latest Write failed
}

// NewDispatcher starts one worker per output.
func NewDispatcher(outs []Output, opts DispatcherOptions) *Dispatcher {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.ErrEvery <= 0 {
		opts.ErrEvery = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{opts: opts, ctx: ctx, cancel: cancel}
	for _, o := range outs {
		size := opts.QueueSize
		if f, ok := o.(interface{ QueueFactor() int }); ok {
			size *= f.QueueFactor()
		}
		s := &sink{out: o, q: make(chan alert.Alert, size)}
		d.sinks = append(d.sinks, s)
		d.wg.Add(1)
		go d.run(s)
	}
	if opts.Limiter != nil {
		d.limStop, d.limDone = make(chan struct{}), make(chan struct{})
		go d.flushLimiter()
	}
	return d
}

// Send hands an alert to every output without blocking (with
// DispatcherOptions.Block, waiting for room in full queues).
func (d *Dispatcher) Send(a alert.Alert) {
	if d.opts.Limiter != nil {
		var ok bool
		if a, ok = d.opts.Limiter.Admit(a, time.Now()); !ok {
			return
		}
	}
	d.enqueue(a)
}

func (d *Dispatcher) enqueue(a alert.Alert) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		for _, s := range d.sinks {
			d.drop(s, 1)
		}
		return
	}
	if d.opts.Observer != nil {
		d.opts.Observer.Accepted(&a)
	}
	for _, s := range d.sinks {
		if d.opts.Block {
			// The worker drains the queue whatever happens to its
			// output, so this wait ends.
			s.q <- a
			continue
		}
		select {
		case s.q <- a:
		default:
			d.drop(s, 1)
		}
	}
}

func (d *Dispatcher) drop(s *sink, n int) {
	s.dropped.Add(uint64(n))
	if d.opts.Observer != nil {
		d.opts.Observer.Dropped(s.out.Name(), n)
	}
}

// flushLimiter emits the merged alerts the limiter holds once their window
// has passed, so a burst's count is reported even if the rule goes quiet.
func (d *Dispatcher) flushLimiter() {
	defer close(d.limDone)
	t := time.NewTicker(d.opts.Limiter.tick())
	defer t.Stop()
	for {
		select {
		case <-d.limStop:
			for _, a := range d.opts.Limiter.Flush(time.Time{}) {
				d.enqueue(a)
			}
			return
		case now := <-t.C:
			for _, a := range d.opts.Limiter.Flush(now) {
				d.enqueue(a)
			}
		}
	}
}

func (d *Dispatcher) run(s *sink) {
	defer d.wg.Done()
	batch := make([]alert.Alert, 0, d.opts.MaxBatch)
	for a := range s.q {
		batch = append(batch[:0], a)
	fill:
		for len(batch) < d.opts.MaxBatch {
			select {
			case b, ok := <-s.q:
				if !ok {
					break fill
				}
				batch = append(batch, b)
			default:
				break fill
			}
		}
		if d.ctx.Err() != nil {
			// Close timed out: what is left cannot be delivered.
			d.drop(s, len(batch))
			continue
		}
		err := s.out.Write(d.ctx, batch)
		s.failing.Store(err != nil)
		if err != nil {
			s.failed.Add(uint64(len(batch)))
			if d.opts.Observer != nil {
				d.opts.Observer.Failed(s.out.Name(), len(batch))
			}
			d.logErr(s, err)
			continue
		}
		s.delivered.Add(uint64(len(batch)))
		if d.opts.Observer != nil {
			d.opts.Observer.Delivered(s.out.Name(), batch, time.Now())
		}
	}
}

func (d *Dispatcher) logErr(s *sink, err error) {
	if d.opts.Log == nil {
		return
	}
	now := time.Now().UnixNano()
	last := s.lastErr.Load()
	if last != 0 && now-last < int64(d.opts.ErrEvery) {
		return
	}
	if s.lastErr.CompareAndSwap(last, now) {
		fmt.Fprintf(d.opts.Log, "palisade: output %s: %s\n", s.out.Name(), escape.Text(err.Error()))
	}
}

// Stats returns a snapshot of every output's counters, in output order.
func (d *Dispatcher) Stats() []OutputStats {
	st := make([]OutputStats, len(d.sinks))
	for i, s := range d.sinks {
		st[i] = OutputStats{Name: s.out.Name(), Queued: len(s.q), Delivered: s.delivered.Load(),
			Failed: s.failed.Load(), Dropped: s.dropped.Load()}
	}
	return st
}

// drainer is an output that holds alerts it has accepted but not yet
// delivered; Drain waits until it holds none or ctx is done.
type drainer interface {
	Drain(ctx context.Context) error
}

// ErrFlushTimeout is returned by Close when queued alerts were still
// undelivered at the deadline.
var ErrFlushTimeout = errors.New("outputs did not drain before the timeout")

// Close stops accepting alerts, waits up to timeout for every queue to
// drain, then closes the outputs. Alerts still queued at the deadline are
// counted as dropped. A summary of drops and failures is written to the log.
func (d *Dispatcher) Close(timeout time.Duration) error {
	if d.limStop != nil {
		close(d.limStop)
		<-d.limDone
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	for _, s := range d.sinks {
		close(s.q)
	}
	d.mu.Unlock()

	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	deadline := time.Now().Add(timeout)
	var err error
	select {
	case <-done:
	case <-time.After(timeout):
		err = ErrFlushTimeout
		d.cancel()
		<-done
	}
	if d.opts.Block && err == nil {
		// Outputs that keep alerts for later (the webhook's spool) deliver
		// them now: a blocking dispatcher is one whose caller waits for
		// every alert.
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		for _, s := range d.sinks {
			if dr, ok := s.out.(drainer); ok {
				if derr := dr.Drain(ctx); derr != nil {
					err = errors.Join(err, fmt.Errorf("output %s: %w", s.out.Name(), derr))
				}
			}
		}
		cancel()
	}
	d.cancel()
	for _, s := range d.sinks {
		if cerr := s.out.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close output %s: %w", s.out.Name(), cerr))
		}
	}
	if d.opts.Log != nil {
		for _, st := range d.Stats() {
			if st.Dropped > 0 || st.Failed > 0 {
				fmt.Fprintf(d.opts.Log, "palisade: output %s: %d delivered, %d failed, %d dropped\n",
					st.Name, st.Delivered, st.Failed, st.Dropped)
			}
		}
	}
	return err
}
