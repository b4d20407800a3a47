package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/testutil"
)

// TestParseGolden parses each condition in testdata/conditions.txt and
// compares its canonical form with testdata/conditions.golden.
func TestParseGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "conditions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(in)), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n, err := ParseConditionString(line)
		out.WriteString(line + "\n")
		if err != nil {
			out.WriteString("  error: " + err.Error() + "\n")
			continue
		}
		out.WriteString("  => " + n.String() + "\n")
		// The canonical form must parse back to itself.
		n2, err := ParseConditionString(n.String())
		if err != nil {
			t.Errorf("canonical form of %q does not parse: %v", line, err)
		} else if n2.String() != n.String() {
			t.Errorf("canonical form not stable: %q -> %q", n.String(), n2.String())
		}
	}
	testutil.Golden(t, filepath.Join("testdata", "conditions.golden"), []byte(out.String()))
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		cond, want string
	}{
		{"(proc.name = bash", "condition:1:1: unbalanced parentheses: '(' is never closed"},
		{"proc.name = bash)", "condition:1:17: unexpected \")\" after the end of the condition"},
		{"proc.name = bash and", "condition:1:21: expected a check, a macro or '(' but the condition ends here"},
		{"proc.name bash", "condition:1:11: expected an operator after proc.name, found \"bash\""},
		{"proc.name in bash, sh", "condition:1:18: unexpected \",\" after the end of the condition"},
		{"proc.name in (bash sh)", "condition:1:20: expected ',' or ')' in list, found \"sh)\""},
		{"proc.name = 'bash", "condition:1:13: unterminated quoted string"},
		{"proc.name =", "condition:1:12: expected a value but the condition ends here"},
		{"fd.name startswith /etc and and", "condition:1:29: expected a check, a macro or '(' but found \"and\""},
		{"proc.aname[2 = bash", "condition:1:11: field proc.aname: '[' is never closed"},
		{"tolower(proc.name = bash", "condition:1:1: unbalanced parentheses: tolower( is never closed"},
		{"= bash", "condition:1:1: expected a field, a macro or '(' but found \"=\""},
		{strings.Repeat("(", 150) + "a" + strings.Repeat(")", 150), "condition:1:101: condition nested deeper than 100 levels"},
	} {
		_, err := ParseConditionString(tc.cond)
		if err == nil {
			t.Errorf("%q: parsed, want error %q", tc.cond, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%q:\n got  %s\n want %s", tc.cond, err, tc.want)
		}
	}
}
