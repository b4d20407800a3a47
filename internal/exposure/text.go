package exposure

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/palisade-sec/palisade/internal/escape"
)

// Report is the exposure of one subject on one host, as doctor and inspect
// print it.
type Report struct {
	Host    *Host    `json:"host"`
	Subject string   `json:"subject"`
	Results []Result `json:"results"`
	Counts  Counts   `json:"counts"`
}

// Counts are how many bugs had each outcome.
type Counts map[string]int

// NewReport evaluates the table and counts the outcomes.
func NewReport(t *Table, h *Host, s *Subject) *Report {
	r := &Report{Host: h, Subject: s.Name, Results: Evaluate(t, h, s), Counts: Counts{}}
	for o := range outcomeOrder {
		r.Counts[o] = 0
	}
	for _, res := range r.Results {
		r.Counts[res.Outcome]++
	}
	return r
}

var outcomeOrder = map[string]int{Reachable: 0, VendorCheck: 1, UnknownResult: 2, Blocked: 3, Fixed: 4, NotAffected: 5}

// Sorted returns the results worst first (reachable, vendor-check,
// unknown, blocked, fixed, not affected), table order within each.
func (r *Report) Sorted() []Result {
	out := append([]Result(nil), r.Results...)
	sort.SliceStable(out, func(i, j int) bool { return outcomeOrder[out[i].Outcome] < outcomeOrder[out[j].Outcome] })
	return out
}

// Summary is one line: "0 reachable, 2 vendor-check, 0 unknown, 5 blocked, 24 fixed, 2 not affected".
func (c Counts) Summary() string {
	var parts []string
	for _, o := range []string{Reachable, VendorCheck, UnknownResult, Blocked, Fixed, NotAffected} {
		parts = append(parts, fmt.Sprintf("%d %s", c[o], o))
	}
	return strings.Join(parts, ", ")
}

// WriteHostText writes the host's facts: kernel, vendor, sysctls.
func WriteHostText(w io.Writer, h *Host) error {
	k := h.Kernel
	ver := "unknown (treated as affected)"
	if k.Known {
		ver = k.Upstream
	}
	vendor := "upstream or self-built"
	if k.Vendor != "" {
		vendor = k.Vendor + " (" + k.Evidence + "): backports possible"
	}
	fmt.Fprintf(w, "kernel %s: upstream version %s, %s\n", escape.Text(k.Release), ver, escape.Text(vendor))
	var sys []string
	for _, name := range HardeningSysctls {
		if v, ok := h.Sysctls[name]; ok {
			sys = append(sys, fmt.Sprintf("%s=%d", name, v))
		}
	}
	for _, name := range h.Unreadable {
		sys = append(sys, name+"=unreadable")
	}
	fmt.Fprintf(w, "hardening sysctls: %s\n", strings.Join(sys, " "))
	if h.Runc != nil {
		fmt.Fprintf(w, "runc (as the engine reports it): %s\n", escape.Text(h.Runc.Raw))
	}
	return nil
}

// WriteText writes one row per bug (worst first), what blocks or allows
// it, and the fix of each reachable or unverified bug.
func (r *Report) WriteText(w io.Writer) error {
	if err := WriteHostText(w, r.Host); err != nil {
		return err
	}
	fmt.Fprintf(w, "as %s:\n", escape.Text(r.Subject))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTCOME\tBUG\tNAME\tWHY")
	for _, res := range r.Sorted() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", res.Outcome, res.Bug.ID, escape.Text(res.Bug.Name), escape.Text(res.Why()))
		if res.Outcome == Reachable || res.Outcome == VendorCheck || res.Outcome == UnknownResult {
			for _, f := range res.Fixes {
				fmt.Fprintf(tw, "\t\t\tfix: %s\n", escape.Text(f))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s\n", r.Counts.Summary())
	return err
}

// Why is the one-line explanation of the outcome: the version comparison,
// then what blocks the bug or how it is reached.
func (r Result) Why() string {
	switch r.Outcome {
	case Blocked:
		return "blocked by " + strings.Join(r.BlockedBy, "; ") + " [" + r.Version + "]"
	case Fixed, NotAffected:
		reach := "code reachable"
		if !r.Reachable {
			reach = "code also blocked: " + strings.Join(r.BlockedBy, "; ")
		}
		return r.Version + "; " + reach
	}
	s := r.Version
	if len(r.Via) > 0 {
		s += "; via " + strings.Join(r.Via, "; ")
	}
	if len(r.Unknown) > 0 {
		s += "; assumed: " + strings.Join(r.Unknown, "; ")
	}
	return s
}
