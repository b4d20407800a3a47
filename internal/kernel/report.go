package kernel

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/palisade-sec/palisade/internal/escape"
)

// Report is the outcome of a list of checks, as palisade doctor shows it.
type Report struct {
	OK       bool    `json:"ok"` // no check failed
	Failed   int     `json:"failed"`
	Warnings int     `json:"warnings"`
	Checks   []Check `json:"checks"`
}

// NewReport counts the failed checks and the warnings.
func NewReport(checks []Check) Report {
	r := Report{Checks: checks}
	for _, c := range checks {
		switch c.Status {
		case Fail:
			r.Failed++
		case Warn:
			r.Warnings++
		}
	}
	r.OK = r.Failed == 0
	return r
}

// WriteText writes the checks as a table, each problem's fix under it,
// and the verdict.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tDETAIL")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Status, escape.Text(c.Name), escape.Text(c.Detail))
		if c.Fix != "" && c.Status != OK {
			fmt.Fprintf(tw, "\t\tfix: %s\n", escape.Text(c.Fix))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case !r.OK:
		_, err := fmt.Fprintf(w, "\nlive capture cannot run here: %d failed, %d warnings\n", r.Failed, r.Warnings)
		return err
	case r.Warnings > 0:
		_, err := fmt.Fprintf(w, "\npalisade can run here (%d warnings)\n", r.Warnings)
		return err
	}
	_, err := fmt.Fprintln(w, "\npalisade can run here")
	return err
}
