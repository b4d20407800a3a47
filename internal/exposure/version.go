package exposure

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is an upstream kernel version. Patch is -1 for a mainline release
// named by major.minor alone ("5.17").
type Version struct {
	Major, Minor, Patch int
}

func (v Version) String() string {
	if v.Patch < 0 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Branch is the major.minor the version belongs to.
func (v Version) Branch() Version { return Version{v.Major, v.Minor, -1} }

// Compare orders versions; a mainline name counts as its .0 release.
func (v Version) Compare(w Version) int {
	a := [3]int{v.Major, v.Minor, max(v.Patch, 0)}
	b := [3]int{w.Major, w.Minor, max(w.Patch, 0)}
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?$`)

// ParseVersion reads "5.17" or "5.16.11".
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("want MAJOR.MINOR or MAJOR.MINOR.PATCH, got %q", s)
	}
	v := Version{Patch: -1}
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		v.Patch, _ = strconv.Atoi(m[3])
	}
	if v.Major > 1000 || v.Minor > 1000 || v.Patch > 100000 {
		return Version{}, fmt.Errorf("version %q out of range", s)
	}
	return v, nil
}

// Kernel is the running kernel as far as its version strings tell.
type Kernel struct {
	// Release is uname -r.
	Release string `json:"release"`
	// Version is the upstream version the kernel is based on; Known is false
	// when no string could be read as one (never taken as safe).
	Version Version `json:"-"`
	Known   bool    `json:"known"`
	// Upstream is Version as text ("" when unknown).
	Upstream string `json:"upstream,omitempty"`
	// Vendor is the distribution that built the kernel ("" for an upstream
	// or self-built kernel): its kernels carry backported fixes, so a version
	// in an affected range needs the vendor's advisory.
	Vendor string `json:"vendor,omitempty"`
	// Evidence says what told the vendor or version apart.
	Evidence string `json:"evidence,omitempty"`
}

var (
	releaseRE   = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?`)
	debianRE    = regexp.MustCompile(`Debian (\d+\.\d+\.\d+)-`)
	signatureRE = regexp.MustCompile(`^Ubuntu \S+ (\d+\.\d+\.\d+)`)
)

// vendorMarks are release suffixes and /proc/version words that only
// distribution kernels carry.
var vendorMarks = []struct {
	re     *regexp.Regexp
	vendor string
}{
	{regexp.MustCompile(`\.el\d+`), "rhel"},
	{regexp.MustCompile(`\.fc\d+`), "fedora"},
	{regexp.MustCompile(`\.amzn\d+`), "amazon"},
	{regexp.MustCompile(`\.uek`), "oracle"},
	{regexp.MustCompile(`-(generic|lowlatency|azure|aws|gcp|gke|oracle|kvm|raspi)(-|$)`), "ubuntu"},
	{regexp.MustCompile(`-(amd64|arm64|cloud-amd64|cloud-arm64|rt-amd64|686-pae)$`), "debian"},
	{regexp.MustCompile(`-(default|azure)$`), "suse"},
}

// ParseKernel reads uname -r, /proc/version and Ubuntu's
// /proc/version_signature (either may be ""). Debian's release says 6.1.0
// for every 6.1 update; the upstream version is in /proc/version
// ("Debian 6.1.76-1"), Ubuntu's in the signature's last field.
func ParseKernel(release, procVersion, signature string) Kernel {
	k := Kernel{Release: release}
	if m := releaseRE.FindStringSubmatch(release); m != nil {
		k.Version, _ = ParseVersion(m[0])
		k.Known = true
		if k.Version.Patch < 0 {
			k.Version.Patch = 0
		}
	}
	switch {
	case signatureRE.MatchString(signature):
		m := signatureRE.FindStringSubmatch(signature)
		k.Version, _ = ParseVersion(m[1])
		k.Known, k.Vendor, k.Evidence = true, "ubuntu", "/proc/version_signature: "+strings.TrimSpace(signature)
	case debianRE.MatchString(procVersion):
		all := debianRE.FindAllStringSubmatch(procVersion, -1)
		m := all[len(all)-1] // the kernel's version comes last, after gcc's
		k.Version, _ = ParseVersion(m[1])
		k.Known, k.Vendor, k.Evidence = true, "debian", "/proc/version says Debian "+m[1]
	case strings.Contains(procVersion, "Ubuntu"):
		k.Vendor, k.Evidence = "ubuntu", "/proc/version names Ubuntu"
	case strings.Contains(procVersion, "Red Hat"):
		k.Vendor, k.Evidence = "rhel", "/proc/version names Red Hat"
	case strings.Contains(procVersion, "SUSE"):
		k.Vendor, k.Evidence = "suse", "/proc/version names SUSE"
	}
	if k.Vendor == "" {
		for _, m := range vendorMarks {
			if m.re.MatchString(release) {
				k.Vendor, k.Evidence = m.vendor, "release suffix "+m.re.FindString(release)
				break
			}
		}
	}
	if k.Known {
		k.Upstream = k.Version.String()
	}
	return k
}

// RuntimeVersion is a runc version as an engine reports it.
type RuntimeVersion struct {
	Raw   string `json:"raw"`
	Known bool   `json:"known"`
	// Parts are major, minor, patch; RC is the release candidate number
	// (0 for a release).
	Parts [3]int `json:"-"`
	RC    int    `json:"-"`
	// Vendor is set for a distribution package ("1.1.5+ds1-1+deb12u1"),
	// which may carry backported fixes.
	Vendor string `json:"vendor,omitempty"`
}

var runcRE = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(?:-?rc\.?(\d+))?`)

// ParseRuntimeVersion reads "1.1.12", "v1.1.12-0-g51d5e94", "1.0.0-rc93" or a
// Debian/Ubuntu package version; a bare commit id is unknown.
func ParseRuntimeVersion(s string) RuntimeVersion {
	r := RuntimeVersion{Raw: s}
	m := runcRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return r
	}
	for i := range 3 {
		r.Parts[i], _ = strconv.Atoi(m[i+1])
	}
	if m[4] != "" {
		r.RC, _ = strconv.Atoi(m[4])
	}
	r.Known = true
	switch {
	case strings.Contains(s, "deb") || strings.Contains(s, "+ds"):
		r.Vendor = "debian"
	case strings.Contains(s, "ubuntu"):
		r.Vendor = "ubuntu"
	case strings.Contains(s, ".el"):
		r.Vendor = "rhel"
	}
	return r
}

// Compare orders runtime versions; a release candidate comes before its
// release.
func (r RuntimeVersion) Compare(o RuntimeVersion) int {
	for i := range 3 {
		if r.Parts[i] != o.Parts[i] {
			if r.Parts[i] < o.Parts[i] {
				return -1
			}
			return 1
		}
	}
	rc := func(n int) int {
		if n == 0 {
			return 1 << 30
		}
		return n
	}
	switch a, b := rc(r.RC), rc(o.RC); {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
