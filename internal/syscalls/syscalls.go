package syscalls

import (
	"sort"
	"sync"
)

// Syscall is one entry of an architecture's table.
type Syscall struct {
	Name string
	Nr   int
}

type index struct {
	byName map[string]int
	slot   map[string]int
	byNr   map[int]string
	list   []Syscall
	names  []string
}

// indexes builds each architecture's lookup maps on first use: a process
// usually needs one or two of the five tables.
var indexes = func() map[string]func() *index {
	out := make(map[string]func() *index, len(tables))
	for arch, list := range tables {
		out[arch] = sync.OnceValue(func() *index {
			ix := &index{byName: make(map[string]int, len(list)), slot: make(map[string]int, len(list)), byNr: make(map[int]string, len(list)), list: list}
			for i, s := range list {
				ix.slot[s.Name] = i
				ix.byName[s.Name] = s.Nr
				ix.byNr[s.Nr] = s.Name
				ix.names = append(ix.names, s.Name)
			}
			return ix
		})
	}
	return out
}()

func lookup(arch string) *index {
	if ix, ok := indexes[arch]; ok {
		return ix()
	}
	c, ok := Canonical(arch)
	if !ok {
		return nil
	}
	return indexes[c]()
}

// Number returns the syscall number of name on arch.
func Number(arch, name string) (int, bool) {
	ix := lookup(arch)
	if ix == nil {
		return 0, false
	}
	nr, ok := ix.byName[name]
	return nr, ok
}

// Name returns the name of syscall number nr on arch.
func Name(arch string, nr int) (string, bool) {
	ix := lookup(arch)
	if ix == nil {
		return "", false
	}
	n, ok := ix.byNr[nr]
	return n, ok
}

// List returns arch's table ordered by number. The caller must not modify it.
func List(arch string) []Syscall {
	if ix := lookup(arch); ix != nil {
		return ix.list
	}
	return nil
}

// Names returns arch's syscall names ordered by number. The caller must not
// modify it.
func Names(arch string) []string {
	if ix := lookup(arch); ix != nil {
		return ix.names
	}
	return nil
}

// Known reports whether name is a syscall on at least one architecture.
func Known(name string) bool {
	if ix := lookup(Native()); ix != nil {
		if _, ok := ix.byName[name]; ok {
			return true
		}
	}
	// Other architectures are scanned rather than indexed, so that asking
	// does not build their tables.
	for _, list := range tables {
		for _, s := range list {
			if s.Name == name {
				return true
			}
		}
	}
	return false
}

// AllNames returns every name known on any architecture, sorted.
func AllNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range tables {
		for _, s := range list {
			n := s.Name
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

var otherArch = func() map[string]bool {
	m := make(map[string]bool, len(otherArchNames))
	for _, n := range otherArchNames {
		m[n] = true
	}
	return m
}()

// KnownElsewhere reports whether name is a syscall only on an architecture
// without a table here (mips, ppc, s390x, riscv64, ...).
func KnownElsewhere(name string) bool { return otherArch[name] }

// Index returns the position of name in List(arch), so callers can keep
// per-syscall data in a slice ordered by number.
func Index(arch, name string) (int, bool) {
	ix := lookup(arch)
	if ix == nil {
		return 0, false
	}
	i, ok := ix.slot[name]
	return i, ok
}

// Slots returns the name -> Index map of arch for callers that look up many
// names (the seccomp compiler). The caller must not modify it.
func Slots(arch string) map[string]int {
	if ix := lookup(arch); ix != nil {
		return ix.slot
	}
	return nil
}
