// Package sarif writes SARIF 2.1.0 logs, the subset code-scanning UIs
// (GitHub, GitLab, VS Code) read: one run, its tool's rules, and results
// with a level, a message and physical or logical locations. palisade
// audit and palisade seccomp lint both report through it.
//
// It does not read SARIF, and holds no knowledge of what a finding means:
// callers map their own findings to rules and results.
package sarif
