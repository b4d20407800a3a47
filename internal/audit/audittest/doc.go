// Package audittest holds test helpers shared by the audit source packages:
// golden-file comparison (regenerated with `go test -update`) and a compact
// rendering of findings. It is imported only from tests.
package audittest
