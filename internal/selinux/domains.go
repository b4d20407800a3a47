package selinux

// hostDomains are process types of the host's own software under the
// targeted and container-selinux policies. Each is unconfined, or allowed to
// act on the whole system, so a container running in one is not kept from
// host files, processes or devices.
var hostDomains = map[string]string{
	"spc_t":                "an unconfined domain for super-privileged containers",
	"unconfined_t":         "an unconfined domain (logged-in users in the targeted policy)",
	"unconfined_service_t": "an unconfined domain for services without a policy of their own",
	"container_runtime_t":  "the container engine's own domain, which may start privileged containers",
	"docker_t":             "the older name of container_runtime_t, the engine's own domain",
	"kernel_t":             "the kernel threads' domain, which is unconfined",
	"init_t":               "systemd's (PID 1) domain, which manages every service on the host",
	"initrc_t":             "the init scripts' domain, unconfined in the targeted policy",
	"sysadm_t":             "the administrator's login domain",
	"rpm_t":                "the package manager's domain, which may rewrite any system file",
}

// HostDomain says why an SELinux process type belongs to the host rather
// than to a container ("" when it does not).
func HostDomain(t string) string { return hostDomains[t] }

// ContainerTypes are the process types Pod Security Standards (baseline)
// allow in seLinuxOptions.type besides leaving it unset.
var ContainerTypes = []string{"container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

// IsContainerType reports whether t is one of ContainerTypes.
func IsContainerType(t string) bool {
	for _, c := range ContainerTypes {
		if t == c {
			return true
		}
	}
	return false
}
