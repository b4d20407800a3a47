package exposure

import (
	"strings"
	"testing"
)

func TestBuiltinTable(t *testing.T) {
	tb, err := Parse(TableFile, tableData)
	if err != nil {
		t.Fatal(err)
	}
	kernel, runc := 0, 0
	for _, b := range tb.Bugs {
		switch b.Component {
		case ComponentKernel:
			kernel++
		case ComponentRunc:
			runc++
		}
		if len(b.Sources) == 0 {
			t.Errorf("%s has no source", b.ID)
		}
	}
	if kernel < 25 {
		t.Errorf("%d kernel bugs, want at least 25", kernel)
	}
	for _, id := range []string{"CVE-2019-5736", "CVE-2024-21626"} {
		if !hasBug(tb, id) {
			t.Errorf("runc bug %s missing", id)
		}
	}
	for _, id := range []string{"CVE-2016-5195", "CVE-2022-0847", "CVE-2022-0185", "CVE-2022-0492", "CVE-2021-22555",
		"CVE-2024-1086", "CVE-2023-0386", "CVE-2022-0995", "CVE-2023-3269", "CVE-2021-41073"} {
		if !hasBug(tb, id) {
			t.Errorf("%s missing", id)
		}
	}
	if Builtin() == nil || len(Builtin().Bugs) != len(tb.Bugs) {
		t.Error("Builtin differs from the parsed table")
	}
}

func hasBug(tb *Table, id string) bool {
	for _, b := range tb.Bugs {
		if b.ID == id {
			return true
		}
	}
	return false
}

const goodEntry = `bugs:
  - id: CVE-2022-0847
    name: Dirty Pipe
    component: kernel
    impact: breakout
    summary: s
    introduced: "5.8"
    fixed: ["5.17", "5.16.11"]
    confidence: high
    needs:
      - syscall: splice
    sources: [https://example.invalid/x]
`

func TestParseErrors(t *testing.T) {
	if _, err := Parse("t.yaml", []byte(goodEntry)); err != nil {
		t.Fatalf("good entry: %v", err)
	}
	tests := []struct{ name, from, to, want string }{
		{"unknown key", "    confidence: high", "    confidence: high\n    fixd: x", "t.yaml:10:5: unknown key \"fixd\" in a bug (did you mean fixed?)"},
		{"bad version", `"5.16.11"`, `"5.16.x"`, "t.yaml:8:21: fixed: want MAJOR.MINOR or MAJOR.MINOR.PATCH"},
		{"stable after mainline", `"5.16.11"`, `"5.18.2"`, "t.yaml:8:12: fixed: stable 5.18.2 is not on a branch before mainline 5.17"},
		{"two mainlines", `"5.16.11"`, `"5.16"`, "t.yaml:8:21: fixed: two mainline releases"},
		{"no mainline", `["5.17", "5.16.11"]`, `["5.16.11"]`, "t.yaml:8:12: fixed: no mainline release"},
		{"unknown syscall", "syscall: splice", "syscall: splyce", "t.yaml:11:18: unknown syscall \"splyce\""},
		{"bad cap", "- syscall: splice", "- cap: NET_ADMN", "t.yaml:11:14: unknown capability \"NET_ADMN\""},
		{"two kinds", "- syscall: splice", "- syscall: splice\n        cap: SYS_ADMIN", "t.yaml:11:9: a need has exactly one of"},
		{"bad id", "CVE-2022-0847", "CVE-22-0847", "t.yaml:2:9: id \"CVE-22-0847\" is not a CVE id"},
		{"missing sources", "    sources: [https://example.invalid/x]\n", "", "t.yaml:2:5: missing sources"},
		{"not a url", "https://example.invalid/x", "example.invalid", "t.yaml:12:15: source \"example.invalid\" is not a URL"},
		{"bad confidence", "confidence: high", "confidence: sure", "t.yaml:9:17: confidence \"sure\": want one of high, medium, low"},
		{"introduced after fix", `introduced: "5.8"`, `introduced: "5.17"`, "t.yaml:7:17: introduced 5.17 is not before the fix in 5.17"},
		{"module without config", "- syscall: splice", "- module: nf_tables", "t.yaml:11:9: module nf_tables needs config:"},
		{"bad arg", "- syscall: splice", "- syscall: splice\n        args: [1, x]", "t.yaml:12:19: argument \"x\" is not an unsigned integer"},
		{"syntax", "    name: Dirty Pipe", "    name: [Dirty", "t.yaml: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(goodEntry, tt.from, tt.to, 1)
			if src == goodEntry {
				t.Fatalf("replacement %q did not apply", tt.from)
			}
			_, err := Parse("t.yaml", []byte(src))
			if err == nil {
				t.Fatalf("no error for\n%s", src)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want prefix %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	dup := goodEntry + strings.TrimPrefix(goodEntry, "bugs:\n")
	if _, err := Parse("t.yaml", []byte(dup)); err == nil || !strings.Contains(err.Error(), "t.yaml:13:5: CVE-2022-0847 is listed twice (first at line 2)") {
		t.Errorf("duplicate: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodEntry))
	f.Add(tableData)
	f.Add([]byte("bugs: [1, {id: x}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := Parse("f.yaml", data)
		if err == nil && tb == nil {
			t.Fatal("nil table without error")
		}
	})
}
