// Package replay reads and writes Palisade's JSONL event format: one event
// per line with its process, file descriptor and container context, so a
// live session recorded with `watch --record` can be run again through the
// same extractors and rules with `palisade replay`. See docs/events.md.
package replay
