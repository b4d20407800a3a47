package passwd

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

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

// ReadUsers parses the passwd file at path.
func ReadUsers(path string) ([]User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseUsers(bytes.NewReader(data))
}

// ReadGroups parses the group file at path.
func ReadGroups(path string) ([]Group, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseGroups(bytes.NewReader(data))
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
