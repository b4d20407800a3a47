package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/palisade-sec/palisade/internal/dashboard"
	"github.com/palisade-sec/palisade/internal/endpoint"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/spf13/cobra"
)

func newServeCmd(s streams) *cobra.Command {
	var storeURL, listen, agentMetrics string
	var auth endpoint.Options
	var rf ruleFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Alert dashboard",
		Long: "Serve a read-only dashboard of the alert store: an overview (alerts over\n" +
			"time by priority, top rules, containers, images, pods and hosts), a filtered,\n" +
			"paged alert list with live updates, one page per alert (with its rule from\n" +
			"-r, default the built-in rules) and the agent's runtime state (--agent-metrics);\n" +
			"the same data as JSON at /api/alerts ({\"alerts\":[...]} in Falco's shape).\n" +
			"It listens on loopback by default; every string in an alert is escaped, and\n" +
			"the pages load nothing but serve's own stylesheet and script. See docs/dashboard.md.\n\n" +
			"Off loopback it refuses to start unless given a credential (--token-file or\n" +
			"$" + serveTokenEnv + ": a bearer token of 16 characters or more; and/or --client-ca)\n" +
			"and either TLS (--tls-cert, --tls-key) or --insecure-no-tls behind a TLS proxy.\n" +
			"Requests without the token get 401; a browser logs in at /login once and\n" +
			"keeps a session cookie.",
		Example: "  palisade serve\n" +
			"  palisade serve --store postgres://palisade@db/palisade --listen 127.0.0.1:8080\n" +
			"  palisade serve --listen 0.0.0.0:9377 --token-file /etc/palisade/token --tls-cert srv.crt --tls-key srv.key",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			auth.FromEnv()
			if err := auth.Check(listen); err != nil {
				return exitf(2, "serve: %v", err)
			}
			st, err := openStore(cmd.Context(), storeURL)
			if err != nil {
				return err
			}
			defer st.Close()
			opts, err := serveOptions(&rf, agentMetrics)
			if err != nil {
				return err
			}
			srv, err := endpoint.Listen(listen, auth, dashboard.Handler(st, opts))
			if err != nil {
				return exitf(3, "serve on %s: %v", listen, err)
			}
			go func() {
				<-cmd.Context().Done()
				srv.Shutdown()
			}()
			how := "loopback only"
			if lo, _ := endpoint.Loopback(listen); !lo {
				how = "token or client certificate required"
			}
			s.err.Write([]byte("palisade: serving alerts on " + srv.URL() + " (" + how + ")\n"))
			if err := srv.Serve(); err != nil {
				return exitf(3, "serve: %v", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&storeURL, "store", store.DefaultURL, "alert store: sqlite:PATH or postgres://...")
	rf.cmd = cmd
	cmd.Flags().StringArrayVarP(&rf.files, "rules", "r", nil, "rule files the agent loaded, for the rule descriptions and conditions on alert pages (repeatable; default: the built-in rules)")
	cmd.Flags().BoolVar(&rf.builtin, "builtin", false, "load Palisade's built-in rules first (the default when no -r is given)")
	cmd.Flags().StringVar(&agentMetrics, "agent-metrics", "", "the agent's metrics URL (watch --metrics), e.g. http://127.0.0.1:9376/metrics, for the runtime page")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9377", "address to serve on (loopback by default; elsewhere needs a credential and TLS)")
	auth.Register(cmd.Flags(), "", serveTokenEnv)
	auth.Login = true
	return cmd
}

// serveOptions loads the rules the detail pages describe and sets up the
// runtime page's metrics reader.
func serveOptions(rf *ruleFlags, agentMetrics string) (dashboard.Options, error) {
	var o dashboard.Options
	rs, _, err := rf.load()
	if err != nil {
		return o, err
	}
	o.Rules = map[string]dashboard.RuleInfo{}
	for _, r := range rs.Rules {
		ri := dashboard.RuleInfo{Desc: r.Desc, Source: r.Pos.String(), Priority: r.Priority, Tags: r.Tags, Enabled: r.Enabled}
		if r.Cond != nil {
			ri.Condition = r.Cond.Text
		}
		o.Rules[r.Name] = ri
	}
	o.RulesFrom = "the built-in rules"
	if len(rf.files) > 0 {
		o.RulesFrom = strings.Join(rf.files, ", ")
		if rf.builtin {
			o.RulesFrom = "the built-in rules, " + o.RulesFrom
		}
	}
	if agentMetrics != "" {
		if !strings.HasPrefix(agentMetrics, "http://") && !strings.HasPrefix(agentMetrics, "https://") {
			return o, exitf(2, "serve: --agent-metrics %q: want an http:// or https:// URL", agentMetrics)
		}
		client := &http.Client{Timeout: 3 * time.Second}
		o.AgentURL = agentMetrics
		o.Metrics = func(r *http.Request) (io.ReadCloser, error) {
			req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, agentMetrics, nil)
			if err != nil {
				return nil, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode != http.StatusOK {
				resp.Body.Close()
				return nil, fmt.Errorf("%s", resp.Status)
			}
			return resp.Body, nil
		}
	}
	return o, nil
}

// serveTokenEnv holds the dashboard's bearer token when no file is named.
const serveTokenEnv = "PALISADE_SERVE_TOKEN"
