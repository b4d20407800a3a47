// Package apparmor turns a short YAML policy spec into an AppArmor profile.
//
// The spec (see Spec and docs/apparmor.md) names what a workload may read,
// write, append to, lock and execute, which socket kinds and capabilities it
// needs, and optional signal, ptrace and mount rules. ParseSpec reads it and
// reports unknown keys and bad values as "file:line:col: message".
// Generate writes a deterministic profile: the spec's grants, the
// abstractions/base include every dynamically linked program needs, and the
// protections of Docker's default profile (no writes to /proc and /sys
// outside the container's own, no /proc/sysrq-trigger or /proc/kcore, no
// /sys/firmware or /sys/kernel/security, no mount unless the spec asks,
// signals and ptrace only within the profile). It never emits a bare
// "file,", "capability," or "network," rule and refuses writes on "/**".
//
// The recorder's entry point is FromObserved: it takes the file accesses,
// sockets and capabilities a workload was seen to use (Observed) and returns
// the same Spec, plus a Derivation listing every glob that replaced observed
// paths, the paths abstractions/base already covers, and what the spec cannot
// express, so all of it can be shown to the user:
//
//	spec, how, err := apparmor.FromObserved("myapp", apparmor.Observed{
//		Read:    []string{"/etc/myapp/a.conf", "/etc/myapp/b.conf", "/etc/myapp/c.conf"},
//		Write:   []string{"/var/log/myapp/app.log"},
//		Create:  []string{"/tmp/myapp-8d2f"},
//		Exec:    []string{"/usr/bin/myapp"},
//		Sockets: []apparmor.Socket{{Domain: 2, Type: 1}}, // AF_INET, SOCK_STREAM
//		Capabilities: []string{"net_bind_service"},
//	})
//	// spec.Files.Read == ["/etc/myapp/*"], spec.Files.Write == ["/tmp/*", "/var/log/myapp/app.log"]
//	yaml, err := apparmor.EncodeSpec(spec) // show the user the spec
//	profile, err := apparmor.Generate(spec)
//
// Observed paths should be the ones the kernel resolved (symlinks followed);
// "/proc/<pid>" and "/proc/self" become @{PROC}/@{pid}, characters AppArmor
// would read as glob or quote become "?", a trailing "/" marks a directory.
// Socket takes the raw socket(2) domain, type and protocol numbers
// (SocketKind maps them to the spec's network names); CapabilityName maps a
// capability number to its name.
//
// Checking and loading a profile are the impure edges: Check runs
// "apparmor_parser -Q -K" (parse and compile, load nothing) and Load runs
// "apparmor_parser -r" after KernelStatus says the running kernel has
// AppArmor. The package does not talk to Docker and does not record
// workloads itself.
package apparmor
