package main

import (
	"strings"
	"unicode"
	"unicode/utf16"
)

// splitText cuts s into parts of at most limit UTF-16 code units, the unit
// Telegram counts message length in. It cuts at the last paragraph break
// that fits, else the last sentence end, else the last space, and only as
// a last resort inside a word (never inside a character or a surrogate
// pair). Parts are trimmed; none is empty. Equal inputs give equal parts,
// which resuming a partly sent delivery relies on.
func splitText(s string, limit int) []string {
	var parts []string
	s = strings.TrimSpace(s)
	for s != "" {
		if utf16Len(s) <= limit {
			parts = append(parts, s)
			break
		}
		fit := fitPrefix(s, limit)
		cut := cutPoint(s[:fit])
		part := strings.TrimRightFunc(s[:cut], unicode.IsSpace)
		if part == "" { // only spaces before the cut: cut hard
			cut = fit
			part = s[:cut]
		}
		parts = append(parts, part)
		s = strings.TrimLeftFunc(s[cut:], unicode.IsSpace)
	}
	return parts
}

// fitPrefix is the byte length of the longest prefix of s within limit
// UTF-16 code units (at least one character, so splitting progresses).
func fitPrefix(s string, limit int) int {
	units := 0
	for i, r := range s {
		n := utf16.RuneLen(r)
		if n < 0 {
			n = 1 // invalid UTF-8 decodes as U+FFFD: one unit
		}
		if units+n > limit {
			if i == 0 {
				_, size := firstRune(s)
				return size
			}
			return i
		}
		units += n
	}
	return len(s)
}

func firstRune(s string) (rune, int) {
	for i, r := range s {
		if i > 0 {
			return r, i
		}
	}
	return 0, len(s)
}

// cutPoint picks where to end a part inside the prefix p (the whole of it
// fits). Boundaries in the second half of p are preferred, so parts are
// not needlessly short: a paragraph break, then a sentence end, then any
// space; then the same anywhere; else the whole prefix.
func cutPoint(p string) int {
	half := len(p) / 2
	finders := []func(string) int{lastParagraph, lastSentence, lastSpace}
	for _, min := range []int{half, 1} {
		for _, find := range finders {
			if i := find(p); i >= min {
				return i
			}
		}
	}
	return len(p)
}

// lastParagraph is the index just after the last blank line in p, or -1.
func lastParagraph(p string) int {
	i := strings.LastIndex(p, "\n\n")
	if i < 0 {
		return -1
	}
	return i + 2
}

// lastSentence is the index just after the last sentence end in p: one of
// . ! ? … followed by a space, or a CJK full stop, question or exclamation
// mark.
func lastSentence(p string) int {
	best := -1
	for _, end := range []string{". ", "! ", "? ", "… ", ".\n", "!\n", "?\n"} {
		if i := strings.LastIndex(p, end); i >= 0 && i+len(end) > best {
			best = i + len(end)
		}
	}
	for _, end := range []string{"。", "！", "？"} {
		if i := strings.LastIndex(p, end); i >= 0 && i+len(end) > best {
			best = i + len(end)
		}
	}
	return best
}

// lastSpace is the index of the last white space in p, or -1.
func lastSpace(p string) int {
	return strings.LastIndexFunc(p, unicode.IsSpace)
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}
