package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/store"
)

// watchHeartbeats follows the heartbeat stream from each host's latest
// heartbeat, so a collector that starts after an agent went silent still
// notices.
func (c *Collector) watchHeartbeats(ctx context.Context, errs jetstream.PullConsumeOpt) (jetstream.ConsumeContext, error) {
	cons, err := c.js.OrderedConsumer(ctx, HeartbeatStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{outputs.HeartbeatPrefix + ".>"}, DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy})
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", HeartbeatStream, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var h outputs.Heartbeat
		md, err := m.Metadata()
		if err != nil || json.Unmarshal(m.Data(), &h) != nil || h.Hostname == "" || h.Window() <= 0 {
			return // not a heartbeat; the stream keeps only the latest per host anyway
		}
		if now := time.Now(); c.expired(md.Timestamp, now) && now.Sub(md.Timestamp) > h.Window() {
			// Pruned already (pruneHosts waits for the window too): a
			// restarted collector must not bring it back.
			return
		}
		c.sawHeartbeat(h.Hostname, md.Timestamp, h.Window())
		c.noteHost(h, md.Timestamp)
	}, errs)
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", HeartbeatStream, err)
	}
	return cc, nil
}

// sawHeartbeat notes a heartbeat the server stored at `at` (the server's
// clock, so agents' clocks do not matter).
func (c *Collector) sawHeartbeat(host string, at time.Time, window time.Duration) {
	c.hostsMu.Lock()
	defer c.hostsMu.Unlock()
	h := c.hosts[host]
	if h == nil {
		h = &hostState{}
		c.hosts[host] = h
	}
	if at.After(h.last) {
		if h.raised {
			c.logf("agent %s is back", escape.Text(host))
		}
		h.last, h.window, h.raised = at, window, false
	}
}

// noteHost keeps a heartbeat for the next saveHosts: only the latest per
// host, so a burst of heartbeats is one row write per host.
func (c *Collector) noteHost(h outputs.Heartbeat, at time.Time) {
	if len(h.Hostname) > store.MaxHostName {
		return // refused by the store; not worth a log line per beat
	}
	clamp := func(v uint64) int64 { return int64(min(v, math.MaxInt64)) }
	c.hostsMu.Lock()
	defer c.hostsMu.Unlock()
	if old, ok := c.beats[h.Hostname]; ok && !at.After(old.LastSeen) {
		return
	}
	if len(c.beats) >= store.MaxHosts {
		return // bounded until the next save empties it
	}
	c.beats[h.Hostname] = store.Host{Name: h.Hostname, LastSeen: at, Sent: h.Time,
		Interval: time.Duration(h.IntervalSec * float64(time.Second)), EventsPerSec: h.EventsPerSec,
		Events: clamp(h.Events), Drops: clamp(h.Drops), RulesLoaded: int64(h.RulesLoaded), Version: h.Version, Spooled: int64(h.Spooled)}
}

// saveHosts upserts the heartbeats noted since the last save, in one
// transaction; on failure they are kept (unless newer ones came) for the
// next check.
func (c *Collector) saveHosts(ctx context.Context) {
	c.hostsMu.Lock()
	if len(c.beats) == 0 {
		c.hostsMu.Unlock()
		return
	}
	beats := make([]store.Host, 0, len(c.beats))
	for _, h := range c.beats {
		beats = append(beats, h)
	}
	clear(c.beats)
	c.hostsMu.Unlock()
	err := c.st.UpsertHosts(ctx, beats)
	if err == nil {
		return
	}
	if errors.Is(err, store.ErrBadHost) {
		// One bad heartbeat must not hold back the others.
		for _, h := range beats {
			if err := c.st.UpsertHosts(ctx, []store.Host{h}); err != nil && errors.Is(err, store.ErrBadHost) {
				c.logf("heartbeat not stored: %s", escape.Text(err.Error()))
			}
		}
		return
	}
	c.logf("store heartbeats: %s", escape.Text(err.Error()))
	c.hostsMu.Lock()
	for _, h := range beats {
		if _, newer := c.beats[h.Name]; !newer {
			c.beats[h.Name] = h
		}
	}
	c.hostsMu.Unlock()
}

// checkSilent raises one alert per silence. Its ID derives from the host
// and the last heartbeat, so collectors that all notice store it once.
func (c *Collector) checkSilent(ctx context.Context, now time.Time) {
	var raise []alert.Alert
	c.hostsMu.Lock()
	for host, h := range c.hosts {
		if h.raised || now.Sub(h.last) <= h.window {
			continue
		}
		h.raised = true
		raise = append(raise, SilentAlert(host, h.last, h.window, now))
	}
	c.hostsMu.Unlock()
	if len(raise) == 0 {
		return
	}
	if err := c.st.Insert(ctx, raise); err != nil {
		c.hostsMu.Lock()
		for _, a := range raise {
			c.hosts[a.Hostname].raised = false // tried again next check
		}
		c.hostsMu.Unlock()
		c.logf("store silent-agent alert: %s", escape.Text(err.Error()))
		return
	}
	for _, a := range raise {
		c.silent.Add(1)
		c.logf("%s", escape.Text(a.Output))
	}
}

// expired says whether a heartbeat stored at last is past the host
// retention at now.
func (c *Collector) expired(last, now time.Time) bool {
	return c.cfg.HostRetention > 0 && now.Sub(last) > c.cfg.HostRetention
}

// pruneHosts forgets hosts silent longer than the retention (after their
// silent-agent alert: checkSilent runs first and a host is kept at least
// its window) and deletes them from the store's host table. It runs at
// most every tenth of the retention, and at least once a minute.
func (c *Collector) pruneHosts(ctx context.Context, now time.Time) {
	if c.cfg.HostRetention <= 0 || now.Sub(c.lastPrune) < min(c.cfg.HostRetention/10, time.Minute) {
		return
	}
	c.lastPrune = now
	c.hostsMu.Lock()
	for host, h := range c.hosts {
		if c.expired(h.last, now) && now.Sub(h.last) > h.window && h.raised {
			delete(c.hosts, host)
		}
	}
	c.hostsMu.Unlock()
	n, err := c.st.PruneHosts(ctx, now.Add(-c.cfg.HostRetention), now)
	if err != nil {
		c.logf("prune hosts: %s", escape.Text(err.Error()))
		return
	}
	if n > 0 {
		c.hostsPruned.Add(uint64(n))
		c.logf("%d hosts without a heartbeat for %s removed from the host table", n, c.cfg.HostRetention)
	}
}

// SilentAlert is the alert for a host whose last heartbeat was at last.
func SilentAlert(host string, last time.Time, window time.Duration, now time.Time) alert.Alert {
	silent := now.Sub(last).Round(time.Second)
	return alert.Alert{
		Time:     now,
		Rule:     SilentRule,
		Priority: alert.Critical,
		Output: fmt.Sprintf("%s: no heartbeat from %s for %s (window %s, last at %s); the agent or its network may be down, or it was stopped",
			SilentRule, host, silent, window, last.UTC().Format(time.RFC3339)),
		OutputFields: map[string]any{
			"palisade.host":           host,
			"palisade.last_heartbeat": last.UTC().Format(time.RFC3339Nano),
			"palisade.window_s":       strconv.Itoa(int(window.Seconds())),
		},
		Source:   "internal",
		Tags:     []string{"palisade", "fleet"},
		Hostname: host,
		ID:       alert.DerivedID(SilentRule, host, strconv.FormatInt(last.UnixNano(), 10)),
	}
}
