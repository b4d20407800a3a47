package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"
	"github.com/palisade-sec/palisade/internal/audit"
)

func TestParseDockerdArgs(t *testing.T) {
	tests := []struct {
		args   []string
		hosts  []string
		verify bool
	}{
		{[]string{"/usr/sbin/dockerd"}, nil, false},
		{[]string{"dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"}, []string{"fd://"}, false},
		{[]string{"dockerd", "-H", "unix:///var/run/docker.sock", "--host=tcp://0.0.0.0:2375"}, []string{"unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"}, false},
		{[]string{"dockerd", "-Htcp://0.0.0.0:2376", "--tlsverify", "--tlscacert=ca.pem"}, []string{"tcp://0.0.0.0:2376"}, true},
		{[]string{"dockerd", "-H=tcp://127.0.0.1:2375"}, []string{"tcp://127.0.0.1:2375"}, false},
	}
	for _, tt := range tests {
		hosts, verify := ParseDockerdArgs(tt.args)
		if !slices.Equal(hosts, tt.hosts) || verify != tt.verify {
			t.Errorf("%v: hosts %v verify %v", tt.args, hosts, verify)
		}
	}
}

func TestDaemonFromInfo(t *testing.T) {
	tests := []struct {
		name string
		info system.Info
		host Host
		want []string
	}{
		{"root daemon on the socket", system.Info{SecurityOptions: []string{"name=seccomp,profile=builtin", "name=cgroupns"}},
			Host{DockerHost: "unix:///var/run/docker.sock"}, []string{"daemon-not-rootless"}},
		{"rootless", system.Info{SecurityOptions: []string{"name=seccomp,profile=default", "name=rootless"}},
			Host{DockerHost: "unix:///run/user/1000/docker.sock"}, nil},
		{"userns-remap", system.Info{SecurityOptions: []string{"name=seccomp,profile=builtin", "name=userns"}},
			Host{DockerHost: "unix:///var/run/docker.sock"}, nil},
		{"seccomp unconfined", system.Info{SecurityOptions: []string{"name=seccomp,profile=unconfined", "name=rootless"}},
			Host{DockerHost: "unix:///var/run/docker.sock"}, []string{"daemon-default-seccomp-disabled"}},
		{"no seccomp at all", system.Info{SecurityOptions: []string{"name=rootless"}},
			Host{DockerHost: "unix:///var/run/docker.sock"}, []string{"daemon-default-seccomp-disabled"}},
		{"reached over plain tcp", system.Info{SecurityOptions: []string{"name=seccomp,profile=builtin", "name=rootless"}},
			Host{DockerHost: "tcp://10.0.0.5:2375"}, []string{"daemon-tcp-unauthenticated"}},
		{"reached over tls", system.Info{SecurityOptions: []string{"name=seccomp,profile=builtin", "name=rootless"}},
			Host{DockerHost: "tcp://10.0.0.5:2376", TLS: true}, nil},
		{"dockerd -H tcp", system.Info{SecurityOptions: []string{"name=seccomp,profile=builtin", "name=rootless"}},
			Host{DockerHost: "unix:///var/run/docker.sock", DockerdArgs: []string{"dockerd", "-H", "tcp://0.0.0.0:2375"}}, []string{"daemon-tcp-unauthenticated"}},
		{"daemon.json hosts with tlsverify", system.Info{SecurityOptions: []string{"name=seccomp,profile=builtin", "name=rootless"}},
			Host{DockerHost: "unix:///var/run/docker.sock", DaemonJSON: []byte(`{"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": true}`)}, nil},
		{"daemon.json hosts without", system.Info{SecurityOptions: []string{"name=seccomp,profile=builtin", "name=rootless"}},
			Host{DockerHost: "unix:///var/run/docker.sock", DaemonJSON: []byte(`{"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}`)}, []string{"daemon-tcp-unauthenticated"}},
	}
	for _, tt := range tests {
		d, err := DaemonFromInfo(&tt.info, tt.host)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, f := range audit.AuditDaemon(d) {
			got = append(got, f.Check)
			if !strings.HasPrefix(f.Target, "daemon ") {
				t.Errorf("%s: target %q", tt.name, f.Target)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v want %v", tt.name, got, tt.want)
		}
	}
	_, err := DaemonFromInfo(&system.Info{}, Host{DaemonJSON: []byte("{\n\"hosts\": [,]}")})
	if err == nil || !strings.HasPrefix(err.Error(), "/etc/docker/daemon.json:2:") {
		t.Errorf("bad daemon.json: %v", err)
	}
}

func TestApplyDaemonDefaults(t *testing.T) {
	d, err := DaemonFromInfo(&system.Info{SecurityOptions: []string{"name=seccomp,profile=builtin", "name=userns", "name=no-new-privileges"}}, Host{DockerHost: "unix:///var/run/docker.sock"})
	if err != nil {
		t.Fatal(err)
	}
	c := &audit.Container{Source: audit.SourceDocker, RunsAsRoot: "uid 0"}
	ApplyDaemonDefaults(c, d)
	if c.RunsAsRoot != "" || !c.NoNewPrivileges {
		t.Errorf("%+v", c)
	}
	c = &audit.Container{Source: audit.SourceDocker, RunsAsRoot: "uid 0", HostUserns: true}
	ApplyDaemonDefaults(c, d)
	if c.RunsAsRoot == "" {
		t.Error("--userns host container is still root on the host")
	}
}
