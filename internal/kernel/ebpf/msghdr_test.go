//go:build linux && amd64

package ebpf

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sendmsg on an unconnected UDP socket names its destination only in the
// msghdr, and recvmsg learns the sender there: both reach Record.Addr.
func TestMsghdrAddresses(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := uint32(unix.Gettid())
	c := startCapture(t, Options{Syscalls: []int{unix.SYS_SENDMSG, unix.SYS_RECVMSG}})

	rx, port, sfd := udpPair(t)
	if err := unix.Bind(sfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(sfd)
	sport := sa.(*unix.SockaddrInet4).Port
	if err := unix.Sendmsg(sfd, []byte("hi"), nil, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}, 0); err != nil {
		t.Fatal(err)
	}
	// recvmsg on a raw descriptor of the receiver, from this thread.
	f, err := rx.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 16)
	if _, _, _, _, err := unix.Recvmsg(int(f.Fd()), buf, nil, 0); err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	got := c.expect(t, 5*time.Second, []string{"sendmsg", "recvmsg"},
		func(r *Record) bool { return r.TID == tid && isCall(r, "sendmsg") },
		func(r *Record) bool { return r.TID == tid && isCall(r, "recvmsg") },
	)
	if r := got[0]; r.Ret != 2 || r.Addr == nil || r.Addr.IP != lo || r.Addr.Port != uint16(port) {
		t.Errorf("sendmsg: ret %d addr %+v, want 2 and 127.0.0.1:%d", r.Ret, r.Addr, port)
	}
	if r := got[1]; r.Ret != 2 || r.Addr == nil || r.Addr.IP != lo || r.Addr.Port != uint16(sport) {
		t.Errorf("recvmsg: ret %d addr %+v, want 2 and the sender 127.0.0.1:%d", r.Ret, r.Addr, sport)
	}
}
