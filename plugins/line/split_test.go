package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitText(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"fits", "hello world", 20, []string{"hello world"}},
		{"exactly the limit", "0123456789", 10, []string{"0123456789"}},
		{"paragraph", "First paragraph here.\n\nSecond one.", 25, []string{"First paragraph here.", "Second one."}},
		{"line", "one two three\nfour five", 16, []string{"one two three", "four five"}},
		{"sentence", "Hello there. How are you today", 20, []string{"Hello there.", "How are you today"}},
		{"CJK sentence", "今日は晴れです。明日は雨です。", 10, []string{"今日は晴れです。", "明日は雨です。"}},
		{"word", "alpha beta gamma delta", 12, []string{"alpha beta", "gamma delta"}},
		{"hard cut", "abcdefghijklmnop", 5, []string{"abcde", "fghij", "klmno", "p"}},
		{"surrogate pairs are never cut", "🍎🍎🍎", 3, []string{"🍎", "🍎", "🍎"}},
		{"emoji counts two units", "ab🍎cd", 4, []string{"ab🍎", "cd"}},
		{"whitespace only", " \n\n ", 5, nil},
		{"empty", "", 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.text, tt.limit)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitText(%q, %d) = %q, want %q", tt.text, tt.limit, got, tt.want)
			}
			for _, p := range got {
				if utf16Len(p) > tt.limit {
					t.Errorf("part %q has %d units", p, utf16Len(p))
				}
			}
		})
	}
}

func TestSplitAtLINELimit(t *testing.T) {
	text := strings.Repeat("word ", 2600) // 13000 units
	parts := splitText(text, TextLimit)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	for _, p := range parts {
		if n := utf16Len(p); n > TextLimit || strings.HasSuffix(p, "wor") {
			t.Errorf("part of %d units ends %q", n, p[len(p)-5:])
		}
	}
	emoji := strings.Repeat("🍎", 2501) // 5002 units
	if parts := splitText(emoji, TextLimit); len(parts) != 2 || utf16Len(parts[0]) != 5000 {
		t.Errorf("emoji text split into %d parts", len(parts))
	}
}

func TestBatches(t *testing.T) {
	parts := []string{"1", "2", "3", "4", "5", "6", "7"}
	got := batches(parts, 5)
	want := [][]string{{"1", "2", "3", "4", "5"}, {"6", "7"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("batches = %q, want %q", got, want)
	}
	if got := batches(nil, 5); got != nil {
		t.Errorf("batches(nil) = %q", got)
	}
}
