package conversation

import "testing"

func TestKeywordMatching(t *testing.T) {
	m := newMatcher([]string{"human", "agent", "operator", "人工", "转人工"})
	tests := []struct {
		text string
		want bool
	}{
		{"human", true},
		{"HUMAN please", true},
		{"Can I talk to a human?", true},
		{"I want an agent.", true},
		{"我要人工服务", true},
		{"转人工", true},
		{"humane treatment", false},
		{"where is my order", false},
		{"management", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := m.match(tt.text); got != tt.want {
			t.Errorf("match(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}

	cancel := newMatcher([]string{"bot", "cancel"})
	for text, want := range map[string]bool{"bot": true, " Cancel! ": true, "cancel my order": false, "robot": false} {
		if got := cancel.exact(text); got != want {
			t.Errorf("exact(%q) = %v, want %v", text, got, want)
		}
	}
}
