// Package passwd reads the /etc/passwd and /etc/group formats, from any
// root (a container's, through /proc/PID/root, as well as the host's), and
// resolves a USER[:GROUP] specification as docker run --user does.
//
// It does not ask NSS (LDAP, systemd-homed): the files are what a
// container's processes see, and what the kernel's ids mean inside it.
package passwd
