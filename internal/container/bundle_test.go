package container

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bundles in containerd's and CRI-O's layouts, with the annotations each
// writes (containerd's CRI plugin 1.7, CRI-O 1.31, nerdctl): a container
// gone from its engine keeps its name, pod and image; a path out of the
// root, Docker's namespace or an unknown id is "not found".
func TestBundles(t *testing.T) {
	root := t.TempDir()
	write := func(path, json string) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(json), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	id := strings.Repeat("ab", 32)
	write("ctrd/k8s.io/"+id+"/config.json", `{"ociVersion":"1.1.0","annotations":{"io.kubernetes.cri.container-type":"container",
		"io.kubernetes.cri.container-name":"web","io.kubernetes.cri.sandbox-name":"web-5d8f","io.kubernetes.cri.sandbox-namespace":"shop",
		"io.kubernetes.cri.sandbox-uid":"11111111-2222-3333-4444-555555555555","io.kubernetes.cri.image-name":"example.test/shop/web:2.1"}}`)
	write("ctrd/default/redis/config.json", `{"ociVersion":"1.1.0","annotations":{"nerdctl/name":"cache"}}`)
	write("ctrd/moby/"+id+"/config.json", `{"annotations":{}}`)
	write("crio/"+id+"/userdata/config.json", `{"ociVersion":"1.0.2","annotations":{"io.kubernetes.container.name":"api",
		"io.kubernetes.pod.name":"api-0","io.kubernetes.pod.namespace":"prod","io.kubernetes.pod.uid":"9e9e9e9e-0000-4000-8000-000000000001",
		"io.kubernetes.cri-o.ImageName":"example.test/api@sha256:`+strings.Repeat("cd", 32)+`",
		"io.kubernetes.cri-o.Labels":"{\"io.kubernetes.container.name\":\"api\",\"tier\":\"back\"}"}}`)
	ctx := context.Background()
	ctrd := NewBundles(filepath.Join(root, "ctrd"), RuntimeContainerd)
	for _, ref := range []Ref{{ID: id, Namespace: "k8s.io"}, {ID: id}} {
		c, err := ctrd.Lookup(ctx, ref)
		if err != nil || c.Name != "web" || c.K8sPodName != "web-5d8f" || c.K8sNamespace != "shop" ||
			c.K8sPodUID != "11111111-2222-3333-4444-555555555555" || c.ImageRepository != "example.test/shop/web" || c.ImageTag != "2.1" {
			t.Errorf("containerd CRI bundle %+v: %+v, %v", ref, c, err)
		}
	}
	if c, err := ctrd.Lookup(ctx, Ref{ID: "redis", Namespace: "default"}); err != nil || c.Name != "cache" || c.Labels["io.containerd.namespace"] != "default" {
		t.Errorf("nerdctl bundle: %+v, %v", c, err)
	}
	crio := NewBundles(filepath.Join(root, "crio"), RuntimeCRIO)
	if c, err := crio.Lookup(ctx, Ref{ID: id}); err != nil || c.Name != "api" || c.K8sPodName != "api-0" || c.K8sNamespace != "prod" ||
		c.ImageDigest != "sha256:"+strings.Repeat("cd", 32) || c.Labels["tier"] != "back" {
		t.Errorf("CRI-O bundle: %+v, %v", c, err)
	}
	for _, ref := range []Ref{{ID: id, Namespace: "moby"}, {ID: "../crio"}, {ID: "x", Namespace: ".."}, {ID: strings.Repeat("ef", 32)}, {ID: ""}} {
		if _, err := ctrd.Lookup(ctx, ref); !isNotFound(err) {
			t.Errorf("%+v: %v, want not found", ref, err)
		}
	}
	write("ctrd/k8s.io/bad/config.json", `{"annotations": [`)
	if _, err := ctrd.Lookup(ctx, Ref{ID: "bad", Namespace: "k8s.io"}); err == nil || isNotFound(err) || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("broken config.json: %v", err)
	}
}
