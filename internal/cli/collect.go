package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisade-sec/palisade/internal/endpoint"
	"github.com/palisade-sec/palisade/internal/escape"
	"github.com/palisade-sec/palisade/internal/fleet"
	"github.com/palisade-sec/palisade/internal/metrics"
	"github.com/palisade-sec/palisade/internal/outputs"
	"github.com/palisade-sec/palisade/internal/store"
)

func newCollectCmd(s streams) *cobra.Command {
	var cfg fleet.Config
	var metricsAddr string
	var metricsAuth endpoint.Options
	cmd := &cobra.Command{
		Use:   "collect --nats URL --store postgres://...",
		Short: "Fleet fan-in: store the alerts agents publish to NATS JetStream",
		Long: `Consume the alerts palisade watch agents publish to NATS JetStream (outputs.nats
in their config) and write them into one store, normally PostgreSQL. Several
collectors share one durable consumer as a work queue; each alert is stored
once by its ID and acknowledged only after its transaction commits. A message
that is not an alert, or is larger than --max-message-size, is counted, logged
on one line and moved to ` + fleet.DeadLetterSubject + `. An agent whose heartbeats
stop for three of its intervals raises "` + fleet.SilentRule + `" for its host;
after --host-retention without a heartbeat it leaves the store's host table.
Creates the streams ` + fleet.AlertStream + `, ` + fleet.HeartbeatStream + ` and ` + fleet.DeadLetterStream + ` if missing.`,
		Example: `  palisade collect --nats nats://nats:4222 --store postgres://palisade@db/palisade
  palisade collect --nats tls://nats:4222 --creds /etc/palisade/collector.creds --store "$PALISADE_STORE"
  palisade collect --nats nats://nats:4222 --store postgres://palisade@db/palisade --host-retention 720h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.NATSURL == "" || cfg.StoreURL == "" {
				return exitf(2, "collect needs --nats URL and --store URL")
			}
			if cfg.Batch < 1 || cfg.Batch > 10000 {
				return exitf(2, "--batch %d: want 1 to 10000", cfg.Batch)
			}
			switch {
			case cfg.HostRetention == 0:
				cfg.HostRetention = -1 // keep for ever
			case cfg.HostRetention < 10*time.Minute:
				return exitf(2, "--host-retention %s: want at least 10m (a silent host's alert comes first), or 0 to keep hosts for ever", cfg.HostRetention)
			}
			cfg.Log = s.err
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			c, err := fleet.Open(ctx, cfg)
			cancel()
			if err != nil {
				code := 3 // NATS or the store unreachable or refusing us
				if errors.Is(err, store.ErrBadURL) {
					code = 2
				}
				return exitf(code, "collect: %s", escape.Text(err.Error()))
			}
			defer c.Close()
			if metricsAddr != "none" {
				metricsAuth.FromEnv()
				srv, err := metrics.Listen(metricsAddr, fleet.Metrics(cmd.Context(), c), c.Healthy, metricsAuth)
				if err != nil {
					return exitf(3, "collect: %s", escape.Text(err.Error()))
				}
				defer srv.Close()
				fmt.Fprintf(s.err, "palisade: collect: metrics on %s\n", srv.URL())
			}
			fmt.Fprintf(s.err, "palisade: collect: consuming %s as %s into the store\n", fleet.AlertStream, cfg.Consumer)
			err = c.Run(cmd.Context())
			st := c.Stats()
			fmt.Fprintf(s.err, "palisade: collect: %d alerts stored, %d dead-lettered, %d silent-agent alerts\n", st.Stored, st.DeadLettered, st.Silent)
			if err != nil {
				return exitf(3, "collect: %s", escape.Text(err.Error()))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.NATSURL, "nats", "", "NATS server `URL`s (nats://HOST:4222, comma-separated)")
	fl.StringVar(&cfg.CredsFile, "creds", "", "NATS credentials `FILE` (.creds: JWT and NKey)")
	fl.StringVar(&cfg.StoreURL, "store", "", "alert store: postgres://... (sqlite:PATH for a single collector)")
	fl.StringVar(&cfg.SubjectPrefix, "subject-prefix", "palisade.alerts", "the agents' alert subject prefix")
	fl.StringVar(&cfg.Consumer, "consumer", fleet.DefaultConsumer, "durable consumer `NAME` the collectors share")
	fl.IntVar(&cfg.Batch, "batch", 500, "alerts per store transaction")
	fl.IntVar(&cfg.MaxMessageBytes, "max-message-size", 1<<20, "dead-letter messages larger than this many `BYTES`")
	fl.DurationVar(&cfg.HostRetention, "host-retention", fleet.DefaultHostRetention, "forget a host (the store's host table) this long after its last heartbeat; 0 keeps hosts for ever")
	fl.DurationVar(&cfg.AckWait, "ack-wait", 30*time.Second, "how long an alert a collector took but did not store waits before another collector gets it")
	fl.StringVar(&metricsAddr, "metrics", "none", "serve Prometheus /metrics, /healthz, /livez and /readyz on `ADDR` (e.g. 127.0.0.1:9377), or none")
	metricsAuth.Register(fl, "metrics-", outputs.MetricsTokenEnv)
	return cmd
}
