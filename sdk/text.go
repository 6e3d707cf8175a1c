package sdk

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// TextUnit is what a platform counts the length of a message in.
type TextUnit int

// Text units.
const (
	// UTF16Units counts UTF-16 code units: an emoji outside the Basic
	// Multilingual Plane counts 2. Telegram (after entity parsing) and LINE
	// count this way.
	UTF16Units TextUnit = iota + 1
	// CodePoints counts Unicode code points (Go runes).
	CodePoints
	// UTF8Bytes counts bytes of UTF-8.
	UTF8Bytes
)

// runeLen is the length of r in unit. An invalid byte (decoded as
// utf8.RuneError) counts as the U+FFFD that replaces it when the text is
// encoded as JSON.
func (u TextUnit) runeLen(r rune) int {
	switch u {
	case UTF16Units:
		if n := utf16.RuneLen(r); n > 0 {
			return n
		}
		return 1
	case UTF8Bytes:
		if n := utf8.RuneLen(r); n > 0 {
			return n
		}
		return utf8.RuneLen(utf8.RuneError)
	default:
		return 1
	}
}

// TextLen is the length of s in unit.
func TextLen(s string, unit TextUnit) int {
	if unit == UTF8Bytes && utf8.ValidString(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		n += unit.runeLen(r)
	}
	return n
}

// SplitText cuts s into messages of at most limit (counted in unit) for a
// platform that refuses longer ones. Each cut is at the last paragraph
// break (a blank line) that leaves the part at least half the limit, else
// the last line break, sentence end or space that does, else the last of
// any of these, and only when a part has none of them inside a word — but
// never inside a character, a UTF-16 surrogate pair, or a character and
// the marks, modifiers and joiners that combine with it.
//
// The white space at each cut and around s is dropped, so no part is empty
// or blank, and s is the parts with that white space put back between
// them. A part is longer than limit only when it is a single character
// that is longer by itself (an emoji with limit 1 in UTF-16 units). The
// result depends only on the arguments, so a retried delivery is split the
// same way. limit <= 0 means no limit; a blank s gives no parts.
func SplitText(s string, limit int, unit TextUnit) []string {
	var parts []string
	s = strings.TrimSpace(s)
	for s != "" {
		fit := len(s)
		if limit > 0 {
			fit = fitPrefix(s, limit, unit)
		}
		if fit == len(s) {
			return append(parts, s)
		}
		end, next := cutPoint(s, fit)
		parts = append(parts, s[:end])
		s = strings.TrimLeftFunc(s[next:], unicode.IsSpace)
	}
	return parts
}

// fitPrefix is the byte length of the longest prefix of s that is at most
// limit long, or of its first character when that alone is longer.
func fitPrefix(s string, limit int, unit TextUnit) int {
	n := 0
	for i, r := range s {
		n += unit.runeLen(r)
		if n > limit {
			if i == 0 {
				_, size := utf8.DecodeRuneInString(s)
				return size
			}
			return i
		}
	}
	return len(s)
}

// Boundary levels, weakest first.
const (
	levelWord = iota
	levelSentence
	levelLine
	levelParagraph
	levelCount
)

// cutPoint picks the cut for a part of s that must end at or before fit
// (s starts with no white space and is longer than fit). The part is
// s[:end] and the rest starts at next; between them lies only white space.
func cutPoint(s string, fit int) (end, next int) {
	var last [levelCount]struct{ end, next int } // the latest of each level
	found := [levelCount]bool{}
	note := func(level, end, next int) {
		last[level] = struct{ end, next int }{end, next}
		found[level] = true
	}
	for i := 0; i <= fit && i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			// A run of white space: the part ends before it.
			j, breaks := i, 0
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if !unicode.IsSpace(r) {
					break
				}
				breaks += lineBreaks(r, s[j+size:])
				j += size
			}
			level := levelWord
			switch {
			case breaks >= 2:
				level = levelParagraph
			case breaks == 1:
				level = levelLine
			case endsSentence(s[:i]):
				level = levelSentence
			}
			note(level, i, j)
			i = j
			continue
		case isCJKSentenceEnd(r):
			// 。！？ end a sentence without a space, together with the
			// closing brackets or quotes right after them.
			j := i + size
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if !isCloser(r) {
					break
				}
				j += size
			}
			if j <= fit {
				note(levelSentence, j, j)
			}
			i = j
			continue
		}
		i += size
	}
	// A boundary of the strongest level that leaves at least half the
	// window in the part; else the latest boundary of any level.
	for level := levelParagraph; level >= levelWord; level-- {
		if found[level] && 2*last[level].end >= fit {
			return last[level].end, last[level].next
		}
	}
	best := -1
	for level := range last {
		if found[level] && (best < 0 || last[level].end > last[best].end) {
			best = level
		}
	}
	if best >= 0 {
		return last[best].end, last[best].next
	}
	// No boundary at all: cut inside the word, between characters.
	for i := fit; i > 0; {
		if clusterBoundary(s, i) {
			return i, i
		}
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return fit, fit
}

// lineBreaks is how many line breaks the white-space rune r makes (rest is
// what follows it): a paragraph separator counts two, a CR only when no LF
// follows.
func lineBreaks(r rune, rest string) int {
	switch r {
	case '\n', '\u2028', '\v', '\f', '\u0085':
		return 1
	case '\r':
		if strings.HasPrefix(rest, "\n") {
			return 0
		}
		return 1
	case '\u2029':
		return 2
	}
	return 0
}

// endsSentence reports whether p ends with a sentence's final punctuation,
// possibly followed by closing brackets or quotes.
func endsSentence(p string) bool {
	for p != "" {
		r, size := utf8.DecodeLastRuneInString(p)
		switch {
		case strings.ContainsRune(".!?…", r) || isCJKSentenceEnd(r):
			return true
		case isCloser(r):
			p = p[:len(p)-size]
		default:
			return false
		}
	}
	return false
}

// isCJKSentenceEnd reports the full stops, question and exclamation marks
// of Chinese and Japanese text, which no space follows.
func isCJKSentenceEnd(r rune) bool {
	switch r {
	case '。', '．', '｡', '！', '？':
		return true
	}
	return false
}

// isCloser reports closing brackets and quotes.
func isCloser(r rune) bool {
	return r == '"' || r == '\'' || unicode.In(r, unicode.Pe, unicode.Pf)
}

// clusterBoundary reports whether a cut at byte i of s leaves every
// user-perceived character whole, as far as that can be told cheaply: not
// before a combining mark, variation selector, emoji modifier, tag or
// zero-width joiner, not after a joiner, not inside CR LF and not between
// the two regional indicators of a flag.
func clusterBoundary(s string, i int) bool {
	next, _ := utf8.DecodeRuneInString(s[i:])
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	switch {
	case extends(next), prev == '\u200d', prev == '\r' && next == '\n':
		return false
	case isRegionalIndicator(next) && isRegionalIndicator(prev):
		n := 0
		for p := s[:i]; p != ""; n++ {
			r, size := utf8.DecodeLastRuneInString(p)
			if !isRegionalIndicator(r) {
				break
			}
			p = p[:len(p)-size]
		}
		return n%2 == 0
	}
	return true
}

// extends reports runes that attach to the character before them.
func extends(r rune) bool {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc):
		return true
	case r == '\u200d', // zero-width joiner
		r >= '\ufe00' && r <= '\ufe0f', // variation selectors
		r >= 0xe0100 && r <= 0xe01ef,   // variation selectors supplement
		r >= 0x1f3fb && r <= 0x1f3ff,   // emoji skin-tone modifiers
		r >= 0xe0020 && r <= 0xe007f:   // tags (subdivision flags)
		return true
	}
	return false
}

func isRegionalIndicator(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }
