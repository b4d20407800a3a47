// Package testutil holds the helpers tests use to say what they need from
// the machine (root, eBPF, Docker, a tool on PATH). On a laptop a missing
// requirement skips the test; with PALISADE_STRICT=1 (set by CI) it fails it,
// so CI can never pass by skipping.
package testutil
