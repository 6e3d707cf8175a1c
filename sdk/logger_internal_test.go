package sdk

import (
	"log/slog"
	"testing"
)

func TestLogLevelFollowsTheDaemon(t *testing.T) {
	tests := []struct {
		name string
		want slog.Level
	}{
		{"", slog.LevelDebug}, // a daemon that does not say: every line
		{"trace", slog.LevelDebug},
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"warning", slog.LevelWarn},
		{"WARN", slog.LevelWarn},
		{"error", slog.LevelError},
		{"loud", slog.LevelDebug},
	}
	for _, tt := range tests {
		if got := logLevel(tt.name); got != tt.want {
			t.Errorf("logLevel(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
