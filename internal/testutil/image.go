package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// BusyboxImage is the local test image BusyboxImageFor builds: a
// busybox-static rootfs imported with `docker import` (there is no registry).
const BusyboxImage = "palisade-test:busybox-2"

var imageMu sync.Mutex

// RequireBusyboxImage needs Docker and the busybox-static binary, and makes
// sure BusyboxImage exists (building it once), with every applet busybox
// lists linked under /bin and a root user in /etc/passwd.
func RequireBusyboxImage(t testing.TB) string {
	t.Helper()
	RequireDocker(t)
	imageMu.Lock()
	defer imageMu.Unlock()
	if exec.Command("docker", "image", "inspect", BusyboxImage).Run() == nil {
		return BusyboxImage
	}
	if out, err := importBusybox(t, exec.Command("docker", "import", "-c", `CMD ["/bin/sleep", "3600"]`, "-", BusyboxImage)); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	return BusyboxImage
}

// importBusybox builds BusyboxImage's root filesystem and runs imp (an
// import reading a tar stream on its stdin) on it, returning imp's output.
func importBusybox(t testing.TB, imp *exec.Cmd) ([]byte, error) {
	t.Helper()
	tar := exec.Command("tar", "-C", busyboxRootfs(t), "-c", ".")
	var err error
	if imp.Stdin, err = tar.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := tar.Start(); err != nil {
		t.Fatal(err)
	}
	defer tar.Wait()
	return imp.CombinedOutput()
}

// busyboxRootfs builds BusyboxImage's root filesystem in a temporary
// directory and returns it.
func busyboxRootfs(t testing.TB) string {
	t.Helper()
	bb := RequireTool(t, "busybox")
	root := t.TempDir()
	for _, d := range []string{"bin", "etc", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, app := range strings.Fields(string(list)) {
		if app == "busybox" || strings.ContainsAny(app, "/[") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", app)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:web:/var/www:/bin/false\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "group"), []byte("root:x:0:\nwww:x:33:\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "shadow"), []byte("root:*:19000:0:99999:7:::\n"), 0o600)
	return root
}

// RequirePodmanImage needs podman and busybox-static, and makes sure
// podman has BusyboxImage (as localhost/palisade-test:busybox-2), imported
// from the same root filesystem as Docker's.
func RequirePodmanImage(t testing.TB) string {
	t.Helper()
	RequireTool(t, "podman")
	imageMu.Lock()
	defer imageMu.Unlock()
	if Podman("image", "exists", BusyboxImage).Run() == nil {
		return BusyboxImage
	}
	if out, err := importBusybox(t, Podman("import", "-q", "-c", `CMD ["/bin/sleep", "3600"]`, "-", BusyboxImage)); err != nil {
		t.Fatalf("podman import: %v\n%s", err, out)
	}
	return BusyboxImage
}

// BashImage is BusyboxImage plus the host's /bin/bash and the libraries it
// links, for tests that need a real bash inside a container.
const BashImage = "palisade-test:bash-2"

// RequireBashImage needs Docker, busybox-static and the host's bash, and
// makes sure BashImage exists.
func RequireBashImage(t testing.TB) string {
	t.Helper()
	RequireBusyboxImage(t)
	imageMu.Lock()
	defer imageMu.Unlock()
	if exec.Command("docker", "image", "inspect", BashImage).Run() == nil {
		return BashImage
	}
	bash := RequireTool(t, "bash")
	out, err := exec.Command("ldd", bash).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", bash, err)
	}
	dir := t.TempDir()
	files := []string{bash}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "/") {
			files = append(files, f)
		}
	}
	var df strings.Builder
	df.WriteString("FROM " + BusyboxImage + "\n")
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f) + "." + strconv.Itoa(i)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
		dest := f
		if f == bash {
			dest = "/bin/bash"
		}
		df.WriteString("COPY " + name + " " + dest + "\n")
	}
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644)
	cmd := exec.Command("docker", "build", "-q", "-t", BashImage, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	return BashImage
}
