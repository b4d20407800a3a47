package endpoint

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9377": true, "127.0.0.2:80": true, "[::1]:80": true, "localhost:1": true, "LOCALHOST:1": true,
		"0.0.0.0:9377": false, ":9377": false, "[::]:80": false, "10.0.0.1:80": false, "example.com:80": false,
		"[::ffff:127.0.0.1]:80": true, "192.168.1.1:0": false,
	} {
		got, err := Loopback(addr)
		if err != nil || got != want {
			t.Errorf("Loopback(%q) = %v, %v; want %v", addr, got, err, want)
		}
	}
	if _, err := Loopback("127.0.0.1"); err == nil {
		t.Error("an address without a port was accepted")
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		addr string
		o    Options
		want string // "" means allowed
	}{
		{"127.0.0.1:1", Options{}, ""},
		{"0.0.0.0:1", Options{}, "without a credential"},
		{":1", Options{InsecureNoTLS: true}, "without a credential"},
		{"0.0.0.0:1", Options{TokenFile: "t"}, "without TLS"},
		{"0.0.0.0:1", Options{TokenFile: "t", InsecureNoTLS: true}, ""},
		{"0.0.0.0:1", Options{Token: "t", TLSCert: "c", TLSKey: "k"}, ""},
		{"0.0.0.0:1", Options{ClientCA: "ca", TLSCert: "c", TLSKey: "k"}, ""},
		{"0.0.0.0:1", Options{ClientCA: "ca", InsecureNoTLS: true}, "--client-ca needs"},
		{"127.0.0.1:1", Options{TLSCert: "c"}, "go together"},
		{"0.0.0.0:1", Options{TokenFile: "t", TLSCert: "c", TLSKey: "k", InsecureNoTLS: true}, "contradict"},
		{"0.0.0.0:1", Options{FlagPrefix: "metrics-", TokenEnv: "X"}, "--metrics-token-file (or $X)"},
	} {
		err := c.o.Check(c.addr)
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Check(%q, %+v) = %v; want %q", c.addr, c.o, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("message spans lines: %q", err)
		}
	}
}

// serve starts s and returns its URL as reached over 127.0.0.1.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	go s.Serve()
	t.Cleanup(func() { s.Shutdown() })
	_, port, _ := net.SplitHostPort(s.Addr())
	return s.Scheme + "://127.0.0.1:" + port
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "alerts") })

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func get(t *testing.T, c *http.Client, u, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const token = "s3cret-token-0123456789"

func TestRefusesWithoutCredential(t *testing.T) {
	if s, err := Listen("0.0.0.0:0", Options{}, hello); err == nil {
		s.Shutdown()
		t.Fatal("listened on 0.0.0.0 without a credential")
	}
	if _, err := Listen("0.0.0.0:0", Options{Token: "short", InsecureNoTLS: true}, hello); err == nil || !strings.Contains(err.Error(), "16 characters") {
		t.Fatalf("short token: %v", err)
	}
}

func TestBearerToken(t *testing.T) {
	s, err := Listen("0.0.0.0:0", Options{TokenFile: writeFile(t, "tok", token+"\n"), InsecureNoTLS: true}, hello)
	if err != nil {
		t.Fatal(err)
	}
	u := serve(t, s)
	for auth, want := range map[string]int{"": 401, "Bearer nope": 401, "Basic " + token: 401, "Bearer " + token + "x": 401, "Bearer " + token: 200} {
		if code, body := get(t, http.DefaultClient, u+"/", auth); code != want || (want == 200 && body != "alerts") {
			t.Errorf("Authorization %q: %d %q, want %d", auth, code, body, want)
		}
	}
}

// A browser without the token gets the login form, posts the token, and
// reads the page with the session cookie; a wrong token sets no cookie.
func TestLoginFlow(t *testing.T) {
	s, err := Listen("0.0.0.0:0", Options{Token: token, InsecureNoTLS: true, Login: true}, hello)
	if err != nil {
		t.Fatal(err)
	}
	u := serve(t, s)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	req, _ := http.NewRequest("GET", u+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), `action="/login"`) || strings.Contains(string(b), "<script") {
		t.Fatalf("login page: %d %s", resp.StatusCode, b)
	}
	resp, err = c.PostForm(u+"/login", url.Values{"token": {"wrong-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || len(jar.Cookies(resp.Request.URL)) != 0 {
		t.Fatalf("wrong token: %d, cookies %v", resp.StatusCode, jar.Cookies(resp.Request.URL))
	}
	resp, err = c.PostForm(u+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "alerts" {
		t.Fatalf("after login: %d %q", resp.StatusCode, b)
	}
	for _, ck := range jar.Cookies(resp.Request.URL) {
		if strings.Contains(ck.Value, token) {
			t.Fatal("the cookie carries the token")
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, usable both as
// a server pair and as a CA.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, cert tls.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// With TLS and client certificates, a client without a signed certificate
// cannot complete the handshake and one with it reads the page.
func TestTLSClientCertificates(t *testing.T) {
	dir := t.TempDir()
	srvCert, srvKey, srvPair := selfSigned(t, dir, "server")
	caCert, _, clientPair := selfSigned(t, dir, "client")
	s, err := Listen("0.0.0.0:0", Options{TLSCert: srvCert, TLSKey: srvKey, ClientCA: caCert}, hello)
	if err != nil {
		t.Fatal(err)
	}
	u := serve(t, s)
	if !strings.HasPrefix(u, "https://") {
		t.Fatalf("scheme %s", u)
	}
	roots := x509.NewCertPool()
	roots.AddCert(srvPair.Leaf)
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	if _, err := anon.Get(u + "/"); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	signed := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientPair}}}}
	if code, body := get(t, signed, u+"/", ""); code != 200 || body != "alerts" {
		t.Fatalf("with a client certificate: %d %q", code, body)
	}
}
