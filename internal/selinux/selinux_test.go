package selinux

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseContext(t *testing.T) {
	cases := []struct {
		in   string
		want Context
		err  string
	}{
		{"system_u:system_r:container_t:s0:c1,c2\x00", Context{"system_u", "system_r", "container_t", "s0:c1,c2"}, ""},
		{"unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023\n", Context{"unconfined_u", "unconfined_r", "unconfined_t", "s0-s0:c0.c1023"}, ""},
		{"system_u:object_r:container_file_t", Context{"system_u", "object_r", "container_file_t", ""}, ""},
		{"docker-default (enforce)", Context{}, "want user:role:type"},
		{"a:b", Context{}, "want user:role:type"},
		{"a:b:c d:s0", Context{}, "not an SELinux identifier"},
		{"a:b:c:s0:x1", Context{}, "not an MLS/MCS level"},
		{"a:b:c:s0:c1.", Context{}, "not an MLS/MCS level"},
	}
	for _, c := range cases {
		got, err := ParseContext(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseContext(%q) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseContext(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if got.String() != strings.TrimRight(c.in, "\x00\n") {
			t.Errorf("String() = %q, want %q", got.String(), c.in)
		}
	}
}

func TestParseLabelOptions(t *testing.T) {
	cases := []struct {
		name string
		opts []string
		want LabelConfig
		err  string
	}{
		{"none", []string{"seccomp=unconfined", "no-new-privileges"}, LabelConfig{}, ""},
		{"disable", []string{"label=disable"}, LabelConfig{Disabled: true}, ""},
		{"old colon spelling", []string{"label:disable"}, LabelConfig{Disabled: true}, ""},
		{"spc_t", []string{"label=type:spc_t"}, LabelConfig{Type: "spc_t"}, ""},
		{"all keys", []string{"label=user:system_u", "label=role:system_r", "label=type:container_t", "label=level:s0:c100,c200", "label=filetype:container_file_t", "apparmor=unconfined"},
			LabelConfig{User: "system_u", Role: "system_r", Type: "container_t", Level: "s0:c100,c200", FileType: "container_file_t"}, ""},
		{"nested", []string{"label=nested"}, LabelConfig{Nested: true}, ""},
		{"unknown key", []string{"seccomp=x", "label=kind:x"}, LabelConfig{}, `security option 2 ("label=kind:x"): unknown label key "kind"`},
		{"bad level", []string{"label=level:high"}, LabelConfig{}, "not an MLS/MCS level"},
		{"bad type", []string{"label=type:a;b"}, LabelConfig{}, "not an SELinux identifier"},
		{"bare label", []string{"label=type"}, LabelConfig{}, "want label=disable"},
		{"disable plus type", []string{"label=disable", "label=type:spc_t"}, LabelConfig{}, "cannot be combined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseLabelOptions(c.opts)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	cases := []struct {
		name       string
		cfg        LabelConfig
		privileged bool
		confined   bool
		procType   string
		fileType   string
		note       string
	}{
		{"default", LabelConfig{}, false, true, "container_t", "container_file_t", ""},
		{"disable", LabelConfig{Disabled: true}, false, false, "spc_t", "(not relabeled)", "label=disable: SELinux separation is off"},
		{"privileged", LabelConfig{}, true, false, "spc_t", "(not relabeled)", "--privileged: SELinux separation is off"},
		{"spc_t", LabelConfig{Type: "spc_t"}, false, false, "spc_t", "container_file_t", "unconfined domain"},
		{"custom type", LabelConfig{Type: "container_init_t"}, false, true, "container_init_t", "container_file_t", "must exist in the loaded policy"},
		{"fixed level", LabelConfig{Level: "s0:c1,c2"}, false, true, "container_t", "container_file_t", "not separated from each other"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := c.cfg.Explain(c.privileged)
			if e.Confined != c.confined || e.ProcessType != c.procType || e.FileType != c.fileType {
				t.Fatalf("Explain = %+v", e)
			}
			if c.note == "" && len(e.Notes) != 0 {
				t.Fatalf("unexpected notes %q", e.Notes)
			}
			if c.note != "" && !strings.Contains(strings.Join(e.Notes, "|"), c.note) {
				t.Fatalf("notes %q lack %q", e.Notes, c.note)
			}
		})
	}
}

func TestReadStateFake(t *testing.T) {
	root := t.TempDir()
	st, err := readState(root, 0)
	if err != nil || st.Mode != "disabled" || st.Enabled() || st.Label != "" {
		t.Fatalf("no selinuxfs: %+v, %v", st, err)
	}
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys/fs/selinux/enforce", "1")
	write("proc/self/attr/current", "system_u:system_r:container_t:s0:c5,c9\x00")
	st, err = readState(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := State{Mode: "enforcing", Label: "system_u:system_r:container_t:s0:c5,c9",
		Context: &Context{"system_u", "system_r", "container_t", "s0:c5,c9"},
		Source:  "/sys/fs/selinux/enforce, /proc/self/attr/current"}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("got %+v want %+v", st, want)
	}
	write("sys/fs/selinux/enforce", "0")
	write("proc/42/attr/current", "u:r:t:s0")
	if st, err := readState(root, 42); err != nil || st.Mode != "permissive" || st.Context.Type != "t" {
		t.Fatalf("permissive pid 42: %+v %v", st, err)
	}
	write("sys/fs/selinux/enforce", "7")
	if _, err := readState(root, 0); err == nil {
		t.Fatal("enforce=7 accepted")
	}
}

// TestReadStateHost reads this machine's real state; the project's machines
// run without SELinux, so it must say disabled there, and a label otherwise.
func TestReadStateHost(t *testing.T) {
	st, err := ReadState(0)
	if err != nil {
		t.Fatal(err)
	}
	_, statErr := os.Stat("/sys/fs/selinux/enforce")
	if (statErr == nil) != st.Enabled() {
		t.Fatalf("state %+v disagrees with /sys/fs/selinux/enforce (stat: %v)", st, statErr)
	}
	if st.Enabled() && st.Context == nil {
		t.Fatalf("SELinux enabled but label %q did not parse", st.Label)
	}
}

func FuzzParseContext(f *testing.F) {
	for _, s := range []string{"system_u:system_r:container_t:s0:c1,c2", "a:b:c", "a:b:c:s0-s15:c0.c1023", "::::", "docker-default (enforce)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseContext(s)
		if err != nil {
			return
		}
		again, err := ParseContext(c.String())
		if err != nil || again != c {
			t.Fatalf("round trip %q -> %q: %+v %v", s, c.String(), again, err)
		}
	})
}

func FuzzParseLabelOptions(f *testing.F) {
	f.Add("label=disable", "label=type:spc_t")
	f.Add("label=level:s0:c1,c2", "label:user:system_u")
	f.Add("seccomp=unconfined", "label=filetype:x")
	f.Fuzz(func(t *testing.T, a, b string) {
		c, err := ParseLabelOptions([]string{a, b})
		if err != nil {
			return
		}
		e := c.Explain(false)
		if e.ProcessType == "" || e.FileType == "" {
			t.Fatalf("explain %+v gave empty types", c)
		}
		if c.Disabled && e.Confined {
			t.Fatal("label=disable reported confined")
		}
	})
}
