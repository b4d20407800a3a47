// Package audittest holds test helpers shared by the audit source packages:
// a compact rendering of findings, the "#want" line convention and what every
// source's fuzz target checks of a parse. It is imported only from tests.
package audittest
