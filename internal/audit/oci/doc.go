// Package oci turns an OCI runtime bundle's config.json into an
// audit.Container. Everything is read from the spec itself: the capability
// sets, namespaces, mounts, devices, masked paths, seccomp and LSM labels.
package oci
