// Package harden rewrites a compose file or Kubernetes manifest with the
// audit's mechanical fixes applied: privileged off, host namespaces removed,
// unconfined seccomp/AppArmor/SELinux/procMount options removed, every
// capability dropped and the dangerous ones no longer added,
// no-new-privileges (allowPrivilegeEscalation: false), a read-only root
// filesystem, RuntimeDefault seccomp and runAsNonRoot on Kubernetes, shared
// propagation removed. Fixes that need a value only the user knows (a uid, a
// memory limit) or that would remove a mount the workload relies on are not
// applied; a "# palisade:" comment with the fix is put on the key instead.
//
// It works on the yaml.v3 node tree, so comments and key order survive;
// indentation is re-rendered with two spaces.
package harden
