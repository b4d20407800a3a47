// Package launch starts a command confined the way `docker run` confines a
// container's process: a capability set in all five sets, no_new_privs, a
// compiled seccomp filter, a user switch, an optional user namespace and an
// AppArmor exec transition.
//
// Go cannot apply these between fork and exec, so Start re-executes the
// palisade binary as a small shim (a hidden flag of `palisade run`); the shim
// reads its Config from an inherited pipe, applies everything on one locked
// OS thread in the order runc uses, and execve's the command, which then
// inherits exactly that state. The parent waits, relays signals and reports
// the command's exit status. Linux only.
package launch
