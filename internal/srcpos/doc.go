// Package srcpos is the one positioned-error vocabulary of palisade's
// parsers: a Position (file, line, column), an Error at a position and an
// ErrorList sorted by position, after go/scanner. Every message is one line
// whatever the input: file names and messages go through escape.Line
// (controls, bidi, invalid UTF-8 escaped; backslashes kept, so %q-quoted
// parts read as written). It does not read files or decide wording.
package srcpos
