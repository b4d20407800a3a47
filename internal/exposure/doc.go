// Package exposure answers, for one host and one container, which known
// kernel and runtime bugs that break out of containers it can reach.
//
// The table of bugs is data (data/kernel-cves.yaml, embedded, format in
// docs/kernel-exposure.md): each bug's affected upstream versions, what
// reaching it needs (syscalls with the argument values that matter,
// capabilities outright or inside a user namespace, a user namespace, a
// module or kernel option, cgroup v1, a device) and its sources. Evaluate is
// pure: it takes the table, the host's facts (kernel version and vendor,
// hardening sysctls, modules and kernel config) and a Subject (a seccomp
// filter as a Filter, capabilities, namespaces, devices) and returns one
// Result per bug: reachable, blocked (and by what), fixed, vendor-check or
// unknown, with fixes. Reading the host happens in ReadHost; the filter of a
// container comes from internal/seccomp's reference evaluator, or from
// probes run inside the container (palisade inspect).
//
// It does not know about vendor backports (a distribution kernel in an
// affected upstream range is "vendor-check", never passed or failed), LSM
// policies beyond what a caller puts in the Subject, or bugs not in the table.
package exposure
