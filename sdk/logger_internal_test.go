package sdk

import (
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"
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

func TestDroppedLoggersLeaveStderrOpen(t *testing.T) {
	// A plugin may make a logger per configuration and drop the old one;
	// the process's fd 2, where every later log line goes, must outlive it.
	for range 10 {
		NewLogger()
	}
	// A finalizer that closed fd 2 would be queued by these collections
	// and has run once a later one has.
	for range 3 {
		runtime.GC()
		done := make(chan struct{})
		runtime.SetFinalizer(new([16]byte), func(*[16]byte) { close(done) })
		runtime.GC()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("finalizers did not run")
		}
	}
	if _, err := os.Stderr.Stat(); err != nil {
		t.Fatalf("stderr after dropping loggers: %v", err)
	}
}
