// Package cli wires Palisade's commands (cobra) to the packages that do the
// work. One file per command; each file owns its flags and output. It holds
// no detection, compilation or audit logic of its own.
package cli
