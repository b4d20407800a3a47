package metrics

import (
	"fmt"
	"net/http"

	"github.com/palisade-sec/palisade/internal/endpoint"
)

// DefaultAddress is loopback only: metrics reveal rule names and activity,
// so exposing them beyond the host is an explicit choice.
const DefaultAddress = "127.0.0.1:9376"

// Server serves /metrics and /healthz.
type Server struct {
	srv *endpoint.Server
}

// Probes are answered without a credential (see Listen) and say only ok or
// not: /livez while the agent serves, /readyz while health (if any) passes.
var Probes = []string{"/livez", "/readyz"}

// Handler returns the /metrics, /healthz, /livez and /readyz handler.
// health, if not nil, makes /healthz answer 503 with its error and /readyz
// answer 503 without it.
func Handler(r *Registry, health func() error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		r.WriteText(w)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if health != nil {
			if err := health(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "unhealthy: %s\n", escapeLabel(err.Error()))
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if health != nil && health() != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready")
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Listen starts serving on addr (host:port; port 0 picks one). Off
// loopback, auth must carry a credential and TLS (or say a proxy does TLS);
// see endpoint.Options.Check.
//
// /livez and /readyz need no credential: a kubelet's probes cannot carry
// one, and they reveal only ok or not.
func Listen(addr string, r *Registry, health func() error, auth endpoint.Options) (*Server, error) {
	auth.Public = append(auth.Public, Probes...)
	srv, err := endpoint.Listen(addr, auth, Handler(r, health))
	if err != nil {
		return nil, fmt.Errorf("metrics on %s: %w (pick another with --metrics ADDR, or --metrics none)", addr, err)
	}
	go srv.Serve() // when the listener dies, /metrics simply stops answering
	return &Server{srv: srv}, nil
}

// Addr is the address actually listened on.
func (s *Server) Addr() string { return s.srv.Addr() }

// URL is the endpoint's base URL (http or https).
func (s *Server) URL() string { return s.srv.URL() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Shutdown() }
