package engine

import (
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/sdk"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short", "hello", 10, "hello"},
		{"exact", "hello", 5, "hello"},
		{"cut", "hello world", 5, "hello… [6 more bytes]"},
		{"cut on a character boundary", "héllo", 2, "h… [5 more bytes]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clip(tt.in, tt.n); got != tt.want {
				t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestBoundTranscriptKeepsTheNewestLines(t *testing.T) {
	line := func(text string) sdk.TranscriptEntry { return sdk.TranscriptEntry{Role: "visitor", Text: text} }
	big := strings.Repeat("x", 1_000_000)
	tests := []struct {
		name   string
		in     []sdk.TranscriptEntry
		budget int
		want   []string
	}{
		{"all fit", []sdk.TranscriptEntry{line("a"), line("b")}, 10, []string{"a", "b"}},
		{"older ones counted", []sdk.TranscriptEntry{line("aaaa"), line("bbbb"), line("cccc"), line("dd")}, 7, []string{"2 earlier messages not shown", "cccc", "dd"}},
		{"one left out", []sdk.TranscriptEntry{line("aaaa"), line("bb")}, 3, []string{"1 earlier message not shown", "bb"}},
		{"none fits", []sdk.TranscriptEntry{line("aaaa")}, 2, []string{"1 earlier message not shown"}},
		{"long lines clipped", []sdk.TranscriptEntry{line(big), line(big), line("last")}, lineBytes + 100,
			[]string{"1 earlier message not shown", clip(big, lineBytes), "last"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := boundTranscript(tt.in, tt.budget)
			var texts []string
			size := 0
			for _, e := range got {
				texts = append(texts, e.Text)
				size += len(e.Text)
			}
			if strings.Join(texts, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %d lines %.80q, want %.80q", len(texts), texts, tt.want)
			}
			if got[0].Role == "system" {
				size -= len(got[0].Text)
			}
			if size > tt.budget {
				t.Errorf("texts hold %d bytes, over the budget of %d", size, tt.budget)
			}
		})
	}
}

func TestHandoffSummaryIsBounded(t *testing.T) {
	huge := strings.Repeat("x", 1_000_000)
	tests := []struct {
		name                         string
		user                         sdk.User
		reason, channel, lastVisitor string
	}{
		{"huge name", sdk.User{Name: huge}, "keyword", "tg", "hi"},
		{"huge id without a name", sdk.User{ID: huge}, "keyword", "tg", "hi"},
		{"huge reason", sdk.User{Name: "Ann"}, huge, "tg", "hi"},
		{"huge last message", sdk.User{Name: "Ann"}, "keyword", "tg", huge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := HandoffSummary(tt.user, tt.channel, tt.reason, tt.lastVisitor)
			if len(s) > 2<<10 {
				t.Errorf("summary of %d bytes", len(s))
			}
		})
	}
}
