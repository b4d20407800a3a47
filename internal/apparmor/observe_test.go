package apparmor

import (
	"reflect"
	"strings"
	"testing"
)

func TestFromObserved(t *testing.T) {
	obs := Observed{
		Read: []string{
			"/etc/ld.so.cache", "/usr/lib/x86_64-linux-gnu/libc.so.6", // base covers these
			"/etc/nginx/nginx.conf", "/etc/nginx/mime.types", "/etc/nginx/conf.d/default.conf",
			"/etc/nginx/sites-enabled/a", "/etc/nginx/sites-enabled/b", "/etc/nginx/sites-enabled/c",
			"/etc/nginx/snippets/x", "/etc/nginx/snippets/y", "/etc/nginx/snippets/z",
			"/etc/passwd", "/etc/group",
			"/proc/1234/stat", "/proc/self/cgroup", "/proc/sys/kernel/ngroups_max",
			"/var/www/html/", "/var/www/html/index.html",
			"/var/log/nginx/access.log", // also written: folded into the write
		},
		Write:  []string{"/var/log/nginx/access.log", "/var/log/nginx/error.log", "/dev/null"},
		Create: []string{"/run/nginx.pid", "/tmp/nginx-Xy12ab", "/var/log/nginx/old.log"},
		Exec:   []string{"/usr/sbin/nginx"},
		Sockets: []Socket{
			{Domain: 2, Type: 1 | 0x80000}, // AF_INET, SOCK_STREAM|SOCK_CLOEXEC
			{Domain: 10, Type: 1},          // AF_INET6 stream
			{Domain: 1, Type: 2},           // AF_UNIX dgram
			{Domain: 38, Type: 5},          // AF_ALG: no spec kind
		},
		Capabilities: []string{"CAP_NET_BIND_SERVICE", "setuid", "setuid", "bogus"},
	}
	spec, d, err := FromObserved("nginx-rec", obs)
	if err != nil {
		t.Fatal(err)
	}
	want := &Spec{
		Name: "nginx-rec",
		Files: Files{
			Read: []string{
				"/etc/group",
				"/etc/nginx/**",
				"/etc/passwd",
				"/var/www/html/",
				"/var/www/html/index.html",
				"@{PROC}/@{pid}/cgroup",
				"@{PROC}/@{pid}/stat",
			},
			Write: []string{"/run/nginx.pid", "/tmp/*", "/var/log/nginx/*"},
			Exec:  []string{"/usr/sbin/nginx"},
		},
		Network:      []string{"tcp", "unix"},
		Capabilities: []string{"net_bind_service", "setuid"},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("spec:\n got  %+v\n want %+v", *spec, *want)
	}
	wantCollapses := []Collapse{
		{Access: "read", Glob: "/etc/nginx/**", Paths: []string{
			"/etc/nginx/conf.d/default.conf", "/etc/nginx/mime.types", "/etc/nginx/nginx.conf",
			"/etc/nginx/sites-enabled/a", "/etc/nginx/sites-enabled/b", "/etc/nginx/sites-enabled/c",
			"/etc/nginx/snippets/x", "/etc/nginx/snippets/y", "/etc/nginx/snippets/z",
		}},
		{Access: "write", Glob: "/tmp/*", Paths: []string{"/tmp/nginx-Xy12ab"}},
		{Access: "write", Glob: "/var/log/nginx/*", Paths: []string{"/var/log/nginx/access.log", "/var/log/nginx/error.log", "/var/log/nginx/old.log"}},
	}
	if !reflect.DeepEqual(d.Collapses, wantCollapses) {
		t.Errorf("collapses:\n got  %+v\n want %+v", d.Collapses, wantCollapses)
	}
	wantCovered := []string{"/dev/null", "/etc/ld.so.cache", "/usr/lib/x86_64-linux-gnu/libc.so.6", "@{PROC}/sys/kernel/ngroups_max"}
	if !reflect.DeepEqual(d.Covered, wantCovered) {
		t.Errorf("covered: got %v want %v", d.Covered, wantCovered)
	}
	if len(d.Skipped) != 2 || !strings.Contains(strings.Join(d.Skipped, "|"), "domain 38") || !strings.Contains(strings.Join(d.Skipped, "|"), `"bogus"`) {
		t.Errorf("skipped = %q", d.Skipped)
	}
	profile, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	checkWithParser(t, "nginx-rec", profile)
}

func TestObservedPathHostile(t *testing.T) {
	cases := []struct{ in, want, skip string }{
		{"/srv/a b", "/srv/a b", ""},
		{"/srv/x,\n  /** rw", "/srv/x,?  /?? rw", ""},
		{`/srv/"q"`, "/srv/?q?", ""},
		{"/srv/*glob*", "/srv/?glob?", ""},
		{"/srv/@{HOME}", "/srv/??HOME?", ""},
		{"/srv/\xff\xfe", "/srv/??", ""},
		{"/srv/../etc/shadow", "/etc/shadow", ""},
		{"/proc/42/task/43/stat", "@{PROC}/@{pid}/task/@{tid}/stat", ""},
		{"/proc/thread-self/attr/current", "@{PROC}/@{pid}/attr/current", ""},
		{"/var/www/", "/var/www/", ""},
		{"/", "/", ""},
		{"relative/x", "", "not absolute"},
		{"/*/x", "", "too broad"},
	}
	for _, c := range cases {
		got, why := observedPath(c.in)
		if c.skip != "" {
			if !strings.Contains(why, c.skip) {
				t.Errorf("observedPath(%q) = %q, %q; want skip containing %q", c.in, got, why, c.skip)
			}
			continue
		}
		if why != "" || got != c.want {
			t.Errorf("observedPath(%q) = %q, %q; want %q", c.in, got, why, c.want)
		}
	}
	// Whatever the names, the spec is valid and the parser takes the profile.
	var reads []string
	for _, c := range cases {
		reads = append(reads, c.in)
	}
	spec, _, err := FromObserved("hostile", Observed{Read: reads, Write: reads})
	if err != nil {
		t.Fatal(err)
	}
	profile, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	if m := broadRules.Find(profile); m != nil {
		t.Fatalf("broad rule %q", m)
	}
	checkWithParser(t, "hostile", profile)
}

func TestCollapseLimits(t *testing.T) {
	cases := []struct {
		name   string
		access string
		paths  []string
		want   []string
	}{
		{"two files stay", "read", []string{"/srv/app/a", "/srv/app/b"}, []string{"/srv/app/a", "/srv/app/b"}},
		{"three files glob", "read", []string{"/srv/app/a", "/srv/app/b", "/srv/app/c"}, []string{"/srv/app/*"}},
		{"top-level never globbed", "read", []string{"/etc/a", "/etc/b", "/etc/c", "/etc/d"}, []string{"/etc/a", "/etc/b", "/etc/c", "/etc/d"}},
		{"one subdir is not recursive", "read", []string{"/srv/app/x/a", "/srv/app/x/b", "/srv/app/x/c", "/srv/app/y"}, []string{"/srv/app/x/*", "/srv/app/y"}},
		{"recursive read at depth 2", "read", []string{"/srv/app/x/a", "/srv/app/x/b", "/srv/app/x/c", "/srv/app/y/a", "/srv/app/y/b", "/srv/app/y/c", "/srv/app/z"}, []string{"/srv/app/**"}},
		{"no recursive write at depth 2", "write", []string{"/var/lib/x/a", "/var/lib/x/b", "/var/lib/x/c", "/var/lib/y/a", "/var/lib/y/b", "/var/lib/y/c"}, []string{"/var/lib/x/*", "/var/lib/y/*"}},
		{"scratch write globbed", "write", []string{"/tmp/abc"}, []string{"/tmp/*"}},
		{"scratch read not globbed", "read", []string{"/tmp/abc"}, []string{"/tmp/abc"}},
		{"directories kept", "read", []string{"/srv/app/", "/srv/app/a", "/srv/app/b", "/srv/app/c"}, []string{"/srv/app/", "/srv/app/*"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set := map[string]bool{}
			for _, p := range c.paths {
				set[p] = true
			}
			got := collapsePaths(c.access, set, &Derivation{})
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v want %v", got, c.want)
			}
		})
	}
}

func TestSocketKind(t *testing.T) {
	cases := []struct {
		d, typ, p int
		want      string
		ok        bool
	}{
		{2, 1, 6, "tcp", true},
		{10, 1 | 0x800, 0, "tcp", true}, // SOCK_NONBLOCK
		{2, 2, 17, "udp", true},
		{2, 2, 1, "icmp", true},
		{10, 2, 58, "udp", true}, // ICMPv6 ping socket is an inet6 dgram socket
		{2, 3, 1, "raw", true},
		{1, 1, 0, "unix", true},
		{1, 5, 0, "unix", true},
		{16, 3, 0, "netlink", true},
		{17, 3, 768, "packet", true},
		{38, 5, 0, "", false},
		{2, 10, 0, "", false},
	}
	for _, c := range cases {
		got, ok := SocketKind(c.d, c.typ, c.p)
		if got != c.want || ok != c.ok {
			t.Errorf("SocketKind(%d, %#x, %d) = %q, %v; want %q, %v", c.d, c.typ, c.p, got, ok, c.want, c.ok)
		}
	}
}

func TestCapabilityName(t *testing.T) {
	for n, want := range map[int]string{0: "chown", 10: "net_bind_service", 21: "sys_admin", 40: "checkpoint_restore", 99: ""} {
		if got := CapabilityName(n); got != want {
			t.Errorf("CapabilityName(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWriteDerivation(t *testing.T) {
	d := &Derivation{
		Collapses: []Collapse{{Access: "write", Glob: "/tmp/*", Paths: []string{"/tmp/x\x1b[2J"}}},
		Covered:   []string{"/etc/ld.so.cache"},
		Skipped:   []string{`capability "bogus": unknown`},
	}
	var b strings.Builder
	if err := WriteDerivation(&b, d); err != nil {
		t.Fatal(err)
	}
	want := "write \"/tmp/*\" replaces 1 observed paths:\n  \"/tmp/x\\x1b[2J\"\nleft to abstractions/base (1 paths): \"/etc/ld.so.cache\"\nnot in the spec: capability \"bogus\": unknown\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
