package cli

import (
	"github.com/palisade-sec/palisade/internal/dashboard"
	"github.com/palisade-sec/palisade/internal/endpoint"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/spf13/cobra"
)

func newServeCmd(s streams) *cobra.Command {
	var storeURL, listen string
	var auth endpoint.Options
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Alert dashboard",
		Long: "Serve a read-only HTML dashboard of the alert store, with filters by\n" +
			"priority, rule, host, container, image and time, and the same data as JSON at\n" +
			"/api/alerts ({\"alerts\":[...]} in Falco's shape). It listens on loopback\n" +
			"by default; every string in an alert is escaped, and the page runs no\n" +
			"script (Content-Security-Policy: default-src 'none').\n\n" +
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
			srv, err := endpoint.Listen(listen, auth, dashboard.Handler(st))
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
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9377", "address to serve on (loopback by default; elsewhere needs a credential and TLS)")
	auth.Register(cmd.Flags(), "", serveTokenEnv)
	auth.Login = true
	return cmd
}

// serveTokenEnv holds the dashboard's bearer token when no file is named.
const serveTokenEnv = "PALISADE_SERVE_TOKEN"
