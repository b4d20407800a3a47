package apparmor

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseSpecErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "name: x\nfiles:\n  read: [/etc/x]\nnetwrok: [tcp]\n", `bad.yaml:4:1: unknown key "netwrok" in the spec (did you mean "network"?)`},
		{"unknown files key", "name: x\nfiles:\n  reed: [/etc/x]\n", `bad.yaml:3:3: unknown key "reed" in files (did you mean "read"?)`},
		{"missing name", "files:\n  read: [/etc/x]\n", "bad.yaml:1:1: missing name:"},
		{"empty name", "name:\n", "bad.yaml:1:6: name: must not be empty"},
		{"bad name", "name: \"a b\"\n", `bad.yaml:1:7: name: "a b" is not a profile name`},
		{"bad network", "name: x\nnetwork: [tcp, sctp]\n", `bad.yaml:2:16: network: unknown network kind "sctp"`},
		{"bad capability", "name: x\ncapabilities:\n  - net_bind_servce\n", `bad.yaml:3:5: capabilities: unknown capability "net_bind_servce" (did you mean "net_bind_service"?)`},
		{"write on root", "name: x\nfiles:\n  write: [\"/**\"]\n", `bad.yaml:3:11: files.write: "/**" is too broad`},
		{"relative path", "name: x\nfiles:\n  read: [etc/passwd]\n", `bad.yaml:3:10: files.read: "etc/passwd" is not absolute`},
		{"list not mapping", "name: x\nfiles: [/etc]\n", "bad.yaml:2:8: files must be a mapping, not a list"},
		{"scalar not list", "name: x\nnetwork: tcp\n", `bad.yaml:2:10: network must be a list, not the value "tcp"`},
		{"nested list", "name: x\nnetwork: [[tcp]]\n", "bad.yaml:2:11: network: each entry must be a single value, not a list"},
		{"duplicate key", "name: x\nname: y\n", `bad.yaml:2:1: duplicate key "name"`},
		{"syntax error", "name: x\nfiles: [\n", "bad.yaml:2:1: did not find expected node content"},
		{"two documents", "name: x\n---\nname: y\n", "bad.yaml:2:1: more than one YAML document"},
		{"empty file", "", "bad.yaml: empty spec"},
		{"not a mapping", "- a\n- b\n", "bad.yaml:1:1: the spec must be a mapping, not a list"},
		{"alias", "name: x\nfiles:\n  read: &r [/etc/x]\n  write: *r\n", "bad.yaml:4:10: files.write: YAML aliases are not allowed"},
		{"signal without peer", "name: x\nsignal:\n  - access: [send]\n", "bad.yaml:3:5: signal rule needs peer:"},
		{"signal bad access", "name: x\nsignal:\n  - access: [shout]\n    peer: y\n", `bad.yaml:3:14: signal.access: unknown value "shout"`},
		{"signal bad name", "name: x\nsignal:\n  - access: [send]\n    signals: [boom]\n    peer: y\n", `bad.yaml:4:15: signal.signals: unknown value "boom"`},
		{"ptrace bad peer", "name: x\nptrace:\n  - access: [read]\n    peer: \"a,b\"\n", `bad.yaml:4:11: ptrace.peer: "a,b" is not a profile name`},
		{"mount unknown key", "name: x\nmount:\n  - target: /mnt/\n    flags: [ro]\n", `bad.yaml:4:5: unknown key "flags" in mount rule`},
		{"mount without target", "name: x\nmount:\n  - fstype: tmpfs\n", "bad.yaml:3:5: mount rule needs target:"},
		{"mount bad option", "name: x\nmount:\n  - target: /mnt/\n    options: [sharedd]\n", `bad.yaml:4:15: mount.options: unknown value "sharedd" (did you mean "shared"?)`},
		{"abstraction traversal", "name: x\nabstractions: [../../etc/shadow]\n", `bad.yaml:2:16: abstractions: "../../etc/shadow" is not an abstraction name`},
		{"base abstraction", "name: x\nabstractions: [base]\n", "bad.yaml:2:16: abstractions: base is always included"},
		{"unknown variable", "name: x\nfiles:\n  read: [\"@{FOO}/x\"]\n", `bad.yaml:3:10: files.read: "@{FOO}/x" uses unknown variable @{FOO}`},
		{"unbalanced brace", "name: x\nfiles:\n  read: [\"/etc/{a,b\"]\n", `bad.yaml:3:10: files.read: "/etc/{a,b" has an unclosed {`},
		{"errors sorted, counted", "netwrok: []\nname: x\ncapabilities: [nope]\n", `bad.yaml:1:1: unknown key "netwrok" in the spec (did you mean "network"?) (want one of name, abstractions, files, network, capabilities, signal, ptrace, mount) (and 1 more error)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSpec("bad.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("ParseSpec accepted:\n%s", c.yaml)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not an ErrorList: %v", err, err)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error:\n got  %s\n want %s...", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestParseSpecCanonicalises(t *testing.T) {
	spec, err := ParseSpec("ok.yaml", []byte("name: x\nnetwork: [TCP, udp]\ncapabilities: [CAP_NET_RAW, SetUID]\nsignal:\n  - access: [Send]\n    signals: [SIGTERM]\n    peer: y\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Spec{
		Name:         "x",
		Network:      []string{"tcp", "udp"},
		Capabilities: []string{"net_raw", "setuid"},
		Signal:       []SignalRule{{Access: []string{"send"}, Signals: []string{"term"}, Peer: "y"}},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("got %+v\nwant %+v", spec, want)
	}
}

func TestEncodeSpecRoundTrip(t *testing.T) {
	in := &Spec{
		Name:         "rt",
		Abstractions: []string{"nameservice"},
		Files: Files{
			Read:  []string{"/etc/b/**", "/etc/a", "/etc/a", "/srv/with space/*"},
			Write: []string{"/var/log/x/*"},
			Exec:  []string{"/usr/bin/x"},
			Deny:  []string{"/etc/shadow"},
		},
		Network:      []string{"udp", "tcp"},
		Capabilities: []string{"chown"},
		Ptrace:       []PtraceRule{{Access: []string{"read"}, Peer: "y"}},
		Mount:        []MountRule{{FSType: "tmpfs", Source: "tmpfs", Target: "/mnt/t/", Options: []string{"ro"}}},
	}
	text, err := EncodeSpec(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseSpec("rt.yaml", text)
	if err != nil {
		t.Fatalf("re-parse:\n%s\n%v", text, err)
	}
	a, _ := Generate(in)
	b, _ := Generate(out)
	if string(a) != string(b) {
		t.Fatalf("profile changed across encode/parse:\n%s", text)
	}
	if !strings.Contains(string(text), "read: [/etc/a, /etc/b/**, /srv/with space/*]") {
		t.Errorf("encoded spec is not sorted/deduplicated flow lists:\n%s", text)
	}
}
