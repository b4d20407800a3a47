// Package seccomp reads Docker/OCI seccomp profiles, resolves their
// includes/excludes the way Docker does, and compiles them to classic BPF
// with its own compiler (no libseccomp, no cgo).
//
// The pipeline is pure: Parse (JSON → Profile, with file:line errors) →
// Resolve (Profile + Env → Resolved: the rules that apply to one host, its
// capabilities and kernel) → Compile (Resolved → Program). Evaluate is a
// reference interpreter of a Resolved profile written independently of the
// compiler; the tests run every compiled program in a BPF interpreter and
// demand the same action as Evaluate for every syscall number of every arch.
// Lint, Diff and Explain answer questions about a profile. Installing a
// filter in a process is done elsewhere (internal/seccomp/launch).
package seccomp
