// Package state turns kernel Records into rule-ready Events. It keeps the
// process table (bootstrapped from /proc, then maintained by exec, fork and
// exit records), each process's fd table (open, socket, connect, accept,
// dup and close), user and group names read from each container's own
// /etc/passwd and /etc/group, and the container of every process (cgroup
// path, then the container package for metadata). It is not safe for
// concurrent use: one goroutine feeds it records in order.
package state
