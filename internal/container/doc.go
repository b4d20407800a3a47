// Package container maps a process's cgroup path to the container it runs
// in (Docker, containerd/CRI, CRI-O, podman layouts) and that container's id
// to its metadata from the Docker Engine API, cached. It does not read
// /proc itself; callers pass the cgroup path.
package container
