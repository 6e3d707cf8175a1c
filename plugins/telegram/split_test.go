package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitText(t *testing.T) {
	sentence := "This is a sentence. "
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"short", "hello", 10, []string{"hello"}},
		{"exactly the limit", "0123456789", 10, []string{"0123456789"}},
		{"empty", "  \n ", 10, nil},
		{"paragraphs first", "aaaa bbbb.\n\ncccc dddd", 16, []string{"aaaa bbbb.", "cccc dddd"}},
		{"sentence before word", "One two. Three four five", 16, []string{"One two.", "Three four five"}},
		{"word boundary", "alpha beta gamma delta", 12, []string{"alpha beta", "gamma delta"}},
		{"hard cut of a long word", "abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"emoji count two units", strings.Repeat("😀", 5), 4, []string{"😀😀", "😀😀", "😀"}},
		{"CJK sentence end", "你好。我想退款。谢谢", 5, []string{"你好。", "我想退款。", "谢谢"}},
		{"no empty parts from runs of blanks", "a" + strings.Repeat(" ", 20) + "b", 5, []string{"a", "b"}},
		{"prefers later boundaries", "Hi. " + strings.Repeat("word ", 4), 20, []string{"Hi. word word word", "word"}},
		{"many sentences", strings.Repeat(sentence, 3), 45, []string{"This is a sentence. This is a sentence.", "This is a sentence."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := splitText(tc.text, tc.limit)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Properties over texts near Telegram's limit: every part fits, none is
// empty, nothing but white space at the cuts is lost, characters are whole.
func TestSplitTextProperties(t *testing.T) {
	texts := map[string]string{
		"ascii paragraphs": strings.Repeat(strings.Repeat("lorem ipsum dolor sit amet. ", 50)+"\n\n", 5),
		"emoji only":       strings.Repeat("👍🏽", 3000),
		"surrogate at cut": strings.Repeat("a", 4095) + "😀" + "tail",
		"one long word":    strings.Repeat("x", 10000),
		"mixed":            strings.Repeat("Привет, мир! 你好世界。 😀 ok\n", 400),
	}
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			parts := splitText(text, textLimit)
			if len(parts) < 2 {
				t.Fatalf("%d parts", len(parts))
			}
			for i, p := range parts {
				if n := utf16Len(p); n == 0 || n > textLimit {
					t.Errorf("part %d has %d UTF-16 units", i, n)
				}
				if !utf8.ValidString(p) {
					t.Errorf("part %d cuts a character", i)
				}
			}
			squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
			if squash(strings.Join(parts, "")) != squash(text) {
				t.Error("parts lose text")
			}
		})
	}
	if utf16Len("😀a") != 3 || utf16Len("é") != 1 {
		t.Error("utf16Len")
	}
}
