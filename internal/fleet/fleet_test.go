package fleet

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisade-sec/palisade/internal/alert"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/palisade-sec/palisade/internal/store/storetest"
)

// natsServer is an in-process nats-server with JetStream on 127.0.0.1
// that a test can restart on the same port and store directory.
type natsServer struct {
	t    testing.TB
	dir  string
	port int
	opts func(*server.Options)
	s    *server.Server
}

func startNATS(t testing.TB, opts func(*server.Options)) *natsServer {
	t.Helper()
	n := &natsServer{t: t, dir: t.TempDir(), port: -1, opts: opts}
	n.start()
	n.port = n.s.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { n.s.Shutdown() })
	return n
}

func (n *natsServer) start() {
	o := &server.Options{Host: "127.0.0.1", Port: n.port, NoLog: true, NoSigs: true, JetStream: true, StoreDir: n.dir}
	if n.opts != nil {
		n.opts(o)
	}
	s, err := server.NewServer(o)
	if err != nil {
		n.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("nats-server did not start")
	}
	n.s = s
}

func (n *natsServer) restart(down time.Duration) {
	n.s.Shutdown()
	n.s.WaitForShutdown()
	time.Sleep(down)
	n.start()
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// syncWriter is a log many goroutines write lines to.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// agent is a publisher goroutine using the real NATS output: what watch
// runs, minus the kernel.
type agent struct {
	host string
	out  *outputs.NATSOutput
	sent []string     // IDs of alerts Write accepted
	n    atomic.Int64 // len(sent), for other goroutines
}

func newAgent(t *testing.T, url, host string, heartbeat time.Duration) *agent {
	t.Helper()
	o, err := outputs.NewNATSOutput(outputs.NATSConfig{URL: url, Timeout: time.Second, SpoolDir: filepath.Join(t.TempDir(), "spool")})
	if err != nil {
		t.Fatal(err)
	}
	if heartbeat > 0 {
		o.StartHeartbeat(heartbeat, func() outputs.Heartbeat {
			return outputs.Heartbeat{Hostname: host, Time: time.Now(), Version: "test", RulesLoaded: 1}
		})
	}
	return &agent{host: host, out: o}
}

// publish writes n alerts in batches of 20 until done or stop closes.
func (a *agent) publish(ctx context.Context, t *testing.T, n int, every time.Duration, stop <-chan struct{}) {
	for len(a.sent) < n {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		batch := make([]alert.Alert, 0, 20)
		for i := 0; i < 20 && len(a.sent)+len(batch) < n; i++ {
			now := time.Now()
			batch = append(batch, alert.Alert{Time: now, Rule: "Terminal shell in container", Priority: alert.Notice,
				Output: fmt.Sprintf("shell %d on %s", len(a.sent)+i, a.host), OutputFields: map[string]any{"container.name": "web", "proc.cmdline": "bash -i"},
				Source: "syscall", Tags: []string{"shell"}, Hostname: a.host, ID: alert.NewID(now)})
		}
		if err := a.out.Write(ctx, batch); err != nil {
			t.Errorf("agent %s: %v", a.host, err)
			return
		}
		for _, b := range batch {
			a.sent = append(a.sent, b.ID)
		}
		a.n.Store(int64(len(a.sent)))
		time.Sleep(every)
	}
}

func runCollector(t *testing.T, ctx context.Context, cfg Config) (*Collector, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(cctx); err != nil {
			t.Errorf("collector: %v", err)
		}
		c.Close()
	}()
	return c, cancel, done
}

// startCollectorProcess runs a collector in a child process (this test
// binary, TestCollectorChild), so a test can kill it with SIGKILL.
func startCollectorProcess(t *testing.T, cfg Config) (*exec.Cmd, *atomic.Int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCollectorChild$")
	cmd.Env = append(os.Environ(), "PALISADE_FLEET_CHILD="+cfg.NATSURL+" "+cfg.StoreURL+" "+cfg.AckWait.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	// Wait until it consumes, so it is mid-stream when killed.
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "collecting" {
			var committed atomic.Int64
			go func() {
				for sc.Scan() {
					var n int64
					if _, err := fmt.Sscanf(sc.Text(), "committed %d", &n); err == nil {
						committed.Add(n)
					}
				}
			}()
			return cmd, &committed
		}
	}
	t.Fatalf("collector child did not start")
	return nil, nil
}

// TestCollectorChild is the collector startCollectorProcess kills.
func TestCollectorChild(t *testing.T) {
	args := strings.Fields(os.Getenv("PALISADE_FLEET_CHILD"))
	// Right everywhere: this is a helper process, not a test of its own.
	if len(args) != 3 {
		t.Skip("only run as a child of TestFanInExactlyOnce")
	}
	ackWait, _ := time.ParseDuration(args[2])
	c, err := Open(context.Background(), Config{NATSURL: args[0], StoreURL: args[1], AckWait: ackWait, Log: os.Stdout,
		Committed: func(as []alert.Alert, _ time.Time) { fmt.Printf("committed %d\n", len(as)) }})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("collecting")
	c.Run(context.Background())
}

// Three agents → NATS → two collectors → PostgreSQL: every alert is
// stored exactly once through a collector killed with SIGKILL mid-stream
// (its unacknowledged alerts go to the other one), a restart of nats-server
// (agents spool, collectors reconnect) and a PostgreSQL crash and restart
// (collectors retry; nothing is acknowledged before it is committed).
func TestFanInExactlyOnce(t *testing.T) {
	pg := storetest.StartPostgres(t)
	ns := startNATS(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	log := &syncWriter{}
	cfg := Config{NATSURL: ns.url(), StoreURL: pg.URL, AckWait: 2 * time.Second, Log: log, Timeout: 2 * time.Second}
	child, childCommitted := startCollectorProcess(t, cfg)
	_, stop2, done2 := runCollector(t, ctx, cfg)
	defer stop2()

	const perAgent = 2000
	var agents []*agent
	var wg sync.WaitGroup
	for _, h := range []string{"node-a", "node-b", "node-c"} {
		a := newAgent(t, ns.url(), h, 0)
		agents = append(agents, a)
		wg.Add(1)
		go func() { defer wg.Done(); a.publish(ctx, t, perAgent, 60*time.Millisecond, nil) }()
	}
	midStream := func(what string) {
		n := agents[0].n.Load()
		t.Logf("%s with %d of %d alerts sent by %s", what, n, perAgent, agents[0].host)
		if n == 0 || n >= perAgent {
			t.Errorf("%s outside the stream: the test shows nothing", what)
		}
	}
	time.Sleep(time.Second)
	// kill -9 mid-stream: what it holds unacknowledged (or half-committed)
	// is redelivered to the other collector after AckWait.
	child.Process.Kill()
	child.Wait()
	midStream("collector 1 killed (SIGKILL)")
	if n := childCommitted.Load(); n == 0 {
		t.Error("the killed collector had stored nothing: it was not part of the stream")
	} else {
		t.Logf("the killed collector had committed %d alerts", n)
	}
	time.Sleep(500 * time.Millisecond)
	midStream("nats-server shut down")
	ns.restart(500 * time.Millisecond)
	time.Sleep(700 * time.Millisecond)
	midStream("postgres crashed")
	pg.Crash(t)
	time.Sleep(time.Second)
	pg.Start(t)
	// Each fault above struck mid-stream; the restart may come after the
	// agents have sent everything (PostgreSQL starts slowly on a loaded
	// machine), which still tests that what waited in NATS is stored.
	t.Logf("postgres started with %d of %d alerts sent by %s", agents[0].n.Load(), perAgent, agents[0].host)
	// The killed collector comes back, as systemd or Kubernetes would do.
	_, stop1, done1 := runCollector(t, ctx, cfg)
	defer stop1()
	wg.Wait()
	for _, a := range agents {
		if len(a.sent) != perAgent {
			t.Fatalf("agent %s sent %d alerts, want %d", a.host, len(a.sent), perAgent)
		}
	}

	st, err := store.Open(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := 3 * perAgent
	var n int64
	for i := 0; ctx.Err() == nil; i++ {
		if n, err = st.Count(ctx); err == nil && n >= int64(want) {
			break
		}
		if i%25 == 0 {
			t.Logf("%d of %d stored", n, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n < int64(want) {
		t.Fatalf("%d of %d alerts stored; collector log:\n%s", n, want, log)
	}
	recs, err := st.Query(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, r := range recs {
		stored[r.Alert.ID]++
	}
	for _, a := range agents {
		missing := 0
		for _, id := range a.sent {
			if stored[id] != 1 {
				missing++
			}
			delete(stored, id)
		}
		if missing > 0 {
			t.Errorf("agent %s: %d of %d alerts not stored exactly once", a.host, missing, perAgent)
		}
		if got, _ := st.Query(ctx, store.Filter{Host: a.host}); len(got) != perAgent {
			t.Errorf("--host %s: %d alerts, want %d", a.host, len(got), perAgent)
		}
		a.out.Close()
	}
	if len(recs) != want || len(stored) != 0 {
		t.Errorf("store holds %d alerts (%d not sent by any agent), want %d", len(recs), len(stored), want)
	}
	// Acknowledged means gone from the work queue: nothing is left behind.
	nc, err := nats.Connect(ns.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var pending uint64
	for i := 0; i < 50; i++ {
		s, err := js.Stream(ctx, AlertStream)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := s.Info(ctx)
		if pending = info.State.Msgs; pending == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pending != 0 {
		t.Errorf("%d alerts still in %s after all were stored", pending, AlertStream)
	}
	stop1()
	stop2()
	<-done1
	<-done2
	// An outage is not the alerts' fault: none may be set aside for it.
	if strings.Contains(log.String(), "dead-lettered") {
		t.Error("alerts dead-lettered during an outage")
	}
	t.Logf("collector log:\n%s", log)
}

// An agent stopped mid-stream raises "Palisade agent silent" for its host
// within its heartbeat window; the agent still beating does not.
func TestSilentAgent(t *testing.T) {
	pg := storetest.StartPostgres(t)
	ns := startNATS(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	log := &syncWriter{}
	cfg := Config{NATSURL: ns.url(), StoreURL: pg.URL, CheckEvery: 100 * time.Millisecond, Log: log}
	c1, stopC1, done1 := runCollector(t, ctx, cfg)
	defer func() { stopC1(); <-done1 }()
	// A second collector notices too; the alert's derived ID stores it once.
	_, stopC2, done2 := runCollector(t, ctx, cfg)
	defer func() { stopC2(); <-done2 }()

	const beat = 500 * time.Millisecond // window: 3 beats
	alive := newAgent(t, ns.url(), "node-alive", beat)
	defer alive.out.Close()
	doomed := newAgent(t, ns.url(), "node-doomed", beat)
	stop := make(chan struct{})
	go doomed.publish(ctx, t, 1<<30, 10*time.Millisecond, stop)
	time.Sleep(2 * beat)
	close(stop)
	doomed.out.Close() // no more heartbeats: stopped mid-stream
	stopped := time.Now()

	var got []store.Record
	for ctx.Err() == nil {
		var err error
		if got, err = c1.Store().Query(ctx, store.Filter{Rules: []string{SilentRule}}); err == nil && len(got) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(stopped)
	if len(got) != 1 || got[0].Alert.Hostname != "node-doomed" || !strings.Contains(got[0].Alert.Output, "node-doomed") {
		t.Fatalf("silent alerts: %+v", got)
	}
	// Window (3 beats) after the last heartbeat, plus a check interval and
	// scheduling slack on a busy machine.
	if limit := 3*beat + time.Second; took > limit {
		t.Errorf("silent alert %v after the agent stopped, want within %v", took, limit)
	}
	t.Logf("silent alert %v after the agent stopped: %s", took.Round(time.Millisecond), got[0].Alert.Output)
	time.Sleep(4 * beat) // long enough for a wrong one about the living agent
	got, _ = c1.Store().Query(ctx, store.Filter{Rules: []string{SilentRule}})
	if len(got) != 1 {
		t.Errorf("%d silent alerts, want 1 (for node-doomed only, stored once): %+v", len(got), got)
	}
	if alerts, _ := c1.Store().Query(ctx, store.Filter{Host: "node-doomed"}); len(alerts) < 2 {
		t.Errorf("node-doomed: %d alerts stored, want its alerts and the silent one", len(alerts))
	}
	// Each host's latest heartbeat is in the store: the living agent's
	// recent, the stopped one's from before it stopped.
	hosts, err := c1.Store().Hosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]store.Host{}
	for _, h := range hosts {
		seen[h.Name] = h
	}
	if a := seen["node-alive"]; a.Version != "test" || a.RulesLoaded != 1 || a.Interval != beat || time.Since(a.LastSeen) > 3*beat || a.FirstSeen.After(stopped) {
		t.Errorf("node-alive's stored heartbeat: %+v", a)
	}
	if d := seen["node-doomed"]; d.Version != "test" || d.LastSeen.After(stopped) || time.Since(d.LastSeen) < 4*beat {
		t.Errorf("node-doomed's stored heartbeat: %+v (stopped at %v)", d, stopped)
	}
	if len(hosts) != 2 {
		t.Errorf("%d hosts stored, want 2: %+v", len(hosts), hosts)
	}
}

// A host silent longer than HostRetention leaves the host table after its
// silent-agent alert, and a collector started later does not bring it
// back from the heartbeat NATS still holds; a living host stays.
func TestHostRetention(t *testing.T) {
	pg := storetest.StartPostgres(t)
	ns := startNATS(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	const beat, retention = 300 * time.Millisecond, 3 * time.Second
	cfg := Config{NATSURL: ns.url(), StoreURL: pg.URL, CheckEvery: 100 * time.Millisecond, HostRetention: retention, Log: &syncWriter{}}
	c1, stopC1, done1 := runCollector(t, ctx, cfg)
	alive := newAgent(t, ns.url(), "node-alive", beat)
	defer alive.out.Close()
	doomed := newAgent(t, ns.url(), "node-doomed", beat)
	time.Sleep(3 * beat)
	doomed.out.Close()
	stopped := time.Now()
	hostNames := func() map[string]bool {
		hs, err := c1.Store().Hosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, h := range hs {
			names[h.Name] = true
		}
		return names
	}
	if names := hostNames(); !names["node-alive"] || !names["node-doomed"] {
		t.Fatalf("hosts before the retention: %v, want both", names)
	}
	for ctx.Err() == nil && hostNames()["node-doomed"] {
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(stopped)
	if took < retention-beat {
		t.Errorf("node-doomed pruned %v after it stopped, before the retention (%v)", took, retention)
	}
	if names := hostNames(); !names["node-alive"] || len(names) != 1 {
		t.Errorf("hosts after the retention: %v, want node-alive only", names)
	}
	if silent, _ := c1.Store().Query(ctx, store.Filter{Rules: []string{SilentRule}, Host: "node-doomed"}); len(silent) != 1 {
		t.Errorf("%d silent-agent alerts for node-doomed, want 1 (before it was pruned)", len(silent))
	}
	if st := c1.Stats(); st.HostsPruned != 1 {
		t.Errorf("stats: %d hosts pruned, want 1", st.HostsPruned)
	}
	stopC1()
	<-done1
	// NATS keeps node-doomed's last heartbeat for days; a new collector
	// reads it and must leave it out.
	c2, stopC2, done2 := runCollector(t, ctx, cfg)
	defer func() { stopC2(); <-done2 }()
	time.Sleep(10 * cfg.CheckEvery)
	hs, err := c2.Store().Hosts(ctx)
	if err != nil || len(hs) != 1 || hs[0].Name != "node-alive" {
		t.Errorf("hosts after a collector restart: %+v, %v; want node-alive only", hs, err)
	}
	if st := c2.Stats(); st.Silent != 0 {
		t.Errorf("the restarted collector raised %d silent-agent alerts for a pruned host, want 0", st.Silent)
	}
	t.Logf("node-doomed pruned %v after its last heartbeat (retention %v)", took.Round(time.Millisecond), retention)
}

// A malformed, an oversized and a not-an-alert message are each counted,
// logged on one line and dead-lettered unchanged; none is stored, and the
// collector goes on storing the good alerts around them.
func TestDeadLetters(t *testing.T) {
	ns := startNATS(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := &syncWriter{}
	cfg := Config{NATSURL: ns.url(), StoreURL: "sqlite:" + filepath.Join(t.TempDir(), "fleet.db"), MaxMessageBytes: 4096, Log: log}
	c, stop, done := runCollector(t, ctx, cfg)
	defer func() { stop(); <-done }()
	nc, err := nats.Connect(ns.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	good := func(i int) []byte {
		return []byte(fmt.Sprintf(`{"time":"2026-12-06T02:00:00Z","rule":"r","priority":"Warning","output":"ok %d","output_fields":{},"source":"syscall","tags":[],"hostname":"h","uuid":"id-%d"}`, i, i))
	}
	// Each bad message, by the reason it must be dead-lettered for.
	bad := map[string][]byte{
		"not Falco JSON: unexpected end":           []byte(`{"time":"2026-12-06T02:00:00Z","rule":"r","priority":"Warning"`),
		"oversized: 5028 bytes (limit 4096)":       append(append([]byte(`{"time":"2026-12-06T02:00:00Z","rule":"r","output":"`), bytes.Repeat([]byte("A"), 4974)...), `"}`...),
		"not an alert: no rule":                    []byte(`{"hello":"world"}`),
		`not Falco JSON: unknown priority "Loud"`:  []byte(`{"time":"2026-12-06T02:00:00Z","rule":"r","priority":"Loud","output":"x"}`),
		`not Falco JSON: invalid character '\x1b'`: []byte("\x1b[31m\n"),
	}
	msgs := [][]byte{good(1)}
	for _, b := range bad {
		msgs = append(msgs, b)
	}
	msgs = append(msgs, good(2), good(1)) // good(1) again: stored once
	for _, m := range msgs {
		if _, err := js.Publish(ctx, "palisade.alerts.warning", m); err != nil {
			t.Fatal(err)
		}
	}
	for ctx.Err() == nil && c.Stats().DeadLettered < uint64(len(bad)) {
		time.Sleep(20 * time.Millisecond)
	}
	var n int64
	for ctx.Err() == nil {
		if n, _ = c.Store().Count(ctx); n >= 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n, _ = c.Store().Count(ctx); n != 2 || c.Stats().DeadLettered != uint64(len(bad)) {
		t.Fatalf("stored %d (want 2), dead-lettered %d (want %d)\n%s", n, c.Stats().DeadLettered, len(bad), log)
	}
	// /metrics says the same, and the lag drains to 0.
	var text string
	for ctx.Err() == nil {
		var b strings.Builder
		Metrics(ctx, c).WriteText(&b)
		if text = b.String(); strings.Contains(text, "\npalisade_collect_pending 0\n") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		"\npalisade_collect_stored_total 3\n", // good(1) twice: the store keeps one
		fmt.Sprintf("\npalisade_collect_dead_lettered_total %d\n", len(bad)),
		"\npalisade_collect_store_errors_total 0\n",
		"\npalisade_collect_pending 0\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q:\n%s", strings.TrimSpace(want), text)
		}
	}
	if err := c.Healthy(); err != nil {
		t.Errorf("healthy: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != len(bad) {
		t.Errorf("%d log lines for %d dead letters:\n%s", len(lines), len(bad), log)
	}
	for _, l := range lines {
		if !strings.Contains(l, "dead-lettered to "+DeadLetterSubject) || strings.ContainsAny(l, "\x1b\r") {
			t.Errorf("log line %q", l)
		}
	}
	s, err := js.Stream(ctx, DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for seq := uint64(1); seq <= uint64(len(bad)); seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("dead letter %d: %v", seq, err)
		}
		if m.Header.Get("Palisade-Reason") == "" || m.Header.Get("Palisade-Subject") != "palisade.alerts.warning" {
			t.Errorf("dead letter %d headers %v", seq, m.Header)
		}
		seen[string(m.Data)] = m.Header.Get("Palisade-Reason")
	}
	for reason, b := range bad {
		if got, ok := seen[string(b)]; !ok || !strings.HasPrefix(got, reason) {
			t.Errorf("%.40q: dead-lettered %v for %q, want unchanged for %q", b, ok, got, reason)
		}
	}
}

// A wrong PostgreSQL URL or refused NATS credentials fail at start with
// one line naming what is wrong.
func TestOpenFailsAtStart(t *testing.T) {
	ns := startNATS(t, func(o *server.Options) { o.Username, o.Password = "palisade", "right" })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	good := fmt.Sprintf("nats://palisade:right@127.0.0.1:%d", ns.port)
	for _, tc := range []struct {
		name      string
		cfg       Config
		wantInErr string
	}{
		{"wrong password", Config{NATSURL: fmt.Sprintf("nats://palisade:wrong@127.0.0.1:%d", ns.port), StoreURL: "sqlite:" + filepath.Join(t.TempDir(), "a.db")}, "uthorization"},
		{"no NATS", Config{NATSURL: fmt.Sprintf("nats://127.0.0.1:%d", closedPort), StoreURL: "sqlite:" + filepath.Join(t.TempDir(), "a.db")}, "connect to NATS"},
		{"no PostgreSQL", Config{NATSURL: good, StoreURL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", closedPort)}, "open store postgres://"},
		{"bad store URL", Config{NATSURL: good, StoreURL: "mysql://x"}, "bad store URL"},
	} {
		c, err := Open(ctx, tc.cfg)
		if err == nil {
			c.Close()
			t.Errorf("%s: Open succeeded", tc.name)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.wantInErr) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line containing %q", tc.name, msg, tc.wantInErr)
		}
	}
}

// A host whose heartbeat window is longer than HostRetention is still
// alerted on by a collector that starts after the retention but within
// the window: its heartbeat is not "pruned already" before it could be
// found silent.
func TestHostRetentionShorterThanWindow(t *testing.T) {
	pg := storetest.StartPostgres(t)
	ns := startNATS(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	const beat, retention = time.Second, 1500 * time.Millisecond // window 3 s
	cfg := Config{NATSURL: ns.url(), StoreURL: pg.URL, CheckEvery: 100 * time.Millisecond, HostRetention: retention, Log: &syncWriter{}}
	_, stopC1, done1 := runCollector(t, ctx, cfg) // makes the streams
	time.Sleep(5 * cfg.CheckEvery)
	stopC1()
	<-done1
	slow := newAgent(t, ns.url(), "node-slow", beat)
	time.Sleep(beat + beat/2)
	slow.out.Close()
	time.Sleep(retention + 200*time.Millisecond) // past the retention, not the window
	c2, stopC2, done2 := runCollector(t, ctx, cfg)
	defer func() { stopC2(); <-done2 }()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && c2.Stats().Silent == 0; {
		time.Sleep(50 * time.Millisecond)
	}
	if silent, err := c2.Store().Query(ctx, store.Filter{Rules: []string{SilentRule}, Host: "node-slow"}); err != nil || len(silent) != 1 {
		t.Errorf("%d silent-agent alerts for node-slow (%v), want 1: a collector started within its window must still find it silent", len(silent), err)
	}
}

// A collector stopped while it starts (SIGINT before it follows the
// streams) stops cleanly: Run returns no error, so `palisade collect`
// exits 0.
func TestRunStoppedWhileStarting(t *testing.T) {
	ns := startNATS(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Open(ctx, Config{NATSURL: ns.url(), StoreURL: "sqlite:" + filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stopped, stop := context.WithCancel(ctx)
	stop()
	if err := c.Run(stopped); err != nil {
		t.Errorf("Run on a stopped context: %v, want nil", err)
	}
}
