// Package alert defines the Alert a rule match produces, in Falco's JSON
// shape, so tools built for Falco (falcosidekick and its outputs) take
// Palisade's alerts unchanged. It holds no delivery logic; see outputs.
package alert
