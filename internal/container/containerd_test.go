package container

import (
	"testing"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
)

// A CRI container as containerd's CRI plugin stores it in namespace k8s.io:
// kubelet's labels on the container record (the label names are
// kubelet's, in k8s.io/kubelet's types), the image by reference.
func TestFromContainerdCRI(t *testing.T) {
	in := &containersapi.Container{ID: hexID, Image: "registry.example:5000/shop/cart:2.1", Labels: map[string]string{
		"io.cri-containerd.kind":       "container",
		"io.kubernetes.container.name": "cart",
		"io.kubernetes.pod.name":       "cart-7d9f",
		"io.kubernetes.pod.namespace":  "shop",
		"io.kubernetes.pod.uid":        podUID,
	}}
	c := fromContainerd("k8s.io", in)
	if c.ID != hexID[:12] || c.Name != "cart" || c.Type != RuntimeContainerd || c.K8sPodName != "cart-7d9f" ||
		c.K8sNamespace != "shop" || c.K8sPodUID != podUID || c.ImageRepository != "registry.example:5000/shop/cart" || c.ImageTag != "2.1" {
		t.Errorf("CRI container = %+v", c)
	}
	if _, added := c.Labels["io.containerd.namespace"]; added {
		t.Errorf("a pod's container needs no namespace label: %v", c.Labels)
	}
	// nerdctl keeps the name the user gave in a label; ctr has only the id.
	nerd := fromContainerd("default", &containersapi.Container{ID: hexID, Labels: map[string]string{"nerdctl/name": "web"}})
	if nerd.Name != "web" || nerd.Labels["io.containerd.namespace"] != "default" {
		t.Errorf("nerdctl container = %+v", nerd)
	}
	if ctr := fromContainerd("default", &containersapi.Container{ID: "redis"}); ctr.Name != "redis" || ctr.ID != "redis" || ctr.ImageRepository != "" {
		t.Errorf("ctr container = %+v", ctr)
	}
}
