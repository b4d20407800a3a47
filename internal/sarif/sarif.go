package sarif

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
)

// Schema is where the SARIF 2.1.0 JSON schema lives.
const Schema = "https://json.schemastore.org/sarif-2.1.0.json"

// Log is a SARIF log; New fills in the schema and version.
type Log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []Run  `json:"runs"`
}

// Run is one invocation of a tool and what it found.
type Run struct {
	Tool    Tool     `json:"tool"`
	Results []Result `json:"results"`
}

// Tool names the tool of a run.
type Tool struct {
	Driver Driver `json:"driver"`
}

// Driver is the tool itself and the rules its results refer to.
type Driver struct {
	Name           string `json:"name"`
	Version        string `json:"version,omitempty"`
	InformationURI string `json:"informationUri,omitempty"`
	Rules          []Rule `json:"rules"`
}

// Message is a plain-text message.
type Message struct {
	Text string `json:"text"`
}

// Rule describes one kind of result.
type Rule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name,omitempty"`
	ShortDescription     Message           `json:"shortDescription,omitzero"`
	FullDescription      Message           `json:"fullDescription,omitzero"`
	Help                 Message           `json:"help,omitzero"`
	DefaultConfiguration RuleConfig        `json:"defaultConfiguration,omitzero"`
	Properties           map[string]string `json:"properties,omitempty"`
}

// RuleConfig is a rule's default level.
type RuleConfig struct {
	Level string `json:"level"`
}

// Result is one finding: the rule (by id and index into the driver's
// rules), a level (error, warning or note), a message and where.
type Result struct {
	RuleID    string     `json:"ruleId"`
	RuleIndex int        `json:"ruleIndex"`
	Level     string     `json:"level"`
	Message   Message    `json:"message"`
	Locations []Location `json:"locations"`
}

// Location is a place in a file, a named object, or both.
type Location struct {
	PhysicalLocation *PhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []LogicalLocation `json:"logicalLocations,omitempty"`
}

// PhysicalLocation is a file and, when known, a region of it.
type PhysicalLocation struct {
	ArtifactLocation ArtifactLocation `json:"artifactLocation"`
	Region           *Region          `json:"region,omitempty"`
}

// ArtifactLocation is a file's URI (see URI).
type ArtifactLocation struct {
	URI string `json:"uri"`
}

// Region is a line and, when known, a column (both 1-based).
type Region struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// LogicalLocation is a named thing, such as a container or a service.
type LogicalLocation struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// New returns a SARIF 2.1.0 log of the given runs.
func New(runs ...Run) Log {
	return Log{Schema: Schema, Version: "2.1.0", Runs: runs}
}

// Write writes l as indented JSON; encoding/json escapes control and HTML
// characters, so attacker-controlled names stay inert.
func (l Log) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(l)
}

// URI turns a file path into an artifact URI: relative paths stay relative
// (resolved against the repository by code-scanning UIs), absolute ones
// become file:// URIs.
func URI(p string) string {
	s := filepath.ToSlash(p)
	if filepath.IsAbs(p) {
		return (&url.URL{Scheme: "file", Path: s}).String()
	}
	return (&url.URL{Path: s}).String()
}
