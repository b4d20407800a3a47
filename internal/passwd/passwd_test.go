package passwd

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

const passwdFile = `root:x:0:0:root:/root:/bin/bash
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
short:x:40:40
badid:x:abc:0:::/bin/sh
toobig:x:4294967296:0:::/bin/sh
shadow-root:x:0:7:dup:/:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`

const groupFile = `root:x:0:
www-data:x:33:
staff:x:50:alice,bob
bad:x:
nogroup:x:65534:
`

func TestParseUsers(t *testing.T) {
	users, err := ParseUsers(strings.NewReader(passwdFile))
	if err != nil {
		t.Fatal(err)
	}
	want := []User{
		{"root", 0, 0, "/root", "/bin/bash"},
		{"daemon", 1, 1, "/usr/sbin", "/usr/sbin/nologin"},
		{"www-data", 33, 33, "/var/www", "/usr/sbin/nologin"},
		{"shadow-root", 0, 7, "/", "/bin/sh"},
		{"nobody", 65534, 65534, "/nonexistent", "/usr/sbin/nologin"},
	}
	if !reflect.DeepEqual(users, want) {
		t.Errorf("users:\n%+v\nwant\n%+v", users, want)
	}
	groups, err := ParseGroups(strings.NewReader(groupFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(groups, []Group{{"root", 0}, {"www-data", 33}, {"staff", 50}, {"nogroup", 65534}}) {
		t.Errorf("groups %+v", groups)
	}
}

func TestUserSpec(t *testing.T) {
	users, _ := ParseUsers(strings.NewReader(passwdFile))
	groups, _ := ParseGroups(strings.NewReader(groupFile))
	for _, tc := range []struct {
		spec     string
		uid, gid int64
		err      string
	}{
		{spec: "0", uid: 0, gid: 0},
		{spec: "root", uid: 0, gid: 0},
		{spec: "www-data", uid: 33, gid: 33},
		{spec: "33", uid: 33, gid: 33},
		{spec: "1234", uid: 1234, gid: 0},
		{spec: "1234:5678", uid: 1234, gid: 5678},
		{spec: "nobody:staff", uid: 65534, gid: 50},
		{spec: "65534:65534", uid: 65534, gid: 65534},
		{spec: "no-such-user", err: "no user no-such-user in /etc/passwd"},
		{spec: "1:no-such-group", err: "no group no-such-group in /etc/group"},
		{spec: "-1", err: "no user -1 in /etc/passwd"},
		{spec: "2147483648", err: "no user 2147483648 in /etc/passwd"},
		{spec: "evil\x1b[2J\u202e", err: `no user evil\x1b[2J\u202e in /etc/passwd`},
	} {
		uid, gid, err := UserSpec(tc.spec, users, groups)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: %d:%d %v, want error %q", tc.spec, uid, gid, err, tc.err)
			}
		case err != nil || uid != tc.uid || gid != tc.gid:
			t.Errorf("%q: %d:%d %v, want %d:%d", tc.spec, uid, gid, err, tc.uid, tc.gid)
		}
	}
}

func FuzzParseUsers(f *testing.F) {
	f.Add(passwdFile)
	f.Add(groupFile)
	f.Fuzz(func(t *testing.T, text string) {
		users, _ := ParseUsers(strings.NewReader(text))
		for _, u := range users {
			if u.UID < 0 || u.UID > 1<<32-1 || u.GID < 0 || strings.Contains(u.Name, ":") {
				t.Fatalf("bad user %+v from %q", u, text)
			}
		}
		groups, _ := ParseGroups(strings.NewReader(text))
		for _, g := range groups {
			if g.GID < 0 || strings.Contains(g.Name, ":") {
				t.Fatalf("bad group %+v from %q", g, text)
			}
		}
		UserSpec(text, users, groups)
	})
}

// A container controls its own /etc/passwd: a FIFO or a device there must
// not block or exhaust the agent, and an oversized file is refused.
func TestReadBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, bytes.Repeat([]byte("u:x:1:1::/:/bin/sh\n"), MaxFileBytes/19+1), 0o644)
	ok := filepath.Join(dir, "passwd")
	os.WriteFile(ok, []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	for _, p := range []string{fifo, "/dev/zero", big} {
		done := make(chan error, 1)
		go func() { _, err := ReadUsers(p); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: read, want an error", p)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: ReadUsers blocked", p)
		}
	}
	if u, err := ReadUsers(ok); err != nil || len(u) != 1 || u[0].Name != "root" {
		t.Errorf("regular file: %v %v", u, err)
	}
}
