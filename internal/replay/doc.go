// Package replay reads and writes recordings of events with their process,
// file descriptor and container context, so that a live session recorded
// with `watch --record` runs again through the same extractors and rules
// with `palisade replay`. Writer writes the binary format (process and
// container states written once, events by reference); NewReader reads it
// and the older JSONL format, told apart by their first bytes;
// JSONLWriter and ExportJSONL write JSONL. It does not evaluate rules or
// capture events. See docs/events.md.
package replay
