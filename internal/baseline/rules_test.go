package baseline_test

import (
	"slices"
	"sort"
	"testing"

	"github.com/palisade-sec/palisade/internal/baseline"
	"github.com/palisade-sec/palisade/internal/rules"
	builtinrules "github.com/palisade-sec/palisade/rules"
)

// TestRuntimeInitNamesMatchRules keeps learning's runtime-init names and
// the drift rules' drift_runtime_init_names list the same.
func TestRuntimeInitNamesMatchRules(t *testing.T) {
	rs, res := rules.Load([]rules.File{{Name: builtinrules.DriftName, Data: builtinrules.DriftYAML}}, rules.Options{IndependentTags: []string{baseline.DriftTag}})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors)
	}
	var list []string
	for _, l := range rs.Lists {
		if l.Name == "drift_runtime_init_names" {
			list = slices.Clone(l.Items)
		}
	}
	var names []string
	for n := range baseline.RuntimeInitNames {
		names = append(names, n)
	}
	sort.Strings(list)
	sort.Strings(names)
	if !slices.Equal(list, names) {
		t.Errorf("drift_runtime_init_names %v, learning skips %v", list, names)
	}
	for _, r := range rs.Rules {
		if !slices.Contains(r.Tags, baseline.DriftTag) {
			t.Errorf("drift rule %q is not tagged %s: its alerts would not be de-duplicated", r.Name, baseline.DriftTag)
		}
	}
	for _, w := range res.Warnings {
		t.Errorf("warning: %v", w)
	}
}
