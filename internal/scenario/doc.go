// Package scenario holds Palisade's end-to-end detection tests: real attack
// scenarios run inside real containers on the local Docker Engine while
// `palisade watch` runs with the built-in rules, each checked for its
// alert, its container's id, name and image, and for no other alert from
// that container. It has no non-test code.
package scenario
