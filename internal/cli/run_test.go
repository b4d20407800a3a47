package cli

import "testing"

func TestParseRunUser(t *testing.T) {
	tests := []struct {
		in       string
		uid, gid int
		bad      bool
	}{
		{"0", 0, 0, false},
		{"root", 0, 0, false},
		{"65534:65534", 65534, 65534, false},
		{"nobody", 65534, 65534, false},
		{"nobody:root", 65534, 0, false},
		{"1234", 1234, 0, false},
		{"1234:5678", 1234, 5678, false},
		{"no-such-user-x", 0, 0, true},
		{"1:no-such-group-x", 0, 0, true},
		{"-1", 0, 0, true},
	}
	for _, tt := range tests {
		uid, gid, err := parseRunUser(tt.in)
		if (err != nil) != tt.bad || !tt.bad && (uid != tt.uid || gid != tt.gid) {
			t.Errorf("%q: %d:%d %v", tt.in, uid, gid, err)
		}
	}
}

func TestRunCaps(t *testing.T) {
	set, err := runCaps([]string{"NET_BIND_SERVICE"}, []string{"ALL"}, false)
	if err != nil || set != 1<<10 {
		t.Fatalf("%v %v", set, err)
	}
	if _, err := runCaps([]string{"CAP_NOPE"}, nil, false); err == nil {
		t.Fatal("unknown capability accepted")
	}
}
