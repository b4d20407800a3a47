package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// buildImage runs `make image` into a test-owned image name and returns
// NAME:TAG; the image's tags are removed when the test ends.
func buildImage(t *testing.T, version, commit string) string {
	t.Helper()
	testutil.RequireDocker(t)
	testutil.RequireTool(t, "make")
	name := fmt.Sprintf("palisade-test-image-%d", os.Getpid())
	dir := t.TempDir()
	cmd := exec.Command("make", "image", "IMAGE="+name, "VERSION="+version, "COMMIT="+commit,
		"DATE=2026-12-06T00:00:00Z", "BIN="+filepath.Join(dir, "palisade"), "IMAGE_CONTEXT="+filepath.Join(dir, "ctx"))
	cmd.Dir = testutil.RepoRoot(t)
	t.Cleanup(func() { exec.Command("docker", "rmi", name+":"+version, name+":latest").Run() })
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	return name + ":" + version
}

// The image is built from the static binary alone (FROM scratch: nothing
// is pulled), reports the version and commit it was built with, and holds
// no shell.
func TestImage(t *testing.T) {
	const version, commit = "9.8.7-test", "0123456789abcdef0123456789abcdef01234567"
	image := buildImage(t, version, commit)
	out, err := exec.Command("docker", "run", "--rm", "--network", "none", image, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("docker run %s version: %v", image, err)
	}
	var got struct{ Version, Commit, Date string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if got.Version != version || got.Commit != commit || got.Date != "2026-12-06T00:00:00Z" {
		t.Errorf("image reports %+v, want version %s commit %s", got, version, commit)
	}
	if err := exec.Command("docker", "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", image, "-c", "true").Run(); err == nil {
		t.Error("the image has a shell; it should hold the binary only")
	}
	insp, err := exec.Command("docker", "image", "inspect", "-f",
		`{{.Config.User}} {{index .Config.Labels "org.opencontainers.image.version"}} {{index .Config.Labels "org.opencontainers.image.revision"}} {{len .RootFS.Layers}}`, image).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("0:0 %s %s 2", version, commit); strings.TrimSpace(string(insp)) != want {
		t.Errorf("image config %q, want %q (user, version and revision labels, two layers: /etc and the binary)", strings.TrimSpace(string(insp)), want)
	}
}
