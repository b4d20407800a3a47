package cli

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// collect fails at start, with one line and exit 3, when NATS or the store
// cannot be reached; missing flags and a bad store URL are exit 2.
func TestCollectFailsAtStart(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"collect", "--nats", "nats://127.0.0.1:1"}, 2, "collect needs --nats URL and --store URL"},
		{[]string{"collect", "--nats", fmt.Sprintf("nats://127.0.0.1:%d", closed), "--store", "sqlite:" + filepath.Join(t.TempDir(), "a.db")}, 3, "collect: connect to NATS nats://127.0.0.1:"},
		{[]string{"collect", "--nats", "nats://127.0.0.1:1", "--store", "x", "--batch", "0"}, 2, "--batch 0"},
	} {
		code, _, errs := run(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, %q; want exit %d and one line with %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
