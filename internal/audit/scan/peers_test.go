package scan

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The peer corpus (testdata/peers) is written from the published checks of
// Trivy (KSV ids), kubesec (rule names), the Pod Security Standards (pss:
// controls) and the CIS Docker Benchmark (cis: items): each file is a
// hardened workload with one thing a peer fails, marked on its line:
//
//	# want: SLUG [SLUG...] | PEER...   palisade must report these here
//	# extra: SLUG REASON               palisade reports it, the peers do not
//	# differs: PEER REASON             a peer fails it, palisade does not
//
// REASON is a key of the "Deliberate differences" table in docs/audit.md.
var markRE = regexp.MustCompile(`#\s*(want|extra|differs):\s*(.*)$`)

type peerCase struct {
	want, extra map[string]bool // "file:line slug"
	differs     []string        // "PEER REASON"
	peers       int             // peer verdicts behind the wants
}

func readPeerMarks(t *testing.T, file string) peerCase {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pc := peerCase{want: map[string]bool{}, extra: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		m := markRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		switch m[1] {
		case "want":
			slugs, peers, ok := strings.Cut(m[2], "|")
			if !ok || len(strings.Fields(peers)) == 0 {
				t.Errorf("%s:%d: a want names no peer verdict", file, line)
			}
			pc.peers += len(strings.Fields(peers))
			for _, s := range strings.Fields(slugs) {
				pc.want[fmt.Sprintf("%s:%d %s", file, line, s)] = true
			}
		case "extra":
			f := strings.Fields(m[2])
			if len(f) != 2 {
				t.Fatalf("%s:%d: want '# extra: SLUG REASON'", file, line)
			}
			pc.extra[fmt.Sprintf("%s:%d %s", file, line, f[0])] = true
			pc.differs = append(pc.differs, "palisade:"+f[0]+" "+f[1])
		case "differs":
			f := strings.Fields(m[2])
			if len(f) != 2 {
				t.Fatalf("%s:%d: want '# differs: PEER REASON'", file, line)
			}
			pc.differs = append(pc.differs, f[0]+" "+f[1])
		}
	}
	return pc
}

// TestPeerCorpus audits the corpus and requires recall and precision of 1.0
// against the peers' verdicts outside the documented differences.
func TestPeerCorpus(t *testing.T) {
	var files []string
	for _, dir := range []string{"testdata/peers/kubernetes", "testdata/peers/compose"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	res := Scan(context.Background(), files, Options{ComposeEnv: []string{}})
	for _, e := range res.Errors {
		t.Errorf("input error: %v", e)
	}
	found := map[string]bool{}
	for _, f := range res.Findings {
		found[fmt.Sprintf("%s:%d %s", f.File, f.Line, f.Check)] = true
	}
	doc, err := os.ReadFile("../../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	differences := string(doc[bytes.Index(doc, []byte("### Deliberate differences")):])
	want, extra := map[string]bool{}, map[string]bool{}
	peers, differs := 0, 0
	for _, file := range files {
		pc := readPeerMarks(t, file)
		for k := range pc.want {
			want[k] = true
		}
		for k := range pc.extra {
			extra[k] = true
		}
		peers += pc.peers
		differs += len(pc.differs)
		for _, d := range pc.differs {
			peer, reason, _ := strings.Cut(d, " ")
			if !strings.Contains(differences, "`"+reason+"`") {
				t.Errorf("%s: difference %q is not explained in docs/audit.md", file, reason)
			}
			if p := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(peer, "kubesec:"), "pss:"), "cis:"); !strings.HasPrefix(peer, "palisade:") && !strings.Contains(loose(differences), loose(p)) {
				t.Errorf("%s: %s is not named in docs/audit.md's differences", file, peer)
			}
		}
	}
	var tp, fn, fp []string
	for k := range want {
		if found[k] {
			tp = append(tp, k)
		} else {
			fn = append(fn, k)
		}
	}
	for k := range found {
		if !want[k] && !extra[k] {
			fp = append(fp, k)
		}
	}
	for k := range extra {
		if !found[k] {
			t.Errorf("stale extra mark, not reported: %s", k)
		}
	}
	sort.Strings(fn)
	sort.Strings(fp)
	recall := float64(len(tp)) / float64(len(tp)+len(fn))
	precision := float64(len(tp)) / float64(len(tp)+len(fp))
	t.Logf("%d files, %d expected findings (%d peer verdicts), %d documented differences: recall %.3f, precision %.3f",
		len(files), len(want), peers, differs, recall, precision)
	if len(fn) > 0 {
		t.Errorf("missed (recall %.3f):\n%s", recall, strings.Join(fn, "\n"))
	}
	if len(fp) > 0 {
		t.Errorf("not expected (precision %.3f):\n%s", precision, strings.Join(fp, "\n"))
	}
	if len(want) < 80 {
		t.Errorf("only %d expected findings: the corpus has lost cases", len(want))
	}
}

// loose lower-cases s and reads hyphens as spaces, so a corpus key
// (pss:running-as-non-root-user) matches the control's name in the docs.
func loose(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", " ") }
