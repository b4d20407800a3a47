// Package builtinrules embeds Palisade's own detection ruleset, written in
// Falco's rule language. It holds only data; the rules package loads it.
package builtinrules

import _ "embed"

// Name is the file name reported in messages about the built-in rules.
const Name = "builtin:palisade_rules.yaml"

// YAML is the built-in ruleset.
//
//go:embed palisade_rules.yaml
var YAML []byte

// DriftName is the file name reported in messages about the drift rules.
const DriftName = "builtin:drift_rules.yaml"

// DriftYAML is the drift ruleset (baseline.* fields), loaded with
// --baselines or --learn; docs/drift.md.
//
//go:embed drift_rules.yaml
var DriftYAML []byte
