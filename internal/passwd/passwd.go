package passwd

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/palisade-sec/palisade/internal/escape"
)

// User is one line of an /etc/passwd-format file.
type User struct {
	Name        string
	UID, GID    int64
	Home, Shell string
}

// Group is one line of an /etc/group-format file.
type Group struct {
	Name string
	GID  int64
}

// ParseUsers reads name:password:uid:gid:gecos:home:shell lines in file
// order. Blank lines, comments, lines of fewer than seven fields and lines
// whose ids are not 32-bit numbers are skipped, as the C library skips them.
func ParseUsers(r io.Reader) ([]User, error) {
	var out []User
	err := eachLine(r, func(f []string) {
		if len(f) < 7 {
			return
		}
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if ok1 && ok2 {
			out = append(out, User{Name: f[0], UID: uid, GID: gid, Home: f[5], Shell: f[6]})
		}
	})
	return out, err
}

// ParseGroups reads name:password:gid:members lines in file order, skipping
// what ParseUsers skips (a group line needs three fields).
func ParseGroups(r io.Reader) ([]Group, error) {
	var out []Group
	err := eachLine(r, func(f []string) {
		if len(f) < 3 {
			return
		}
		if gid, ok := parseID(f[2]); ok {
			out = append(out, Group{Name: f[0], GID: gid})
		}
	})
	return out, err
}

// ReadUsers parses the passwd file at path (at most MaxFileBytes of a
// regular file).
func ReadUsers(path string) ([]User, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	return ParseUsers(bytes.NewReader(data))
}

// ReadGroups parses the group file at path (at most MaxFileBytes of a
// regular file).
func ReadGroups(path string) ([]Group, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	return ParseGroups(bytes.NewReader(data))
}

// MaxFileBytes bounds a passwd or group file: the agent reads them from
// inside containers (/proc/PID/root/etc/passwd), where whoever controls
// the container controls the file. Real ones are a few KiB.
const MaxFileBytes = 4 << 20

// readBounded reads a regular file of at most MaxFileBytes. A FIFO or a
// device planted at the path (a symlink to /dev/zero in a container's
// /etc) is refused before any read: it could block or never end.
func readBounded(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileBytes)
	}
	return data, nil
}

func eachLine(r io.Reader, fn func([]string)) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fn(strings.Split(line, ":"))
	}
	return sc.Err()
}

func parseID(s string) (int64, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return int64(n), err == nil
}

// UserSpec resolves USER[:GROUP] as docker run --user does: each part a
// number or a name looked up in users and groups (the first entry wins).
// Without GROUP the user's primary group is used, and 0 for a numeric user
// the passwd file does not list. Numbers are at most 2^31-1.
func UserSpec(spec string, users []User, groups []Group) (uid, gid int64, err error) {
	us, gs, hasGroup := strings.Cut(spec, ":")
	if n, err := strconv.ParseUint(us, 10, 31); err == nil {
		uid = int64(n)
		for _, u := range users {
			if u.UID == uid {
				gid = u.GID
				break
			}
		}
	} else {
		found := false
		for _, u := range users {
			if u.Name == us {
				uid, gid, found = u.UID, u.GID, true
				break
			}
		}
		if !found {
			return 0, 0, fmt.Errorf("no user %s in /etc/passwd", escape.Text(us))
		}
	}
	if !hasGroup {
		return uid, gid, nil
	}
	if n, err := strconv.ParseUint(gs, 10, 31); err == nil {
		return uid, int64(n), nil
	}
	for _, g := range groups {
		if g.Name == gs {
			return uid, g.GID, nil
		}
	}
	return 0, 0, fmt.Errorf("no group %s in /etc/group", escape.Text(gs))
}
