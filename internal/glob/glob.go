package glob

// Mode selects how Match reads a pattern; modes combine with |.
type Mode uint8

const (
	// Fold makes ASCII letters match either case (Falco's iglob).
	Fold Mode = 1 << iota
	// Literal makes '[' and '\' ordinary bytes, leaving only * and ?
	// special: response patterns name rules, and rule names hold brackets.
	Literal
)

// Match reports whether s matches pattern: * matches any run of bytes
// (including '/'), ? one byte, [abc] / [a-z] / [!a] a class, and a
// backslash escapes the next byte (classes and escapes unless mode has
// Literal). An unterminated class's '[' is an ordinary byte.
func Match(pattern, s string, mode Mode) bool {
	fold, literal := mode&Fold != 0, mode&Literal != 0
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; {
			case c == '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case c == '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			case c == '[' && !literal:
				if sx < len(s) {
					if ok, end := matchClass(pattern, px, s[sx], fold); end > 0 {
						if ok {
							px = end
							sx++
							continue
						}
						break
					}
				}
				if sx < len(s) && s[sx] == '[' { // unterminated class: literal
					px++
					sx++
					continue
				}
			case c == '\\' && !literal:
				if px+1 < len(pattern) && sx < len(s) && eqByte(pattern[px+1], s[sx], fold) {
					px += 2
					sx++
					continue
				}
			default:
				if sx < len(s) && eqByte(c, s[sx], fold) {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// matchClass matches c against the class starting at pattern[px] == '['.
// end is the index after ']' (0 when the class is unterminated).
func matchClass(pattern string, px int, c byte, fold bool) (ok bool, end int) {
	i := px + 1
	neg := false
	if i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^') {
		neg = true
		i++
	}
	first := true
	for i < len(pattern) {
		if pattern[i] == ']' && !first {
			return ok != neg, i + 1
		}
		first = false
		lo := pattern[i]
		hi := lo
		if i+2 < len(pattern) && pattern[i+1] == '-' && pattern[i+2] != ']' {
			hi = pattern[i+2]
			i += 3
		} else {
			i++
		}
		if inRange(c, lo, hi) || (fold && (inRange(lower(c), lo, hi) || inRange(upper(c), lo, hi))) {
			ok = true
		}
	}
	return false, 0
}

func inRange(c, lo, hi byte) bool { return c >= lo && c <= hi }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}

func eqByte(a, b byte, fold bool) bool {
	return a == b || (fold && lower(a) == lower(b))
}
