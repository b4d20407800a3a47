package endpoint

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// maxTokenFile bounds a token file; a token is a line, not a document.
const maxTokenFile = 4 << 10

// Options say how an endpoint proves who may read it.
type Options struct {
	// TokenFile holds the bearer token (surrounding white space is dropped).
	TokenFile string
	// Token is the bearer token itself, typically taken from an
	// environment variable; TokenFile wins when both are set.
	Token string
	// TLSCert and TLSKey name a PEM key pair to serve HTTPS with.
	TLSCert, TLSKey string
	// ClientCA names PEM CA certificates; clients must present a
	// certificate they signed. It needs TLSCert and TLSKey.
	ClientCA string
	// InsecureNoTLS serves plain HTTP off loopback, for a proxy in front
	// that terminates TLS.
	InsecureNoTLS bool
	// Login adds a form at /login that trades the token for a session
	// cookie, so a browser can open the page.
	Login bool
	// FlagPrefix and TokenEnv name the flags ("metrics-" for
	// --metrics-token-file) and the token's variable in messages.
	FlagPrefix, TokenEnv string
	// Public lists exact paths served without a credential: probes a
	// kubelet or load balancer sends, which cannot carry a secret. Their
	// answers must reveal nothing.
	Public []string
}

// Loopback reports whether addr (host:port) listens only on loopback. An
// empty host, 0.0.0.0 and :: listen everywhere; names other than
// localhost are not trusted to resolve to loopback.
func Loopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback(), nil
}

// Check returns why o may not guard an endpoint on addr, or nil. It reads
// no files; Listen does.
func (o Options) Check(addr string) error {
	lo, err := Loopback(addr)
	if err != nil {
		return err
	}
	f := func(name string) string { return "--" + o.FlagPrefix + name }
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return fmt.Errorf("%s and %s go together", f("tls-cert"), f("tls-key"))
	}
	tlsOn := o.TLSCert != ""
	if o.ClientCA != "" && !tlsOn {
		return fmt.Errorf("%s needs %s and %s", f("client-ca"), f("tls-cert"), f("tls-key"))
	}
	if o.InsecureNoTLS && tlsOn {
		return fmt.Errorf("%s and %s contradict each other", f("insecure-no-tls"), f("tls-cert"))
	}
	if lo {
		return nil
	}
	tokenHint := f("token-file")
	if o.TokenEnv != "" {
		tokenHint += " (or $" + o.TokenEnv + ")"
	}
	if o.TokenFile == "" && o.Token == "" && o.ClientCA == "" {
		return fmt.Errorf("refusing to listen on non-loopback %s without a credential: give %s or %s, and %s/%s or %s behind a TLS proxy",
			addr, tokenHint, f("client-ca"), f("tls-cert"), f("tls-key"), f("insecure-no-tls"))
	}
	if !tlsOn && !o.InsecureNoTLS {
		return fmt.Errorf("refusing to listen on non-loopback %s without TLS: give %s and %s, or %s behind a TLS proxy",
			addr, f("tls-cert"), f("tls-key"), f("insecure-no-tls"))
	}
	return nil
}

// readToken reads the token from o, or "" when none is set.
func (o Options) readToken() (string, error) {
	tok := o.Token
	if o.TokenFile != "" {
		f, err := os.Open(o.TokenFile)
		if err != nil {
			return "", fmt.Errorf("token: %w", err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
		if err != nil {
			return "", fmt.Errorf("token %s: %w", o.TokenFile, err)
		}
		if len(b) > maxTokenFile {
			return "", fmt.Errorf("token %s: longer than %d bytes", o.TokenFile, maxTokenFile)
		}
		tok = string(b)
	}
	tok = strings.TrimSpace(tok)
	if (o.TokenFile != "" || o.Token != "") && len(tok) < 16 {
		return "", errors.New("token: want at least 16 characters")
	}
	return tok, nil
}

// Server is a guarded HTTP server.
type Server struct {
	srv *http.Server
	ln  net.Listener
	// Scheme is "https" or "http".
	Scheme string
}

// Listen checks o against addr, then listens and wraps h so every request
// needs the credential. It does not serve yet; call Serve.
func Listen(addr string, o Options, h http.Handler) (*Server, error) {
	if err := o.Check(addr); err != nil {
		return nil, err
	}
	tok, err := o.readToken()
	if err != nil {
		return nil, err
	}
	var tcfg *tls.Config
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("tls key pair: %w", err)
		}
		tcfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if o.ClientCA != "" {
			pem, err := os.ReadFile(o.ClientCA)
			if err != nil {
				return nil, fmt.Errorf("client CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("client CA %s: no PEM certificate", o.ClientCA)
			}
			tcfg.ClientCAs, tcfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, Scheme: "http"}
	if tcfg != nil {
		ln = tls.NewListener(ln, tcfg)
		s.ln, s.Scheme = ln, "https"
	}
	if tok != "" {
		h = guard(tok, o.Login, tcfg != nil, o.Public, h)
	}
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 64 << 10}
	return s, nil
}

// Addr is the address actually listened on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the endpoint's base URL.
func (s *Server) URL() string { return s.Scheme + "://" + s.Addr() + "/" }

// Serve serves until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops the server, waiting up to two seconds for open requests.
func (s *Server) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// sessionCookie is the cookie a browser gets after the login form.
const sessionCookie = "palisade_session"

// session derives the cookie value from the token, so the cookie never
// carries the token itself.
func session(tok string) string {
	m := hmac.New(sha256.New, []byte(tok))
	m.Write([]byte("palisade dashboard session"))
	return hex.EncodeToString(m.Sum(nil))
}

// equal compares secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// guard lets a request through with "Authorization: Bearer TOKEN" or, when
// login is on, with the session cookie; others get 401.
func guard(tok string, login, secure bool, public []string, next http.Handler) http.Handler {
	sess := session(tok)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(public, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if login && r.URL.Path == "/login" {
			serveLogin(w, r, tok, sess, secure)
			return
		}
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(strings.TrimSpace(bearer), tok) {
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(sessionCookie); login && err == nil && equal(c.Value, sess) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="palisade"`)
		w.Header().Set("Cache-Control", "no-store")
		if login && r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
			loginPage(w, http.StatusUnauthorized, "")
			return
		}
		http.Error(w, "unauthorized: send Authorization: Bearer TOKEN", http.StatusUnauthorized)
	})
}

// serveLogin shows the form (GET) or checks the posted token (POST) and sets
// the session cookie.
func serveLogin(w http.ResponseWriter, r *http.Request, tok, sess string, secure bool) {
	if r.Method != http.MethodPost {
		loginPage(w, http.StatusOK, "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil || !equal(strings.TrimSpace(r.PostForm.Get("token")), tok) {
		loginPage(w, http.StatusUnauthorized, "wrong token")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess, Path: "/", HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// loginPage writes the login form; it runs no script.
func loginPage(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	var b bytes.Buffer
	b.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Palisade login</title></head><body>` +
		`<h1>Palisade</h1><form method="post" action="/login"><label>Token <input type="password" name="token" autocomplete="current-password"></label> <button type="submit">Log in</button></form>`)
	if msg != "" {
		b.WriteString(`<p class="err">` + msg + `</p>`) // msg is a fixed string of ours
	}
	b.WriteString("</body></html>\n")
	w.Write(b.Bytes())
}
