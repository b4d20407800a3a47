package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-sec/palisade/internal/cli"
	"github.com/palisade-sec/palisade/internal/store"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// exampleCase says how one documented example runs here. An example not
// listed runs as is and must exit 0.
type exampleCase struct {
	code  int    // the exit code the docs promise
	needs string // "root", "bpf", "docker", "image" (docker and the busybox image), "falco" (Falco's rule files)
	skip  string // why it cannot run here; an explicit reason, never silence
	want  string // text the docs show it printing (stdout or stderr)
}

// exampleCases classifies the examples that need something or are not run.
var exampleCases = map[string]exampleCase{
	// Long-running or system-changing: their behaviour has tests of its own.
	"make build && ./bin/palisade watch": {skip: "builds, then watches until Ctrl-C"},
	"sudo make install":                  {skip: "installs into /usr/local"},
	"make test":                          {skip: "the whole test suite"},
	"palisade completion bash > /etc/bash_completion.d/palisade": {skip: "writes into /etc (palisade completion has tests)"},
	"sudo palisade watch": {skip: "watches until Ctrl-C"},
	"sudo palisade watch -r /etc/falco/falco_rules.yaml -o json":                                                                                           {skip: "watches until Ctrl-C"},
	"sudo palisade watch --duration 1m --record session.rec && palisade replay session.rec":                                                                {skip: "runs a minute (watch --record and replay have tests)"},
	"palisade watch --record session.rec --duration 1m && palisade replay session.rec":                                                                     {skip: "runs a minute (watch --record and replay have tests)"},
	"sudo palisade watch --webhook http://falcosidekick:2801/ --syslog unix:///dev/log --file /var/log/palisade/alerts.jsonl --nats nats://collector:4222": {skip: "watches until Ctrl-C, delivering to hosts of the reader's own"},
	"sudo palisade watch --config examples/palisade.yaml":                                                                                                  {skip: "watches until Ctrl-C"},
	"palisade serve": {skip: "serves until Ctrl-C"},
	"palisade serve --listen 0.0.0.0:9377 --token-file serve.token --tls-cert srv.crt --tls-key srv.key":         {skip: "serves until Ctrl-C"},
	"palisade serve --store postgres://palisade@db/palisade --listen 127.0.0.1:8080":                             {skip: "serves until Ctrl-C"},
	"palisade serve --listen 0.0.0.0:9377 --token-file /etc/palisade/token --tls-cert srv.crt --tls-key srv.key": {skip: "serves until Ctrl-C"},
	"curl -s 127.0.0.1:9376/metrics": {skip: "needs a running watch"},
	"palisade collect --nats nats://nats:4222 --store postgres://palisade@db/palisade":                          {skip: "collects until Ctrl-C from a fleet's NATS"},
	"palisade collect --nats tls://nats:4222 --creds /etc/palisade/collector.creds --store \"$PALISADE_STORE\"": {skip: "collects until Ctrl-C from a fleet's NATS"},
	"palisade collect --nats nats://nats:4222 --store postgres://palisade@db/palisade --host-retention 720h":    {skip: "collects until Ctrl-C from a fleet's NATS"},
	"palisade alerts --store postgres://palisade@db/palisade --host node-17 --since 1h":                         {skip: "needs the fleet's PostgreSQL at db"},
	"palisade alerts --store postgres://palisade@db/palisade --rule 'Terminal shell in container' --follow":     {skip: "follows until Ctrl-C, from the fleet's PostgreSQL at db"},
	"palisade replay --webhook http://127.0.0.1:2801/ --store sqlite:replayed.db -o json session.rec":           {skip: "needs a webhook receiver and a recording from watch --record"},
	"palisade replay --webhook http://127.0.0.1:2801/ --store sqlite:alerts.db -o json session.jsonl":           {skip: "needs a webhook receiver"},
	"palisade replay --export-jsonl session.jsonl session.rec":                                                  {skip: "needs a recording from watch --record (replay's tests make one)"},
	"palisade record --out web.json -- python3 -m http.server 8080":                                             {skip: "records a server until Ctrl-C"},
	"sudo palisade record --container web --out web.json":                                                       {skip: "records a container named web until it stops"},
	"palisade record --container web --duration 60s --out web.json":                                             {skip: "records a container named web for a minute"},
	"palisade run --cap-drop ALL --cap-add NET_BIND_SERVICE -- python3 -m http.server 80":                       {skip: "serves until Ctrl-C"},
	"palisade run --user 1000:1000 --seccomp ./profile.json -- ./server":                                        {skip: "./server stands for the reader's program"},
	"sudo palisade apparmor install nginx-web.profile":                                                          {skip: "loads a profile into the host's kernel"},
	"docker run --security-opt apparmor=nginx-web nginx":                                                        {skip: "needs the profile installed and the nginx image"},
	"docker inspect ci-runner | palisade audit -":                                                               {skip: "needs a container named ci-runner"},
	"docker inspect $(docker ps -q) | palisade audit -":                                                         {skip: "needs running containers"},
	"kubectl get deploy,ds,sts -A -o yaml | palisade audit - --fail-on critical":                                {skip: "needs a Kubernetes cluster"},
	"sudo mkdir -p /etc/falco && cd /etc/falco":                                                                 {skip: "installs Falco's rules into /etc"},
	"for f in falco_rules.yaml falco-incubating_rules.yaml falco-sandbox_rules.yaml; do sudo curl -fsSLO https://raw.githubusercontent.com/falcosecurity/rules/main/rules/$f; done": {skip: "downloads from GitHub; CI keeps the same files in ../shared/falco-rules"},

	// Run here, with what they need.
	"sudo palisade doctor":         {needs: "bpf"},
	"sudo palisade doctor -o json": {needs: "bpf"},
	"palisade audit --docker":      {needs: "docker"},
	"palisade audit --docker --ignore no-memory-limit,no-pids-limit":                                                                          {needs: "docker"},
	"palisade audit . --fail-on high -o sarif --out audit.sarif":                                                                              {code: 1},
	"palisade audit k8s/ -o sarif --out audit.sarif --fail-on high":                                                                           {code: 1},
	"palisade rules validate -r /etc/falco/falco_rules.yaml -r /etc/falco/falco-incubating_rules.yaml -r /etc/falco/falco-sandbox_rules.yaml": {needs: "falco"},
	"palisade rules validate -r /etc/falco/falco_rules.yaml":                                                                                  {needs: "falco"},
	"palisade rules explain -r /etc/falco/falco_rules.yaml \"Read sensitive file untrusted\" -o json":                                         {needs: "falco"},
	"palisade replay -r /etc/falco/falco_rules.yaml -o json events.jsonl":                                                                     {needs: "falco"},
	"palisade apparmor generate spec.yaml --check":                                                                                            {needs: "apparmor_parser"},
	"palisade apparmor validate nginx-web.profile":                                                                                            {needs: "apparmor_parser"},
	"palisade rules validate -r custom.yaml":                                                                                                  {code: 1, want: `custom.yaml:5:34: rule "r": unknown field "proc.nmae" (did you mean proc.name?)`},
	"palisade apparmor generate web.yaml":                                                                                                     {code: 2, want: `web.yaml:4:1: unknown key "netwrok" in the spec (did you mean "network"?)`},
	"palisade seccomp diff builtin:docker-default my-profile.json":                                                                            {code: 1},
	"palisade seccomp diff --builtin docker-default my-profile.json -o json":                                                                  {code: 1},
	"palisade watch --list-syscalls -r /etc/falco/falco_rules.yaml":                                                                           {needs: "falco", want: "SYSCALL            NR   WHY"},
	"palisade rules list --builtin -o json":                                                                                                   {want: `"rule": "Terminal shell in container"`},
	"palisade alerts":                                                                                                                         {needs: "store"},
	"palisade alerts --since 1h":                                                                                                              {needs: "store"},
	"palisade alerts --since 1h --priority warning":                                                                                           {needs: "store"},
	"palisade alerts --container web -o json":                                                                                                 {needs: "store"},
	"palisade alerts --priority warning --container web -o json":                                                                              {needs: "store"},
	"palisade inspect":                 {needs: "root"},
	"palisade inspect -o json --pid 1": {needs: "root"},
	"docker run --rm -v $(command -v palisade):/palisade:ro IMAGE /palisade inspect":                                                                                                             {needs: "image"},
	"docker run --rm -v $PWD/bin/palisade:/palisade:ro -v /var/run/docker.sock:/var/run/docker.sock -v /:/host:ro --cap-add SYS_ADMIN --security-opt seccomp=unconfined IMAGE /palisade inspect": {needs: "image"},
	"palisade run --cap-drop ALL --no-new-privileges --seccomp default -- id":                                                                                                                    {needs: "root"},
	"palisade run --userns -- sh -c 'cat /proc/self/uid_map'":                                                                                                                                    {needs: "root"},
	"sudo palisade run --cap-drop ALL --no-new-privileges --seccomp default -- grep -E 'CapEff|NoNewPrivs|Seccomp:' /proc/self/status":                                                           {needs: "root"},
	"sudo palisade run --cap-drop ALL --cap-add NET_BIND_SERVICE -- grep CapEff /proc/self/status":                                                                                               {needs: "root"},
	"sudo palisade record --out job.json -- busybox sh -c 'cat /etc/hostname; ls /etc >/dev/null'":                                                                                               {needs: "bpf"},
	"palisade profile seccomp job.json --runtime palisade-run --out job-seccomp.json":                                                                                                            {needs: "bpf"},
	"sudo palisade run --cap-drop ALL --no-new-privileges --seccomp job-seccomp.json -- busybox sh -c 'cat /etc/hostname; ls /etc >/dev/null'":                                                   {needs: "bpf"},
	"sudo palisade run --privileged --seccomp job-seccomp.json -- busybox unshare -U true":                                                                                                       {needs: "bpf", code: 1},
	"sudo palisade record --out chown.json -- busybox chown 1234:1234 owned":                                                                                                                     {needs: "bpf"},
	"palisade profile caps chown.json": {needs: "bpf"},
}

// exampleFixtures stand for the reader's own files that examples name:
// each is a copy of a repository file of the same kind.
var exampleFixtures = map[string]string{
	"compose.yaml":          "internal/audit/compose/testdata/insecure/compose.yaml",
	"deploy":                "internal/audit/scan/testdata/tree",
	"k8s":                   "internal/audit/scan/testdata/tree/k8s",
	"profile.json":          "internal/profile/testdata/server.seccomp-runc.json",
	"my-profile.json":       "internal/profile/testdata/server.seccomp-runc.json",
	"web.json":              "internal/profile/testdata/server.recording.json",
	"run1.json":             "internal/profile/testdata/server.recording.json",
	"run2.json":             "internal/profile/testdata/server.recording.json",
	"web-a.json":            "internal/profile/testdata/server.recording.json",
	"web-b.json":            "internal/profile/testdata/server.recording.json",
	"events.jsonl":          "internal/cli/testdata/attack.jsonl",
	"spec.yaml":             "examples/nginx-web.yaml",
	"examples":              "examples",
	"internal/cli/testdata": "internal/cli/testdata",
}

// exampleErrorFiles are the reader's files the docs use: broken ones whose
// errors the README shows, and a rule file to tune the built-in rules.
var exampleErrorFiles = map[string]string{
	"custom.yaml":   "- rule: r\n  desc: d\n  output: o\n  priority: WARNING\n  condition: evt.type = open and proc.nmae = x\n",
	"web.yaml":      "name: web\nfiles:\n  read: [/srv/**]\nnetwrok: [tcp]\n",
	"my_rules.yaml": "- list: shell_binaries\n  items: [ash]\n  override:\n    items: append\n",
}

// readmeExamples returns the commands in README.md's code blocks: in a block
// with "$ " prompts the prompted lines, in an unprompted ```sh block every
// line; continuation lines are joined and trailing comments dropped.
func readmeExamples(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cmds, block []string
	inBlock, sh := false, false
	flush := func() {
		prompted := false
		for _, l := range block {
			prompted = prompted || strings.HasPrefix(l, "$ ")
		}
		for i := 0; i < len(block); i++ {
			l := block[i]
			if prompted {
				if !strings.HasPrefix(l, "$ ") {
					continue
				}
				l = strings.TrimPrefix(l, "$ ")
			} else if !sh || l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			for strings.HasSuffix(l, "\\") && i+1 < len(block) {
				i++
				l = strings.TrimSuffix(l, "\\") + " " + strings.TrimSpace(block[i])
			}
			cmds = append(cmds, normalizeExample(l))
		}
		block = nil
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "```") {
			if inBlock {
				flush()
			}
			inBlock, sh = !inBlock, l == "```sh"
			continue
		}
		if inBlock {
			block = append(block, l)
		}
	}
	return cmds
}

var trailingComment = regexp.MustCompile(`\s+#\s.*$`)

// normalizeExample drops a trailing comment and runs of spaces.
func normalizeExample(l string) string {
	return strings.Join(strings.Fields(trailingComment.ReplaceAllString(l, "")), " ")
}

// usageComplaints are what cobra and palisade print for a command line
// they cannot parse.
var usageComplaints = []string{"unknown flag", "unknown shorthand", "unknown command", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "Usage:"}

// TestDocumentedExamples runs every example of README.md and of every
// command's --help against the built binary, in order, in one directory, and
// checks each exits with the documented code without a usage error.
func TestDocumentedExamples(t *testing.T) {
	root := testutil.RepoRoot(t)
	work := t.TempDir()
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(work, "bin", "palisade"))
	for name, src := range exampleFixtures {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-r", filepath.Join(root, src), filepath.Join(work, name)).CombinedOutput(); err != nil {
			t.Fatalf("fixture %s: %v %s", name, err, out)
		}
	}
	for name, content := range exampleErrorFiles {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// palisade run --userns runs the binary as a mapped user, who must
	// reach it through the temporary directories.
	for d := work; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The reader's directories that examples write into (baseline files,
	// seccomp profiles).
	for _, d := range []string{"baselines", "profiles"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// chown's example needs a file to own.
	if err := os.WriteFile(filepath.Join(work, "owned"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var all []cli.Example
	for _, l := range readmeExamples(t, filepath.Join(root, "README.md")) {
		all = append(all, cli.Example{Command: "README.md", Line: l})
	}
	all = append(all, cli.Examples()...)
	if len(all) < 50 {
		t.Fatalf("found only %d examples: the README or help parser lost some", len(all))
	}
	seen := map[string]bool{}
	for _, ex := range all {
		line := normalizeExample(ex.Line)
		if seen[line] {
			continue
		}
		seen[line] = true
		t.Run(ex.Command+": "+line, func(t *testing.T) {
			c := exampleCases[line]
			if c.skip != "" {
				t.Skip(c.skip)
			}
			run := strings.TrimPrefix(line, "sudo ")
			switch c.needs {
			case "root":
				testutil.RequireRoot(t)
			case "bpf":
				testutil.RequireBPF(t)
			case "docker":
				testutil.RequireDocker(t)
			case "image":
				run = strings.ReplaceAll(run, "IMAGE", testutil.RequireBusyboxImage(t))
			case "store":
				seedDefaultStore(t, bin)
			case "falco":
				run = strings.ReplaceAll(run, "/etc/falco/", testutil.FalcoRulesDir(t)+"/")
			case "":
			default:
				testutil.RequireTool(t, c.needs)
			}
			if strings.HasPrefix(line, "sudo ") {
				testutil.RequireRoot(t)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-c", run)
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "PWD="+work)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if ctx.Err() != nil {
				t.Fatalf("did not finish in 90 s; stderr: %s", stderr.String())
			}
			if !strings.Contains(stdout.String()+stderr.String(), c.want) {
				t.Errorf("output lacks the documented %q\nstdout: %.2000s\nstderr: %.2000s", c.want, stdout.String(), stderr.String())
			}
			if code != c.code {
				t.Errorf("exit %d, documented %d\nstdout: %.2000s\nstderr: %.2000s", code, c.code, stdout.String(), stderr.String())
			}
			for _, u := range usageComplaints {
				if strings.Contains(stderr.String(), u) {
					t.Errorf("usage error %q on stderr: %.2000s", u, stderr.String())
				}
			}
		})
	}
	// A stale entry would let a renamed example run unclassified.
	for line := range exampleCases {
		if !seen[line] {
			t.Errorf("exampleCases lists %q, which no README or --help example shows any more", line)
		}
	}
}

// seedDefaultStore makes sure the default alert store exists for the
// alerts examples: when it does not, it fills one from the replay test
// data and removes it when the test ends.
func seedDefaultStore(t *testing.T, bin string) {
	t.Helper()
	path := strings.TrimPrefix(store.DefaultURL, "sqlite:")
	if _, err := os.Stat(path); err == nil {
		return
	}
	testutil.RequireRoot(t)
	dir := filepath.Dir(path)
	_, dirErr := os.Stat(dir)
	out, err := exec.Command(bin, "replay", "--store", store.DefaultURL, filepath.Join(testutil.RepoRoot(t), "internal/cli/testdata/attack.jsonl")).CombinedOutput()
	if err != nil {
		t.Fatalf("seed %s: %v\n%s", path, err, out)
	}
	t.Cleanup(func() {
		if os.IsNotExist(dirErr) {
			os.RemoveAll(dir)
			return
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	})
}

// TestDocumentedRuleCounts checks every count of built-in rules the docs
// give against what the binary loads, so adding a rule cannot leave them
// behind.
func TestDocumentedRuleCounts(t *testing.T) {
	root := testutil.RepoRoot(t)
	bin := testutil.BuildStatic(t, "./cmd/palisade", filepath.Join(t.TempDir(), "palisade"))
	out, err := exec.Command(bin, "rules", "list", "--builtin", "-o", "json").Output()
	if err != nil {
		t.Fatalf("rules list: %v", err)
	}
	var list struct {
		Rules []struct{ Enabled bool } `json:"rules"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	enabled := 0
	for _, r := range list.Rules {
		if r.Enabled {
			enabled++
		}
	}
	claims := []struct {
		file string
		re   *regexp.Regexp
		want int
	}{
		{"README.md", regexp.MustCompile(`built-in ruleset \((\d+) rules\)`), len(list.Rules)},
		{"README.md", regexp.MustCompile(`palisade: watching: (\d+) rules enabled`), enabled},
		{"docs/rules.md", regexp.MustCompile(`own ruleset \((\d+) rules`), len(list.Rules)},
	}
	for _, c := range claims {
		data, err := os.ReadFile(filepath.Join(root, c.file))
		if err != nil {
			t.Fatal(err)
		}
		m := c.re.FindAllStringSubmatch(string(data), -1)
		if len(m) == 0 {
			t.Errorf("%s: no match for %s: update this test with the docs", c.file, c.re)
		}
		for _, g := range m {
			if n, _ := strconv.Atoi(g[1]); n != c.want {
				t.Errorf("%s says %q; the binary loads %d", c.file, g[0], c.want)
			}
		}
	}
}
