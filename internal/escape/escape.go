package escape

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text returns s with every rune that could act on a terminal or hide in a
// displayed line written as a Go escape: the backslash itself (\\), newline,
// carriage return and tab (\n \r \t), other C0 controls and DEL (\xNN),
// each byte of invalid UTF-8 (\xNN), and as \uNNNN (or \UNNNNNNNN) the C1
// controls, format characters (bidi embeddings, overrides, isolates and
// marks such as U+202E and U+061C, zero-width spaces and joiners, soft
// hyphen, byte-order mark, tag characters), line and paragraph separators
// and the other default-ignorable code points (Hangul fillers, U+034F).
// Variation selectors are kept: they only pick a glyph's form. Every other
// character, spaces and non-Latin scripts included, is kept as it is.
//
// The escaping is reversible (strconv.Unquote reads it back once double
// quotes are escaped), so two different inputs never show the same.
func Text(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeHex(&b, `\x`, uint32(s[i]), 2)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			writeHex(&b, `\x`, uint32(r), 2)
		case r >= 0x80 && hidden(r):
			if r > 0xffff {
				writeHex(&b, `\U`, uint32(r), 8)
			} else {
				writeHex(&b, `\u`, uint32(r), 4)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// hidden reports whether r is a non-ASCII rune Text escapes: a C1 control,
// a format character (Unicode category Cf), a line or paragraph separator,
// or another default-ignorable code point other than a variation selector.
func hidden(r rune) bool {
	switch {
	case r < 0xa0:
		return r >= 0x80
	case r < 0x600: // Latin, Greek, Cyrillic, Hebrew: two such runes
		return r == 0xad || r == 0x34f
	case r > 0x3164 && r < 0xfeff: // CJK and Hangul syllables: none
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point)
}

// isPlain reports whether Text would return s unchanged; ASCII text, the
// common case, is decided without decoding runes.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return plainUTF8(s[i:])
		}
		if c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

func plainUTF8(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r < 0x20 || r == 0x7f || r == '\\' || (r >= 0x80 && hidden(r)) {
			return false
		}
		i += size
	}
	return true
}

const hexDigits = "0123456789abcdef"

func writeHex(b *strings.Builder, prefix string, v uint32, digits int) {
	b.WriteString(prefix)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(v>>shift)&0xf])
	}
}
