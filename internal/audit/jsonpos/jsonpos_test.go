package jsonpos

import "testing"

func TestBuild(t *testing.T) {
	data := []byte(`[
  {
    "Name": "/a",
    "HostConfig": {
      "Privileged": true,
      "Binds": [
        "/:/host",
        "/etc:/e"
      ]
    }
  },
  {"Name": "/b", "HostConfig": {"PidMode": "host"}}
]`)
	ix := Build(data)
	tests := map[string]int{
		"0":                       2,
		"0.Name":                  3,
		"0.HostConfig":            4,
		"0.HostConfig.Privileged": 5,
		"0.HostConfig.Binds":      6,
		"0.HostConfig.Binds.0":    7,
		"0.HostConfig.Binds.1":    8,
		"1":                       12,
		"1.HostConfig.PidMode":    12,
	}
	for p, want := range tests {
		if got := ix[p]; got != want {
			t.Errorf("%s: line %d, want %d", p, got, want)
		}
	}
	if l := ix.Line(Prefix(data, 0), "HostConfig.Nope", "HostConfig.Binds"); l != 6 {
		t.Errorf("Line fallback = %d", l)
	}
	if Prefix([]byte(` {"a":1}`), 0) != "" {
		t.Error("object prefix")
	}
}

func FuzzBuild(f *testing.F) {
	f.Add([]byte(`{"a": [1, {"b": [[]]}], "c": {}}`))
	f.Add([]byte(`[{"x": "y"}, 2, "s"]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for p, l := range Build(data) {
			if l < 1 {
				t.Fatalf("%s at line %d", p, l)
			}
		}
	})
}
