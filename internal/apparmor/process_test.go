package apparmor

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestParseLabel(t *testing.T) {
	cases := []struct {
		in   string
		want Confinement
		ok   bool
	}{
		{"unconfined\n", Confinement{Profile: "unconfined"}, true},
		{"docker-default (enforce)\n", Confinement{Profile: "docker-default", Mode: "enforce"}, true},
		{"/usr/sbin/cupsd (complain)", Confinement{Profile: "/usr/sbin/cupsd", Mode: "complain"}, true},
		{"snap.x (y) (enforce)", Confinement{Profile: "snap.x (y)", Mode: "enforce"}, true},
		{"", Confinement{}, false},
	}
	for _, c := range cases {
		got, err := ParseLabel(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseLabel(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func TestReadConfinement(t *testing.T) {
	root := t.TempDir() + "/"
	if _, err := readConfinement(root, 0); !errors.Is(err, ErrNotInKernel) {
		t.Fatalf("no AppArmor: err = %v", err)
	}
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(root+p), 0o755)
		os.WriteFile(root+p, []byte(s), 0o644)
	}
	write("sys/module/apparmor/parameters/enabled", "Y\n")
	write("proc/self/attr/current", "old-style (complain)\n")
	if c, err := readConfinement(root, 0); err != nil || c.Profile != "old-style" || c.Mode != "complain" {
		t.Fatalf("attr/current: %+v %v", c, err)
	}
	write("proc/7/attr/apparmor/current", "nginx-web (enforce)\n")
	if c, err := readConfinement(root, 7); err != nil || c.Profile != "nginx-web" || c.Mode != "enforce" {
		t.Fatalf("attr/apparmor/current: %+v %v", c, err)
	}
	// On this project's machines there is no AppArmor: the real read says so.
	if ok, _ := KernelStatus(); !ok {
		if _, err := ReadConfinement(0); !errors.Is(err, ErrNotInKernel) {
			t.Fatalf("ReadConfinement on a kernel without AppArmor: %v", err)
		}
	}
}
