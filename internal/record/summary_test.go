package record

import (
	"bytes"
	"testing"
)

func TestWriteSummary(t *testing.T) {
	code := 3
	r := &Recording{
		Syscalls:    map[string]map[string]uint64{"x86_64": {"read": 4, "write": 1}, "x86": {"exit": 1}},
		Files:       Files{Read: []string{"/etc/hosts"}, Write: []string{"/tmp/a", "/tmp/b"}},
		Executables: []string{"/bin/sh"},
		Processes:   2,
		Sources:     []Source{{Ended: "exited", ExitCode: &code}},
		Lost:        5,
		Caps:        Capabilities{Reason: NotCollectedReason},
	}
	var b bytes.Buffer
	r.WriteSummary(&b, "out\x1b[2J.json")
	want := "palisade: recorded 2 processes, 2 x86_64 + 1 x86 distinct syscalls, 1 files read, 2 written, 1 executables, 0 connect destinations (exited) -> out\\x1b[2J.json\n" +
		"palisade: the command exited with status 3\n" +
		"palisade: warning: 5 kernel records were lost (ring buffer full; host-wide count): the recording may miss syscalls, record again on a quieter host\n" +
		"palisade: capabilities: partial: " + NotCollectedReason + "\n"
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant\n%s", b.String(), want)
	}
}
