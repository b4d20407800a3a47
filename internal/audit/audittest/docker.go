package audittest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// TestImage is the tiny local image live tests run: a busybox-static rootfs
// imported with `docker import` (no registry needed).
const TestImage = "palisade-audit-test:busybox"

var buildImage = sync.OnceValue(func() error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox (Debian busybox-static) not found: %w", err)
	}
	dir, err := os.MkdirTemp("", "palisade-rootfs")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, a := range []string{"sh", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			return err
		}
	}
	cmd := exec.Command("sh", "-c", "tar -C "+dir+" -c . | docker import -c 'CMD [\"/bin/sleep\", \"3600\"]' - "+TestImage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import: %v: %s", err, out)
	}
	return nil
})

// BuildTestImage builds TestImage once per test binary. Callers check
// testutil.RequireDocker and RequireTool(t, "busybox") first.
func BuildTestImage() error { return buildImage() }
