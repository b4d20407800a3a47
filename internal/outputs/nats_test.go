package outputs

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/palisade-sec/palisade/internal/alert"
)

// startNATS runs an in-process nats-server on 127.0.0.1 and a random port.
func startNATS(t *testing.T, withJetStream bool) string {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: withJetStream, StoreDir: t.TempDir()}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

func TestNATSCorePublish(t *testing.T) {
	url := startNATS(t, false)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("palisade.alerts.>")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	o, err := NewNATSOutput(NATSConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert(1)
	c := hostileAlert()
	if err := o.Write(context.Background(), []alert.Alert{a, c}); err != nil {
		t.Fatal(err)
	}
	o.Close()
	for _, want := range []struct {
		subject, rule string
	}{{"palisade.alerts.warning", "rule-1"}, {"palisade.alerts.critical", c.Rule}} {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != want.subject {
			t.Errorf("subject %q, want %q", m.Subject, want.subject)
		}
		body := checkFalcoJSONLine(t, m.Data)
		var back alert.Alert
		json.Unmarshal(m.Data, &back)
		if want.rule == "rule-1" && body["rule"] != want.rule {
			t.Errorf("rule %v", body["rule"])
		}
		// The 1 MiB command line does not fit NATS's default 1 MB payload:
		// it is cut and marked, not lost.
		if want.rule != "rule-1" && (back.OutputFields[TruncatedField] != true || len(m.Data) > 1<<20) {
			t.Errorf("oversized alert: %d bytes, truncated=%v", len(m.Data), back.OutputFields[TruncatedField])
		}
	}
}

func TestNATSJetStreamWhenAStreamCoversTheSubject(t *testing.T) {
	url := startNATS(t, true)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ALERTS", Subjects: []string{"palisade.alerts.critical", "palisade.alerts.emergency"}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewNATSOutput(NATSConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	crit := testAlert(1)
	crit.Priority = alert.Critical
	// The Warning one has no stream: it goes out as a core publish and the
	// stream must not hold it.
	if err := o.Write(ctx, []alert.Alert{crit, testAlert(2), crit}); err != nil {
		t.Fatal(err)
	}
	if !o.usesJetStream(ctx, "palisade.alerts.critical") || o.usesJetStream(ctx, "palisade.alerts.warning") {
		t.Fatal("stream lookup wrong")
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want the 2 critical alerts", info.State.Msgs)
	}
	msg, err := stream.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if body := checkFalcoJSONLine(t, msg.Data); body["priority"] != "Critical" {
		t.Fatalf("stored %v", body)
	}
}

func TestNATSServerGoneDoesNotHang(t *testing.T) {
	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	o, err := NewNATSOutput(NATSConfig{URL: s.ClientURL(), Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	start := time.Now()
	// The publish may fail or sit in the reconnect buffer; either way the
	// output must give up within its timeout rather than hold the worker.
	o.Write(context.Background(), []alert.Alert{testAlert(1)})
	o.Close()
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("write+close with the server gone took %v", el)
	}
}

// With a spool, alerts written while the server is down wait on disk and
// reach the stream, in order and all of them, once it is back on its port.
func TestNATSSpoolsWhileServerDown(t *testing.T) {
	dir := t.TempDir()
	start := func(port int) *server.Server {
		s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true, JetStream: true, StoreDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("nats-server did not start")
		}
		return s
	}
	s := start(-1)
	port := s.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ALERTS", Subjects: []string{"palisade.alerts.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	o, err := NewNATSOutput(NATSConfig{URL: s.ClientURL(), Timeout: time.Second, SpoolDir: filepath.Join(t.TempDir(), "spool")})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	n := 0
	write := func(k int) {
		var batch []alert.Alert
		for i := 0; i < k; i++ {
			a := testAlert(n)
			a.ID = fmt.Sprint(n)
			batch = append(batch, a)
			n++
		}
		if err := o.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	write(100)
	s.Shutdown()
	s.WaitForShutdown()
	for i := 0; i < 5; i++ {
		write(50)
	}
	if o.Spooled() == 0 {
		t.Fatal("nothing spooled with the server down")
	}
	s = start(port)
	defer s.Shutdown()
	for o.Spooled() > 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	nc, err = nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ = jetstream.New(nc)
	stream, err := js.Stream(ctx, "ALERTS")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := stream.Info(ctx)
	if info.State.Msgs != uint64(n) {
		t.Fatalf("stream holds %d alerts, want %d", info.State.Msgs, n)
	}
	for seq := uint64(1); seq <= info.State.Msgs; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var a alert.Alert
		json.Unmarshal(m.Data, &a)
		if a.ID != fmt.Sprint(seq-1) {
			t.Fatalf("message %d is alert %q: out of order", seq, a.ID)
		}
	}
}

// An agent's pipeline (Env.Hostname set, as watch does) stamps every alert
// with the host and an ID of its own, and its NATS output beats with the
// agent's counters on palisade.heartbeat.<host>.
func TestAgentPipelineIdentityAndHeartbeat(t *testing.T) {
	url := startNATS(t, true)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	alerts, _ := nc.SubscribeSync("palisade.alerts.>")
	beats, _ := nc.SubscribeSync(HeartbeatPrefix + ".>")
	nc.Flush()
	cfg := Config{Outputs: OutputsConfig{NATS: &NATSConfig{URL: url, Heartbeat: 100 * time.Millisecond, SpoolDir: filepath.Join(t.TempDir(), "spool")}},
		Store: StoreConfig{URL: "none"}, Metrics: MetricsConfig{Address: "none"}}
	p, err := FromConfig(context.Background(), cfg, Env{Hostname: "node.7", Version: "1.2.3", RulesLoaded: 42})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert(1) // its Hostname "h" is the rules engine's; the agent's wins
	p.Send(a)
	p.Send(a)
	ids := map[string]bool{}
	for i := 0; i < 2; i++ {
		m, err := alerts.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var got alert.Alert
		json.Unmarshal(m.Data, &got)
		if got.Hostname != "node.7" || len(got.ID) != 36 || ids[got.ID] {
			t.Fatalf("alert hostname %q id %q (seen %v)", got.Hostname, got.ID, ids[got.ID])
		}
		ids[got.ID] = true
	}
	// The first beat goes out at start; events counted after it show in a
	// later one, with a rate.
	if _, err := beats.NextMsg(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	p.Metrics.Events.Add(500)
	var h Heartbeat
	var m *nats.Msg
	for i := 0; i < 20 && h.Events == 0; i++ {
		if m, err = beats.NextMsg(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(m.Data, &h); err != nil {
			t.Fatal(err)
		}
	}
	if h.EventsPerSec <= 0 || m.Subject != "palisade.heartbeat.node_7" || h.Hostname != "node.7" || h.Version != "1.2.3" || h.RulesLoaded != 42 ||
		h.Events != 500 || h.IntervalSec != 0.1 || h.Window() != 300*time.Millisecond {
		t.Errorf("heartbeat on %s: %+v", m.Subject, h)
	}
	p.Close(time.Second)
	// Closed, it beats no more.
	for {
		if _, err := beats.NextMsg(300 * time.Millisecond); err != nil {
			break
		}
	}
	if _, err := beats.NextMsg(400 * time.Millisecond); err == nil {
		t.Error("heartbeat after Close")
	}
}
