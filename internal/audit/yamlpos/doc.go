// Package yamlpos finds where keys sit in a parsed YAML document, so audit
// findings and errors can name the line of the offending key. It also splits
// multi-document streams without losing line numbers.
package yamlpos
