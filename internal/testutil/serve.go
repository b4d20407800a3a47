package testutil

import (
	"net"
	"testing"
)

// Serve listens on network and address (loopback, or a socket path in the
// test's own directory) and runs handle on each connection, in a goroutine
// of its own, until the test ends and the listener is closed. HangUp as
// handle makes a peer that accepts and says nothing.
func Serve(t testing.TB, network, address string, handle func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln
}

// HangUp closes the connection at once.
func HangUp(c net.Conn) { c.Close() }
