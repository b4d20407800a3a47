package fleet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/palisade-sec/palisade/internal/store/storetest"
)

// The collector's defaults unless PALISADE_BENCH_BATCH/WRITERS/FLUSH_MS say
// otherwise (for tuning them).
var benchBatch, benchWriters = envInt("PALISADE_BENCH_BATCH"), envInt("PALISADE_BENCH_WRITERS")

// benchFlush is PALISADE_BENCH_FLUSH_MS as a duration (0: the default).
var benchFlush = time.Duration(envInt("PALISADE_BENCH_FLUSH_MS")) * time.Millisecond

func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

func benchAlert(host string, i int, now time.Time) alert.Alert {
	return alert.Alert{Time: now, Rule: "Terminal shell in container", Priority: alert.Notice,
		Output:       "A shell was spawned in a container with an attached terminal (user=root user_loginuid=-1 container_id=3f2a1b container_name=web shell=bash parent=runc cmdline=bash -i terminal=34816)",
		OutputFields: map[string]any{"container.name": "web", "container.image.repository": "nginx", "proc.cmdline": "bash -i", "user.name": "root", "n": i},
		Source:       "syscall", Tags: []string{"container", "shell"}, Hostname: host, ID: alert.NewID(now)}
}

// BenchmarkCollectorThroughput is the alerts/s one collector moves from
// JetStream into PostgreSQL: each iteration fills the stream with 20,000
// alerts (untimed), then times one collector storing all of them.
func BenchmarkCollectorThroughput(b *testing.B) {
	pg := storetest.StartPostgres(b)
	ns := startNATS(b, nil)
	ctx := context.Background()
	// The first collector creates the streams the agent needs.
	c, err := Open(ctx, Config{NATSURL: ns.url(), StoreURL: pg.URL})
	if err != nil {
		b.Fatal(err)
	}
	c.Close()
	o, err := outputs.NewNATSOutput(outputs.NATSConfig{URL: ns.url()})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	st, err := store.Open(ctx, pg.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const perIter = 20000
	var total, goCPU, pgCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := 0; j < perIter; j += 500 {
			batch := make([]alert.Alert, 500)
			for k := range batch {
				batch[k] = benchAlert("node-1", j+k, time.Now())
			}
			if err := o.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		want, _ := st.Count(ctx)
		want += perIter
		b.StartTimer()
		start, goCPU0, pgCPU0 := time.Now(), storetest.ProcessCPU(), pg.CPU(b)
		c, err := Open(ctx, Config{NATSURL: ns.url(), StoreURL: pg.URL, Batch: benchBatch, Writers: benchWriters,
			FlushEvery: benchFlush})
		if err != nil {
			b.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); c.Run(cctx) }()
		// The collector counts what it committed: polling the store with
		// COUNT(*) instead was a sequential scan every 5 ms, a third of
		// PostgreSQL's CPU in the profile, taken from the collector.
		for c.Stats().Stored < perIter {
			time.Sleep(time.Millisecond)
		}
		total += time.Since(start)
		goCPU += storetest.ProcessCPU() - goCPU0
		pgCPU += pg.CPU(b) - pgCPU0
		cancel()
		<-done
		c.Close()
		if n, err := st.Count(ctx); err != nil || n != want {
			b.Fatalf("store holds %d alerts (%v), want %d", n, err, want)
		}
	}
	n := float64(b.N * perIter)
	b.ReportMetric(n/total.Seconds(), "alerts/s")
	// The machine is shared: alerts per CPU-second of this process (the
	// collector and nats-server) and PostgreSQL together is what one free
	// core would sustain; the two parts say where the time goes.
	b.ReportMetric(n/(goCPU+pgCPU).Seconds(), "alerts/cpu-s")
	b.ReportMetric(float64(goCPU.Microseconds())/n, "go-cpu-us/alert")
	b.ReportMetric(float64(pgCPU.Microseconds())/n, "pg-cpu-us/alert")
}

// BenchmarkAgentToStoreLatency runs five agents publishing 5,000 alerts/s
// between them through NATS to one collector and PostgreSQL, one second of
// traffic per iteration, and reports the p50 and p99 of the time from an
// alert's creation on its agent to the commit holding it.
func BenchmarkAgentToStoreLatency(b *testing.B) {
	pg := storetest.StartPostgres(b)
	ns := startNATS(b, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	cfg := Config{NATSURL: ns.url(), StoreURL: pg.URL, Committed: func(as []alert.Alert, at time.Time) {
		mu.Lock()
		for i := range as {
			lat = append(lat, at.Sub(as[i].Time))
		}
		mu.Unlock()
	}}
	c, err := Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	go c.Run(ctx)
	const rate, agents, tick = 5000, 5, 10 * time.Millisecond
	var outs []*outputs.NATSOutput
	for i := 0; i < agents; i++ {
		o, err := outputs.NewNATSOutput(outputs.NATSConfig{URL: ns.url(), SpoolDir: filepath.Join(b.TempDir(), "spool")})
		if err != nil {
			b.Fatal(err)
		}
		defer o.Close()
		outs = append(outs, o)
	}
	b.ResetTimer()
	sent := 0
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for a, o := range outs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				host := fmt.Sprintf("node-%d", a)
				per := rate / agents * int(tick) / int(time.Second)
				t := time.NewTicker(tick)
				defer t.Stop()
				for k := 0; k < int(time.Second/tick); k++ {
					<-t.C
					batch := make([]alert.Alert, per)
					now := time.Now()
					for j := range batch {
						batch[j] = benchAlert(host, k*per+j, now)
					}
					if err := o.Write(ctx, batch); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		sent += agents * (rate / agents * int(tick) / int(time.Second)) * int(time.Second/tick)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(lat)
		mu.Unlock()
		if n >= sent {
			break
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	if len(lat) < sent {
		b.Fatalf("%d of %d alerts stored", len(lat), sent)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(sent)/float64(b.N), "alerts/iter")
}
