// Package rules loads rule files written in Falco's language (rules, macros,
// lists, exceptions, overrides), parses conditions into an AST, compiles
// them once into Go closures indexed by event type, and evaluates events
// against the result. It reads events through the field registry in package
// fields and knows nothing of where events come from.
package rules
