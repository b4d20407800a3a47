// Package escape makes text an attacker may control (process names, command
// lines, paths, file names, daemon answers) safe to show on a terminal, in a
// table cell or in a one-line log record. Text is the one escaper every
// text output uses: control characters, invalid UTF-8, bidirectional
// controls and other invisible format characters become visible Go-style
// escapes, so the result is one line that cannot move the cursor, recolour
// the terminal, reorder what is displayed or hide characters.
//
// It does not escape for HTML, JSON or YAML: those outputs use their own
// encoders (html/template, encoding/json), which know their context.
package escape
