package caps

import "testing"

func TestParseAndApply(t *testing.T) {
	tests := []struct {
		name       string
		add, drop  string
		privileged bool
		want       Set
	}{
		{"default", "", "", false, DockerDefault()},
		{"drop all", "", "ALL", false, 0},
		{"drop all add one", "NET_BIND_SERVICE", "ALL", false, 1 << 10},
		{"prefix and case", "cap_sys_admin", "", false, DockerDefault() | 1<<21},
		{"drop one", "", "CAP_CHOWN", false, DockerDefault() &^ 1},
		{"privileged", "", "ALL", true, All},
	}
	for _, tt := range tests {
		add, err := ParseList(tt.add)
		if err != nil {
			t.Fatal(err)
		}
		drop, err := ParseList(tt.drop)
		if err != nil {
			t.Fatal(err)
		}
		if got := Apply(DockerDefault(), add, drop, tt.privileged); got != tt.want {
			t.Errorf("%s: got %s want %s", tt.name, got, tt.want)
		}
	}
	if DockerDefault().Len() != 14 {
		t.Errorf("docker default has %d caps", DockerDefault().Len())
	}
	if _, err := ParseList("CAP_NOPE"); err == nil {
		t.Error("unknown capability accepted")
	}
	if n, ok := Number("bpf"); !ok || n != 39 {
		t.Errorf("bpf = %d", n)
	}
	if All.Len() != Last+1 {
		t.Errorf("All has %d", All.Len())
	}
}
