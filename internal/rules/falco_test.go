package rules

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// Falco's published counts for its three rule files (see
// ../shared/falco-rules/README.md).
func TestLoadFalcoRuleFiles(t *testing.T) {
	dir := testutil.FalcoRulesDir(t)
	stable := filepath.Join(dir, "falco_rules.yaml")
	incubating := filepath.Join(dir, "falco-incubating_rules.yaml")
	sandbox := filepath.Join(dir, "falco-sandbox_rules.yaml")
	for _, tc := range []struct {
		name  string
		files []string
		want  Counts
	}{
		{"stable", []string{stable}, Counts{Rules: 25, EnabledRules: 25, Macros: 87, Lists: 49}},
		{"incubating", []string{incubating}, Counts{Rules: 31, EnabledRules: 31, Macros: 82, Lists: 54}},
		{"sandbox", []string{sandbox}, Counts{Rules: 37, EnabledRules: 25, Macros: 183, Lists: 60}},
		{"all", []string{stable, incubating, sandbox}, Counts{Rules: 93, EnabledRules: 81, Macros: 315, Lists: 118}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := ReadFiles(context.Background(), tc.files...)
			if err != nil {
				t.Fatal(err)
			}
			rs, res := Load(files, Options{})
			for _, e := range res.Errors {
				t.Errorf("error: %v", e)
			}
			if rs == nil {
				t.Fatal("no ruleset")
			}
			if got := rs.Counts(); got != tc.want {
				t.Errorf("counts = %+v, want %+v", got, tc.want)
			}
		})
	}
}
