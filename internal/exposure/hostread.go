package exposure

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// HostPaths are where ReadHost looks; tests point them at fixtures.
type HostPaths struct {
	Proc    string // /proc
	Modules string // /lib/modules
	// Release overrides uname -r (tests; "" reads /proc/sys/kernel/osrelease).
	Release string
}

// DefaultHostPaths reads the running host.
var DefaultHostPaths = HostPaths{Proc: "/proc", Modules: "/lib/modules"}

// ReadHost gathers the host facts. Nothing it cannot read is an error: each
// fact stays unknown, and unknown facts never count as protection.
func ReadHost(p HostPaths) *Host {
	h := &Host{Sysctls: map[string]int{}}
	rel := p.Release
	if rel == "" {
		rel = readTrim(filepath.Join(p.Proc, "sys/kernel/osrelease"))
	}
	h.Kernel = ParseKernel(rel, readTrim(filepath.Join(p.Proc, "version")), readTrim(filepath.Join(p.Proc, "version_signature")))
	for _, name := range HardeningSysctls {
		file := filepath.Join(p.Proc, "sys", strings.ReplaceAll(name, ".", "/"))
		data, err := os.ReadFile(file)
		switch {
		case os.IsNotExist(err):
			continue
		case err != nil:
			h.Unreadable = append(h.Unreadable, name)
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			h.Unreadable = append(h.Unreadable, name)
			continue
		}
		h.Sysctls[name] = v
	}
	if f, err := os.Open(filepath.Join(p.Proc, "config.gz")); err == nil {
		if zr, err := gzip.NewReader(f); err == nil {
			h.Config = ParseConfig(io.LimitReader(zr, 16<<20))
		}
		f.Close()
	}
	if f, err := os.Open(filepath.Join(p.Proc, "modules")); err == nil {
		h.Loaded = ParseProcModules(f)
		h.ModulesKnown = true
		f.Close()
	}
	if rel != "" && !strings.Contains(rel, "/") {
		dir := filepath.Join(p.Modules, rel)
		h.Builtin = readModuleList(filepath.Join(dir, "modules.builtin"))
		h.Available = readModuleList(filepath.Join(dir, "modules.dep"))
	}
	if f, err := os.Open(filepath.Join(p.Proc, "self/mountinfo")); err == nil {
		h.CgroupV1 = CgroupV1FromMountinfo(f)
		f.Close()
	}
	return h
}

func readTrim(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, 4096))
	return strings.TrimSpace(string(data))
}

// ParseConfig reads a kernel .config: CONFIG_X=y or =m (other values and
// "is not set" lines are left out).
func ParseConfig(r io.Reader) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.HasPrefix(k, "CONFIG_") && (v == "y" || v == "m") {
			m[k] = v
		}
	}
	return m
}

// ParseProcModules reads /proc/modules' first column.
func ParseProcModules(r io.Reader) map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			m[f[0]] = true
		}
	}
	return m
}

// ModuleName turns a module path ("kernel/net/netfilter/nf_tables.ko.zst")
// into the name the kernel uses.
func ModuleName(p string) string {
	b := path.Base(p)
	if i := strings.Index(b, ".ko"); i >= 0 {
		b = b[:i]
	}
	return strings.ReplaceAll(b, "-", "_")
}

// ParseModuleList reads modules.builtin or modules.dep (a path per line,
// before any colon).
func ParseModuleList(r io.Reader) map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), ":")
		if line = strings.TrimSpace(line); line != "" {
			m[ModuleName(line)] = true
		}
	}
	return m
}

func readModuleList(file string) map[string]bool {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	return ParseModuleList(io.LimitReader(f, 64<<20))
}

// CgroupV1FromMountinfo is "yes" when a cgroup (v1) filesystem is mounted,
// "no" when only cgroup2 is, "" when neither is seen.
func CgroupV1FromMountinfo(r io.Reader) string {
	v2 := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		_, after, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		switch strings.Fields(after + " x")[0] {
		case "cgroup":
			return "yes"
		case "cgroup2":
			v2 = true
		}
	}
	if v2 {
		return "no"
	}
	return ""
}
