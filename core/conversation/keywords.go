package conversation

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// matcher finds handoff keywords in visitor messages. A keyword written in
// a script with spaces between words ("human") matches as a whole word; one
// in a script without them ("人工") matches anywhere in the text.
type matcher struct {
	words     map[string]bool
	fragments []string
}

func newMatcher(keywords []string) *matcher {
	m := &matcher{words: map[string]bool{}}
	for _, k := range keywords {
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			continue
		}
		if isSpaced(k) {
			m.words[k] = true
		} else {
			m.fragments = append(m.fragments, k)
		}
	}
	return m
}

// isSpaced reports whether a keyword is in a script that separates words
// with spaces (anything but Han, Hiragana, Katakana, Thai, Hangul runs).
func isSpaced(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai) {
			return false
		}
	}
	return true
}

// match reports whether text contains a keyword.
func (m *matcher) match(text string) bool {
	lower := strings.ToLower(text)
	for _, f := range m.fragments {
		if strings.Contains(lower, f) {
			return true
		}
	}
	if len(m.words) == 0 {
		return false
	}
	for _, w := range strings.FieldsFunc(lower, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && r != '\'' && r != utf8.RuneError
	}) {
		if m.words[w] {
			return true
		}
	}
	return false
}

// exact reports whether the whole text, trimmed of spaces and punctuation,
// is one of the keywords ("bot", "Cancel!").
func (m *matcher) exact(text string) bool {
	t := strings.ToLower(strings.TrimFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	}))
	if m.words[t] {
		return true
	}
	for _, f := range m.fragments {
		if t == f {
			return true
		}
	}
	return false
}
