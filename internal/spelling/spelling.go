// Package spelling finds the known name closest to a misspelt one, for the
// "did you mean ...?" hints every parser in Palisade gives. It knows no
// names itself; callers pass their candidates and thresholds.
package spelling

// Distance is the Levenshtein edit distance between a and b, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Closest returns the candidate nearest to word when its distance is below
// limit; ties go to the candidate that sorts first.
func Closest(word string, candidates []string, limit int) (string, bool) {
	best, bestD := "", limit
	for _, c := range candidates {
		if d := Distance(word, c); d < bestD || (d == bestD && best != "" && c < best) {
			best, bestD = c, d
		}
	}
	return best, best != ""
}
