// Package detect is the one detection loop: a Source of events (the live
// kernel capture with its process and container state, or a recording), a
// compiled ruleset, and the outputs pipeline the alerts go to. `palisade
// watch` and `palisade replay` are thin commands over Run; a new place events
// come from is a new Source, a new place alerts go is a new output, never a
// second loop. It does not parse flags or render anything itself.
package detect
