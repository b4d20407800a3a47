// Package profile derives least-privilege settings from a recording
// (internal/record): a Docker seccomp profile (default deny with EPERM,
// the recorded arches and syscalls, argument filters where Docker's default
// profile has them, plus what the container runtime calls after the filter
// is installed), the capability set, an AppArmor profile (through
// internal/apparmor's generator), and the docker run flags, compose keys
// and Kubernetes securityContext that apply them.
//
// Everything here is pure: a Recording in, bytes out. Each generated
// seccomp profile is parsed, resolved and compiled by internal/seccomp
// before it is returned, so a profile that would not load is never
// written. Capabilities are the recording's needed set (checked and
// granted by the kernel, or proven by syscalls); a recording without
// capability checks (kernel before 6.15) gives a set marked partial.
package profile
