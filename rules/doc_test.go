package builtinrules_test

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/palisade-sec/palisade/internal/rules"
	"github.com/palisade-sec/palisade/internal/testutil"
)

// tuningList reports list names meant for users to override.
func tuningList(name string) bool {
	for _, p := range []string{"user_known_", "allowed_", "trusted_", "miner_", "k8s_api_", "cloud_metadata", "sensitive_", "service_account_", "binary_directories", "package_manager", "shell_binaries", "cron_paths", "log_rotation", "user_database", "user_management", "kernel_trigger", "container_runtime_sockets", "ptrace_write",
		"network_tool", "network_scanner", "server_binaries", "database_server", "system_user_names", "etc_writer", "root_home_known", "dev_known", "hidden_file_watched", "known_hidden", "log_file_names",
		"shell_history", "shell_config", "script_interpreter", "data_destruction", "search_tool", "ssh_client", "known_setuid", "multicall_shell"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func builtinDoc(rs *rules.Ruleset) string {
	var b strings.Builder
	b.WriteString("# Built-in rules\n\n")
	b.WriteString("Generated from `rules/palisade_rules.yaml` (`go test ./rules -update` rewrites it). ")
	b.WriteString("The rules are embedded in the binary and load by default (or with `--builtin`). ")
	b.WriteString("Each is proven by replay tests (`rules/builtin_test.go`: events that fire it and near-misses that must not) ")
	b.WriteString("and, where it can be done safely on one machine, by a real attack in a real container (`internal/scenario`).\n\n")
	b.WriteString("## Tuning\n\nLoad a file after the built-in rules and override lists, macros or rules there:\n\n")
	b.WriteString("```yaml\n# my_rules.yaml — palisade watch --builtin -r my_rules.yaml\n- list: allowed_outbound_destination_networks\n  items: [127.0.0.0/8, \"::1/128\", 10.0.0.0/8]\n  override:\n    items: replace\n\n- list: user_known_terminal_shell_images\n  items: [registry.example/debug-tools]\n  override:\n    items: append\n\n- rule: Write below etc\n  exceptions:\n    - name: writer_and_path\n      values:\n        - [confd, /etc/app/]\n  override:\n    exceptions: append\n\n- rule: Package manager in container\n  enabled: false\n```\n\n")
	b.WriteString("## Rules\n\n")
	ex := func(name string) *rules.Explanation { e, _ := rs.Explain(name); return e }
	for _, r := range rs.Rules {
		e := ex(r.Name)
		b.WriteString("### " + r.Name + "\n\n")
		b.WriteString(strings.Join(strings.Fields(r.Desc), " ") + "\n\n")
		b.WriteString("- priority: " + r.Priority.String() + "\n")
		b.WriteString("- tags: " + strings.Join(r.Tags, ", ") + "\n")
		types := strings.Join(e.EventTypes, ", ")
		if e.AllTypes {
			types = "all"
		}
		b.WriteString("- event types: " + types + "\n")
		var lists []string
		for _, l := range rs.Lists {
			if tuningList(l.Name) && strings.Contains(r.Cond.Text+macroText(rs, r.Cond.Text), l.Name) {
				lists = append(lists, "`"+l.Name+"`")
			}
		}
		sort.Strings(lists)
		if len(lists) > 0 {
			b.WriteString("- tuning lists: " + strings.Join(lists, ", ") + "\n")
		}
		for _, x := range r.Exceptions {
			b.WriteString("- exception `" + x.Name + "` (append values for " + strings.Join(x.Fields, ", ") + "; compared with " + strings.Join(x.Comps, ", ") + ")\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// macroText returns the text of the macros a condition names (one level
// deep is enough for the built-in rules' lists).
func macroText(rs *rules.Ruleset, cond string) string {
	var out strings.Builder
	for _, m := range rs.Macros {
		if strings.Contains(cond, m.Name) {
			out.WriteString(" " + m.Cond.Text)
		}
	}
	return out.String()
}

func TestBuiltinRulesDocUpToDate(t *testing.T) {
	rs := loadBuiltin(t)
	got := builtinDoc(rs)
	path := filepath.Join("..", "docs", "builtin-rules.md")
	testutil.Golden(t, path, []byte(got))
}
