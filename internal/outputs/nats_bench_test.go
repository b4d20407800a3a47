package outputs

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// externalNATS starts nats-server with JetStream as its own process, so
// the benchmark's CPU figures are the agent side's alone: $PALISADE_NATS_SERVER,
// or nats-server built from the module.
func externalNATS(b *testing.B) string {
	b.Helper()
	bin := os.Getenv("PALISADE_NATS_SERVER")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "nats-server")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
			b.Fatalf("build nats-server: %v\n%s", err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if nc, err := nats.Connect(url); err == nil {
			nc.Close()
			return url
		}
		if time.Since(start) > 10*time.Second {
			b.Fatal("nats-server did not start")
		}
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkPipelinePublish is the agent's cost of publishing to NATS: the
// same alerts through the agent's pipeline with the terminal output only
// (to io.Discard), and with the NATS output too, publishing to a JetStream
// stream with acknowledgements (as when a collector runs). It reports
// delivered alerts/s (Send until Close has delivered everything) and the
// agent process's CPU-µs per alert; nats-server runs as its own process.
func BenchmarkPipelinePublish(b *testing.B) {
	for _, withNATS := range []bool{false, true} {
		name := "terminal-only"
		if withNATS {
			name = "terminal+nats-jetstream"
		}
		b.Run(name, func(b *testing.B) {
			var js jetstream.JetStream
			cfg := Config{Outputs: OutputsConfig{Terminal: TerminalConfig{Format: "json"}, QueueSize: 1 << 16},
				Store: StoreConfig{URL: "none"}, Metrics: MetricsConfig{Address: "none"}}
			if withNATS {
				url := externalNATS(b)
				nc, err := nats.Connect(url)
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
				js, _ = jetstream.New(nc)
				if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"palisade.alerts.>"}}); err != nil {
					b.Fatal(err)
				}
				cfg.Outputs.NATS = &NATSConfig{URL: url, SpoolDir: filepath.Join(b.TempDir(), "spool"), Heartbeat: time.Hour}
			}
			p, err := FromConfig(context.Background(), cfg, Env{Stdout: io.Discard, Stderr: io.Discard, Hostname: "bench-node", Block: true})
			if err != nil {
				b.Fatal(err)
			}
			a := testAlert(1)
			a.Output = "A shell was spawned in a container with an attached terminal (user=root container_name=web shell=bash parent=runc cmdline=bash -i)"
			b.ResetTimer()
			cpu0, start := cpuSeconds(), time.Now()
			for i := 0; i < b.N; i++ {
				a.ID = ""
				p.Send(a)
			}
			if err := p.Close(time.Minute); err != nil {
				b.Fatal(err)
			}
			elapsed, cpu := time.Since(start), cpuSeconds()-cpu0
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "alerts/s")
			b.ReportMetric(cpu*1e6/float64(b.N), "cpu-µs/alert")
			if js != nil { // every alert reached the stream, none is in the spool
				st, err := js.Stream(context.Background(), "BENCH")
				if err != nil {
					b.Fatal(err)
				}
				info, err := st.Info(context.Background())
				if err != nil || info.State.Msgs != uint64(b.N) {
					b.Fatalf("stream holds %d alerts of %d sent (%v)", info.State.Msgs, b.N, err)
				}
			}
		})
	}
}
