// Package libseccompref builds seccomp filters with libseccomp itself, the
// C library Docker (through runc) uses, so tests can compare Palisade's
// compiler with it decision for decision and benchmarks can put the two
// side by side. It needs cgo and libseccomp-dev and is only built with the
// libseccomp build tag; the shipped binary never links it.
package libseccompref
