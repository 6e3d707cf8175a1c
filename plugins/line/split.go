package main

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Len is the length of s as LINE counts it: in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// splitText cuts s into pieces of at most limit UTF-16 code units, at the
// last paragraph break, line break, sentence end or space of each window
// that lies in the window's second half, else at the last space at all,
// else at the limit (never inside a character). Whitespace at the cuts is
// dropped; whitespace-only pieces are left out.
func splitText(s string, limit int) []string {
	var parts []string
	for {
		s = strings.TrimSpace(s)
		if s == "" {
			return parts
		}
		if utf16Len(s) <= limit {
			return append(parts, s)
		}
		end := prefixWithin(s, limit)
		cut := breakPoint(s[:end])
		parts = append(parts, strings.TrimSpace(s[:cut]))
		s = s[cut:]
	}
}

// prefixWithin returns the byte length of the longest prefix of s that has
// at most limit UTF-16 code units (at least one character).
func prefixWithin(s string, limit int) int {
	n := 0
	for i, r := range s {
		n += utf16.RuneLen(r)
		if n > limit {
			if i == 0 {
				return utf8.RuneLen(r)
			}
			return i
		}
	}
	return len(s)
}

// sentenceEnds end a sentence when followed by a space or newline, or
// (the CJK ones) anywhere.
var sentenceEnds = []string{". ", "! ", "? ", ".\n", "!\n", "?\n", "。", "！", "？"}

// breakPoint returns where to cut window (the byte offset after the break).
func breakPoint(window string) int {
	half := len(window) / 2
	candidates := []func() int{
		func() int { return afterLast(window, []string{"\n\n"}) },
		func() int { return afterLast(window, []string{"\n"}) },
		func() int { return afterLast(window, sentenceEnds) },
		func() int { return afterLast(window, []string{" ", "\t", "\u3000"}) },
	}
	for _, find := range candidates {
		if at := find(); at > half {
			return at
		}
	}
	if at := afterLast(window, []string{" ", "\n", "\t", "\u3000"}); at > 0 && strings.TrimSpace(window[:at]) != "" {
		return at
	}
	return len(window)
}

// afterLast returns the offset just after the last occurrence of any of
// seps in s, or -1.
func afterLast(s string, seps []string) int {
	best := -1
	for _, sep := range seps {
		if i := strings.LastIndex(s, sep); i >= 0 && i+len(sep) > best {
			best = i + len(sep)
		}
	}
	return best
}

// batches groups messages into calls of at most n.
func batches(parts []string, n int) [][]string {
	var out [][]string
	for len(parts) > n {
		out = append(out, parts[:n])
		parts = parts[n:]
	}
	if len(parts) > 0 {
		out = append(out, parts)
	}
	return out
}
