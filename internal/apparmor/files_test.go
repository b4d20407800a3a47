package apparmor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadProfile(t *testing.T) {
	spec := filepath.Join("..", "..", "examples", "nginx-web.yaml")
	fromSpec, err := ReadProfile(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "examples", "nginx-web.profile"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fromSpec, want) {
		t.Error("profile generated from examples/nginx-web.yaml differs from examples/nginx-web.profile")
	}
	if got, err := ReadProfile(context.Background(), filepath.Join("..", "..", "examples", "nginx-web.profile")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("profile read as is: %v", err)
	}
	dir := t.TempDir()
	if _, err := ReadProfile(context.Background(), filepath.Join(dir, "missing.yml")); err == nil || !strings.HasPrefix(err.Error(), "read spec: ") {
		t.Errorf("missing spec: %v", err)
	}
	if _, err := ReadProfile(context.Background(), filepath.Join(dir, "missing.profile")); err == nil || !strings.HasPrefix(err.Error(), "read profile: ") {
		t.Errorf("missing profile: %v", err)
	}
	bad := filepath.Join(dir, "bad.YAML")
	os.WriteFile(bad, []byte("name: [\n"), 0o644)
	if _, err := ReadProfile(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "bad.YAML") {
		t.Errorf("bad spec: %v", err)
	}
}
