package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/kernel"
	"github.com/palisade-sec/palisade/internal/testutil"
)

func TestDockerInfoChecks(t *testing.T) {
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
			checks := dockerInfoChecks("/var/run/docker.sock", "1.41", dockerInfo{ServerVersion: "28.0", SecurityOptions: tc.opts, CgroupVersion: "1"})
			got := map[string]kernel.Check{}
			for _, c := range checks {
				got[c.Name] = c
			}
			if got["docker"].Status != kernel.OK {
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

func TestNegotiateAPI(t *testing.T) {
	for server, want := range map[string]string{"1.47": "1.41", "1.41": "1.41", "1.40": "1.40", "1.9": "1.9", "": "1.41", "1.100": "1.41"} {
		if got := negotiateAPI(server); got != want {
			t.Errorf("negotiateAPI(%q) = %q, want %q", server, got, want)
		}
	}
}

// A fake Engine on a unix socket: doctor must negotiate down and read /info.
func TestFetchDockerInfoFakeEngine(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		switch r.URL.Path {
		case "/_ping":
			w.Header().Set("Api-Version", "1.40")
			w.Write([]byte("OK"))
		case "/v1.40/info":
			json.NewEncoder(w).Encode(map[string]any{
				"ServerVersion": "19.03.\x1b[31mevil", "SecurityOptions": []string{"name=seccomp,profile=default"},
				"CgroupVersion": "2", "CgroupDriver": "systemd",
			})
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	checks := dockerChecks(context.Background(), sock)
	if len(checks) != 4 || checks[0].Status != kernel.OK || !strings.Contains(checks[0].Detail, "API 1.40") {
		t.Fatalf("checks %+v (requests %v)", checks, paths)
	}
	var buf bytes.Buffer
	if err := newDoctorReport(checks).writeText(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "\x1b") || !strings.Contains(buf.String(), `\x1b[31mevil`) {
		t.Errorf("daemon text not escaped:\n%s", buf.String())
	}
}

func TestDockerChecksNoSocket(t *testing.T) {
	checks := dockerChecks(context.Background(), filepath.Join(t.TempDir(), "absent.sock"))
	if len(checks) != 1 || checks[0].Status != kernel.Warn || !strings.Contains(checks[0].Fix, "DOCKER_HOST") {
		t.Errorf("missing socket: %+v", checks)
	}
}

func TestDoctorReportFailExit(t *testing.T) {
	r := newDoctorReport([]kernel.Check{{Name: "btf", Status: kernel.Fail, Detail: "missing", Fix: "boot a BTF kernel"}, {Name: "tracefs", Status: kernel.Warn}})
	if r.OK || r.Failed != 1 || r.Warnings != 1 {
		t.Fatalf("report %+v", r)
	}
	var buf bytes.Buffer
	r.writeText(&buf)
	if !strings.Contains(buf.String(), "fix: boot a BTF kernel") || !strings.Contains(buf.String(), "cannot run here") {
		t.Errorf("text:\n%s", buf.String())
	}
}

// The real command on this host: root, eBPF and Docker are all there.
func TestDoctorCommand(t *testing.T) {
	testutil.RequireBPF(t)
	testutil.RequireDocker(t)
	code, stdout, stderr := run(t, "", "doctor", "-o", "json")
	if code != 0 {
		t.Fatalf("doctor exit %d\n%s\n%s", code, stdout, stderr)
	}
	var r doctorReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("doctor -o json: %v\n%s", err, stdout)
	}
	seen := map[string]kernel.Status{}
	for _, c := range r.Checks {
		seen[c.Name] = c.Status
	}
	for _, name := range []string{"kernel", "privileges", "btf", "ringbuf", "tracepoints", "lockdown", "cgroup", "capture", "docker"} {
		if seen[name] == kernel.Fail || seen[name] == "" {
			t.Errorf("check %s: %q", name, seen[name])
		}
	}
	for _, name := range []string{"tracefs", "docker-seccomp", "docker-userns", "docker-mac"} {
		if seen[name] == "" {
			t.Errorf("check %s missing", name)
		}
	}
	code, stdout, _ = run(t, "", "doctor")
	if code != 0 || !strings.Contains(stdout, "palisade can run here") || !strings.Contains(stdout, "capture") {
		t.Errorf("doctor text exit %d:\n%s", code, stdout)
	}
	if code, _, stderr := run(t, "", "doctor", "-o", "yaml"); code != 2 || !strings.Contains(stderr, "yaml") {
		t.Errorf("bad format: exit %d, %s", code, stderr)
	}
}
