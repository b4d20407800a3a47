package seccomp

import (
	"fmt"

	"github.com/palisade-sec/palisade/internal/syscalls"
)

// Stats describes a compiled program's size and speed.
type Stats struct {
	Instructions int `json:"instructions"`
	// AvgExecutedAllowed and MaxExecutedAllowed count the instructions the
	// filter runs for each syscall of the host arch that it allows with
	// all-zero arguments.
	AvgExecutedAllowed float64 `json:"avg_executed_allowed"`
	MaxExecutedAllowed int     `json:"max_executed_allowed"`
	Allowed            int     `json:"allowed_native_syscalls"`
	MaxExecutedName    string  `json:"max_executed_syscall"`
}

// Measure runs p over every syscall of the host arch with zero arguments.
func Measure(p *Program) (Stats, error) {
	st := Stats{Instructions: p.Len()}
	host := p.Arches[0]
	token, _ := syscalls.AuditArch(host)
	total := 0
	for _, s := range syscalls.List(host) {
		act, n, err := Run(p.Raw, SeccompData{Nr: uint32(s.Nr), Arch: token})
		if err != nil {
			return st, fmt.Errorf("run filter for %s: %w", s.Name, err)
		}
		if !act.Allows() {
			continue
		}
		st.Allowed++
		total += n
		if n > st.MaxExecutedAllowed {
			st.MaxExecutedAllowed, st.MaxExecutedName = n, s.Name
		}
	}
	if st.Allowed > 0 {
		st.AvgExecutedAllowed = float64(total) / float64(st.Allowed)
	}
	return st, nil
}
