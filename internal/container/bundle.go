package container

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/palisade-sec/palisade/internal/event"
)

// maxBundleConfig bounds how much of a bundle's config.json is read.
const maxBundleConfig = 4 << 20

// Bundles reads the OCI bundles a runtime writes for its running
// containers: the annotations containerd's CRI, CRI-O and nerdctl put in
// config.json name the container, its pod and image. It is the last
// engine asked, for a container its engine no longer knows or cannot be
// asked about (down), read on first sight while the bundle is there.
type Bundles struct {
	// Root holds one bundle per container: <root>/<namespace>/<id>/config.json
	// (containerd's task state) or <root>/<id>/userdata/config.json (CRI-O).
	Root    string
	runtime string
	crio    bool
}

// BundleRoots are the bundle directories of containerd (its own and
// k3s') and CRI-O, with the runtime whose containers they hold.
var BundleRoots = []struct{ Root, Runtime string }{
	{"/run/containerd/io.containerd.runtime.v2.task", RuntimeContainerd},
	{"/run/k3s/containerd/io.containerd.runtime.v2.task", RuntimeContainerd},
	{"/run/containers/storage/overlay-containers", RuntimeCRIO},
}

// NewBundles reads bundles under root for containers of runtime
// (RuntimeCRIO: CRI-O's layout, else containerd's).
func NewBundles(root, runtime string) *Bundles {
	return &Bundles{Root: root, runtime: runtime, crio: runtime == RuntimeCRIO}
}

// Runtime implements Daemon.
func (b *Bundles) Runtime() string { return b.runtime }

// Owner implements Daemon.
func (b *Bundles) Owner() int { return -1 }

// Endpoint implements Daemon.
func (b *Bundles) Endpoint() string { return "OCI bundles at " + b.Root }

// Ping implements Daemon: the directory is there.
func (b *Bundles) Ping(context.Context) error {
	_, err := os.Stat(b.Root)
	return err
}

// Lookup implements Daemon: the bundle of ref's container, in ref's
// namespace or any (containerd), by id (CRI-O).
func (b *Bundles) Lookup(_ context.Context, ref Ref) (*event.Container, error) {
	if ref.ID == "" || strings.ContainsAny(ref.ID, "/\x00") || ref.ID == "." || ref.ID == ".." ||
		strings.ContainsAny(ref.Namespace, "/\x00") || ref.Namespace == ".." {
		return nil, cerrdefs.ErrNotFound.WithMessage("no bundle")
	}
	var paths []string
	switch {
	case b.crio:
		paths = []string{filepath.Join(b.Root, ref.ID, "userdata", "config.json")}
	case ref.Namespace != "":
		if dockerNamespaces[ref.Namespace] {
			return nil, cerrdefs.ErrNotFound.WithMessage("namespace " + ref.Namespace + " is Docker's")
		}
		paths = []string{filepath.Join(b.Root, ref.Namespace, ref.ID, "config.json")}
	default:
		nss, _ := os.ReadDir(b.Root)
		for _, ns := range nss {
			if !dockerNamespaces[ns.Name()] {
				paths = append(paths, filepath.Join(b.Root, ns.Name(), ref.ID, "config.json"))
			}
		}
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var cfg struct {
			Annotations map[string]string `json:"annotations"`
		}
		err = json.NewDecoder(io.LimitReader(f, maxBundleConfig)).Decode(&cfg)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		ns := filepath.Base(filepath.Dir(filepath.Dir(p)))
		if b.crio {
			ns = ""
		}
		return FromAnnotations(ref.ID, ns, cfg.Annotations), nil
	}
	return nil, cerrdefs.ErrNotFound.WithMessage("no bundle for " + ref.ID)
}

// FromAnnotations reads what a bundle's annotations say of its container:
// containerd's CRI (io.kubernetes.cri.*), CRI-O (io.kubernetes.pod.*,
// io.kubernetes.container.name, io.kubernetes.cri-o.*) and nerdctl
// (nerdctl/name). A container no annotation names is named by its id.
func FromAnnotations(id, namespace string, a map[string]string) *event.Container {
	c := &event.Container{ID: Ref{ID: id}.ShortID(), Name: id}
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := a[k]; v != "" {
				return v
			}
		}
		return ""
	}
	if n := first("io.kubernetes.cri.container-name", "io.kubernetes.container.name", "nerdctl/name"); n != "" {
		c.Name = n
	}
	c.K8sPodName = first("io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name")
	c.K8sNamespace = first("io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace")
	c.K8sPodUID = first("io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid")
	if img := first("io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName", "io.kubernetes.cri-o.Image"); img != "" && !strings.HasPrefix(img, "sha256:") {
		c.Image = img
		c.ImageRepository, c.ImageTag, c.ImageDigest = SplitImage(img)
	}
	if raw := a["io.kubernetes.cri-o.Labels"]; raw != "" && len(raw) < 1<<20 {
		var labels map[string]string
		if json.Unmarshal([]byte(raw), &labels) == nil {
			c.Labels = labels
		}
	}
	if namespace != "" && c.K8sNamespace == "" {
		c.Labels = withLabel(c.Labels, "io.containerd.namespace", namespace)
	}
	return c
}

// DiscoverBundles lists the bundle directories present on this host.
func DiscoverBundles() []Daemon {
	var out []Daemon
	for _, r := range BundleRoots {
		if fi, err := os.Stat(r.Root); err == nil && fi.IsDir() {
			out = append(out, NewBundles(r.Root, r.Runtime))
		}
	}
	return out
}
