package fields

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/event"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// Markdown renders the field reference.
func markdown() string {
	var b strings.Builder
	b.WriteString("# Field reference\n\n")
	b.WriteString("Generated from the field registry (`internal/fields`); `go test ./internal/fields -update` rewrites it.\n\n")
	b.WriteString("A field with no value for an event is *not present*: every comparison on it is false (so `not` of one is true), `exists` is false, and outputs print `<NA>` (JSON `null`).\n")
	b.WriteString("Fields marked *any* hold several values; a comparison holds when any value matches.\n\n")
	group := ""
	for _, f := range All() {
		g := f.Name[:strings.IndexByte(f.Name, '.')]
		if g != group {
			group = g
			b.WriteString("\n## " + g + ".*\n\n| field | type | argument | description |\n|---|---|---|---|\n")
		}
		arg := ""
		switch f.Arg {
		case OptionalIndex:
			arg = "optional `[N]`"
		case RequiredIndex:
			arg = "`[N]`"
		case RequiredKey:
			arg = "`[KEY]`"
		case OptionalKey:
			arg = "optional `[KEY]`"
		}
		kind := f.Kind.String()
		if f.Multi {
			kind += " (any)"
		}
		b.WriteString("| `" + f.Name + "` | " + kind + " | " + arg + " | " + strings.ReplaceAll(f.Desc, "|", "\\|") + " |\n")
	}
	b.WriteString("\n`evt.arg.NAME` and `evt.rawarg.NAME` accept any argument name of the event (see docs/events.md).\n")
	return b.String()
}

func TestFieldsDocUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "fields.md")
	got := markdown()
	testutil.Golden(t, path, []byte(got))
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name, arg string
		has       bool
		err       string
	}{
		{"proc.name", "", false, ""},
		{"proc.nmae", "", false, `unknown field "proc.nmae" (did you mean proc.name?)`},
		{"proc.aname", "2", true, ""},
		{"proc.aname", "x", true, `field proc.aname: index "x" is not a non-negative number`},
		{"proc.name", "1", true, "field proc.name takes no argument"},
		{"container.label", "", false, "field container.label needs an argument"},
		{"evt.arg.whatever", "", false, ""},
		{"zzz.qqq", "", false, `unknown field "zzz.qqq"`},
	} {
		_, err := Lookup(tc.name, tc.arg, tc.has)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, tc.err) || (tc.err == "" && got != "") {
			t.Errorf("Lookup(%s[%s]) = %q, want %q", tc.name, tc.arg, got, tc.err)
		}
	}
}

func TestCapNames(t *testing.T) {
	if got := CapNames(1<<21 | 1); got != "CAP_CHOWN CAP_SYS_ADMIN" {
		t.Errorf("CapNames = %q", got)
	}
	if got := CapNames(1 << 50); got != "CAP_50" {
		t.Errorf("CapNames(50) = %q", got)
	}
}

// Process fields whose spelling follows Falco's: proc.cwd ends with a
// slash (also for a replay file's cwd without one), user.loginname is the
// string <NA> when there is no login user.
func TestFalcoSpellings(t *testing.T) {
	str := func(name string, p *event.Process) (string, bool) {
		t.Helper()
		x, err := Lookup(name, "", false)
		if err != nil {
			t.Fatal(err)
		}
		return x.Str(&event.Event{Proc: p}, 0)
	}
	for _, tc := range []struct {
		field string
		p     *event.Process
		want  string
		ok    bool
	}{
		{"proc.cwd", &event.Process{Cwd: "/dev/shm/"}, "/dev/shm/", true},
		{"proc.cwd", &event.Process{Cwd: "/dev/shm"}, "/dev/shm/", true},
		{"proc.cwd", &event.Process{Cwd: "/"}, "/", true},
		{"proc.cwd", &event.Process{}, "", false},
		{"user.loginname", &event.Process{LoginUID: -1}, NA, true},
		{"user.loginname", &event.Process{LoginUID: 1000, LoginName: "alice"}, "alice", true},
	} {
		if got, ok := str(tc.field, tc.p); got != tc.want || ok != tc.ok {
			t.Errorf("%s of cwd %q login %q = %q, %v; want %q, %v", tc.field, tc.p.Cwd, tc.p.LoginName, got, ok, tc.want, tc.ok)
		}
	}
}
