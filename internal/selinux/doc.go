// Package selinux reads SELinux state and explains Docker's SELinux label
// options.
//
// The pure part parses security contexts ("system_u:system_r:container_t:s0:c1,c2")
// and Docker's --security-opt label options (label=disable, label=type:spc_t,
// label=level:s0:c100,c200, user, role, filetype) into a LabelConfig whose
// Explain says what the container gets: by default processes run as
// container_t and their files are container_file_t, with a per-container MCS
// level separating containers from each other; spc_t and label=disable mean
// SELinux does not confine the container.
//
// The impure edge, ReadState, reads the kernel's view: whether selinuxfs
// (/sys/fs/selinux) is mounted, enforcing or permissive, and the process's
// own label from /proc/PID/attr/current (only when SELinux is the active
// LSM; with AppArmor that file holds an AppArmor label). It does not generate
// or load SELinux policy: Palisade cannot check generated policy with the
// SELinux toolchain in its tests, so it does not write any.
package selinux
