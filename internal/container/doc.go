// Package container maps a process's cgroup path to the container it runs
// in and the runtime that owns it (Docker, podman, containerd, CRI-O, CRI;
// rootless and Kubernetes layouts, the pod uid), and that container to its
// metadata from every engine on the host (the Docker Engine API of Docker
// and podman, containerd's gRPC API, the Kubernetes CRI of containerd and
// CRI-O for pods), cached and followed on the engines'
// event streams. It does not read /proc itself; callers pass the cgroup
// path. Controller (control.go) is its only writing side: pause, stop and
// isolate a container through its engine, for internal/respond.
package container
