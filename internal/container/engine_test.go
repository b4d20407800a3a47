package container

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/palisade-sec/palisade/internal/kernel"

	"github.com/palisade-sec/palisade/internal/testutil"
)

func TestEngineChecks(t *testing.T) {
	tests := []struct {
		name string
		opts []string
		want map[string]kernel.Status
	}{
		{
			name: "default Debian daemon",
			opts: []string{"name=seccomp,profile=builtin", "name=cgroupns"},
			want: map[string]kernel.Status{"docker-seccomp": kernel.OK, "docker-userns": kernel.Warn, "docker-mac": kernel.Warn},
		},
		{
			name: "hardened daemon",
			opts: []string{"name=apparmor", "name=seccomp,profile=default", "name=userns"},
			want: map[string]kernel.Status{"docker-seccomp": kernel.OK, "docker-userns": kernel.OK, "docker-mac": kernel.OK},
		},
		{
			name: "rootless with selinux",
			opts: []string{"name=seccomp,profile=builtin", "name=rootless", "name=selinux"},
			want: map[string]kernel.Status{"docker-seccomp": kernel.OK, "docker-userns": kernel.OK, "docker-mac": kernel.OK},
		},
		{
			name: "seccomp unconfined",
			opts: []string{"name=seccomp,profile=unconfined"},
			want: map[string]kernel.Status{"docker-seccomp": kernel.Warn},
		},
		{
			name: "no options at all",
			opts: nil,
			want: map[string]kernel.Status{"docker-seccomp": kernel.Warn, "docker-userns": kernel.Warn, "docker-mac": kernel.Warn},
		},
		{
			name: "pre-1.25 bare names",
			opts: []string{"seccomp", "apparmor"},
			want: map[string]kernel.Status{"docker-seccomp": kernel.OK, "docker-mac": kernel.OK},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checks := EngineChecks("/var/run/docker.sock", Engine{ServerVersion: "28.0", API: "1.41", SecurityOptions: tc.opts, CgroupVersion: "1"})
			got := map[string]kernel.Check{}
			for _, c := range checks {
				got[c.Name] = c
			}
			if got["docker"].Status != kernel.OK || got["docker"].Detail != "Docker Engine 28.0 at /var/run/docker.sock (API 1.41, cgroup v1,  driver)" {
				t.Errorf("docker check %+v", got["docker"])
			}
			for name, st := range tc.want {
				c := got[name]
				if c.Status != st {
					t.Errorf("%s = %s (%s), want %s", name, c.Status, c.Detail, st)
				}
				if c.Status != kernel.OK && c.Fix == "" {
					t.Errorf("%s is %s without a fix", name, c.Status)
				}
			}
		})
	}
}

// fakeEngine serves /_ping with apiVersion and /vAPI/info on a unix socket
// and records the paths asked for.
func fakeEngine(t *testing.T, apiVersion string) (socket string, paths func() []string) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/_ping":
			w.Header().Set("Api-Version", apiVersion)
			w.Write([]byte("OK"))
		case "/v" + apiVersion + "/info":
			json.NewEncoder(w).Encode(map[string]any{
				"ServerVersion": "19.03.1", "SecurityOptions": []string{"name=seccomp,profile=default"},
				"CgroupVersion": "2", "CgroupDriver": "systemd",
			})
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

// A fake Engine on a unix socket: the client negotiates down to its API
// version and reads /info at that version.
func TestDaemonChecksFakeEngine(t *testing.T) {
	for _, api := range []string{"1.40", "1.47"} {
		sock, paths := fakeEngine(t, api)
		checks := DaemonChecks(context.Background(), sock)
		if len(checks) != 4 || checks[0].Status != kernel.OK || checks[0].Detail != "Docker Engine 19.03.1 at "+sock+" (API "+api+", cgroup v2, systemd driver)" {
			t.Fatalf("API %s: checks %+v (requests %v)", api, checks, paths())
		}
		if checks[1].Name != "docker-seccomp" || checks[1].Detail != "default seccomp profile: default" {
			t.Errorf("API %s: seccomp check %+v", api, checks[1])
		}
		if p := strings.Join(paths(), " "); !strings.Contains(p, "/v"+api+"/info") {
			t.Errorf("API %s: requests %s", api, p)
		}
	}
}

func TestDaemonChecksNoEngine(t *testing.T) {
	checks := DaemonChecks(context.Background(), filepath.Join(t.TempDir(), "absent.sock"))
	if len(checks) != 1 || checks[0].Status != kernel.Warn || !strings.Contains(checks[0].Detail, "socket missing") || !strings.Contains(checks[0].Fix, "DOCKER_HOST") {
		t.Errorf("missing socket: %+v", checks)
	}
	// A socket nobody serves HTTP on: an error, never a hang.
	sock := filepath.Join(t.TempDir(), "mute.sock")
	testutil.Serve(t, "unix", sock, testutil.HangUp)
	if checks := DaemonChecks(context.Background(), sock); len(checks) != 1 || checks[0].Status != kernel.Warn {
		t.Errorf("mute socket: %+v", checks)
	}
}

func TestDockerSocket(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
	if got := DockerSocket(); got != "/run/user/1000/docker.sock" {
		t.Errorf("DOCKER_HOST unix: %q", got)
	}
	t.Setenv("DOCKER_HOST", "tcp://10.0.0.1:2376")
	if got := DockerSocket(); got != "/var/run/docker.sock" {
		t.Errorf("DOCKER_HOST tcp: %q", got)
	}
}

func TestResolveWithoutEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "absent.sock"))
	if id, name, err := Resolve(context.Background(), hexID[:12]); err != nil || id != hexID[:12] || name != "" {
		t.Errorf("short id: %q %q %v", id, name, err)
	}
	if id, _, err := Resolve(context.Background(), hexID); err != nil || id != hexID {
		t.Errorf("full id: %q %v", id, err)
	}
	for _, arg := range []string{"web", hexID[:11], "ABCDEF0123456"} {
		if _, _, err := Resolve(context.Background(), arg); err == nil || !strings.HasPrefix(err.Error(), `container "`+arg+`": `) {
			t.Errorf("%q: %v", arg, err)
		}
	}
	if _, _, err := Resolve(context.Background(), "evil\x1b[2J\u202e"); err == nil || strings.ContainsAny(err.Error(), "\x1b\u202e") {
		t.Errorf("hostile name reached the message: %q", err)
	}
}
