// Package jsonpos records the line of every key and array element in a JSON
// document, so findings from JSON sources (docker inspect output, OCI
// config.json) can point at the offending key as YAML sources do.
package jsonpos
