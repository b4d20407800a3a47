// Package endpoint decides whether an HTTP endpoint may listen where it is
// asked to, and guards it when it leaves loopback. A loopback address needs
// nothing; any other address needs a credential (a bearer token, client
// certificates, or both) and either TLS with a named key pair or an explicit
// statement that a proxy in front terminates TLS. Tokens are compared in
// constant time.
//
// It does not serve content of its own beyond a login form for browsers;
// the dashboard and the metrics endpoint hand it their handlers.
package endpoint
