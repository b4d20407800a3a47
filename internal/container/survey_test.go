package container

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/kernel"
)

// doctor's view of the engines: a CRI endpoint named by crictl's variable
// answers with its runtime and version; one named with --cri-socket whose
// daemon is gone is a warning with the fix; what the runtime says is
// escaped.
func TestSurveyCRI(t *testing.T) {
	f := &fakeCRI{name: "cri-o"}
	sock := startFakeCRI(t, f)
	t.Setenv("CONTAINER_RUNTIME_ENDPOINT", sock)
	dead := filepath.Join(t.TempDir(), "dead.sock")
	l, err := net.Listen("unix", dead)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the socket file stays, nothing listens: connection refused
	got := map[string]EngineStatus{}
	for _, e := range Survey(context.Background(), []string{dead}) {
		if e.API == "cri" {
			got[strings.TrimPrefix(e.Host, "unix://")] = e
		}
	}
	if e := got[sock]; e.Runtime != RuntimeCRIO || !strings.Contains(e.Version, "cri-o 1.31.1 (CRI v1)") || e.Error != "" {
		t.Errorf("fake CRI-O: %+v", e)
	}
	if e := got[dead]; e.Error == "" || e.Version != "" {
		t.Errorf("dead socket: %+v", e)
	}
	checks := SurveyChecks([]EngineStatus{got[sock], got[dead], {API: "engine", Runtime: RuntimePodman, Host: "unix:///x\x1b[31m", Owner: 1000, Version: "5.0\u202e"}})
	if checks[0].Name != "engine-cri" || checks[0].Status != kernel.OK || !strings.Contains(checks[0].Detail, "cri-o (CRI) at unix://"+sock) {
		t.Errorf("check %+v", checks[0])
	}
	if checks[1].Status != kernel.Warn || checks[1].Fix == "" || !strings.Contains(checks[1].Detail, "not answering") {
		t.Errorf("check %+v", checks[1])
	}
	if c := checks[2]; c.Name != "engine-podman" || strings.ContainsAny(c.Detail, "\x1b\u202e") || !strings.Contains(c.Detail, "rootless podman of uid 1000") {
		t.Errorf("check %+v", c)
	}
	if c := SurveyChecks(nil); len(c) != 1 || c[0].Status != kernel.Warn {
		t.Errorf("no engine: %+v", c)
	}
}
