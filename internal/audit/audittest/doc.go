// Package audittest holds test helpers shared by the audit source packages:
// golden-file comparison (regenerated with `go test -update`), a compact
// rendering of findings, the "#want" line convention and what every
// source's fuzz target checks of a parse. It is imported only from tests.
package audittest
