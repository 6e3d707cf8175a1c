package engine

import (
	"testing"
	"time"
)

func TestBackoffSchedule(t *testing.T) {
	base, maxDelay := time.Second, 5*time.Minute
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{6, 16 * time.Second, 32 * time.Second},
		{9, 128 * time.Second, 256 * time.Second},
		{10, 150 * time.Second, 5 * time.Minute}, // capped
		{40, 150 * time.Second, 5 * time.Minute},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for i := 0; i < 200; i++ {
			d := backoff(tt.attempt, base, maxDelay)
			if d < tt.min || d > tt.max {
				t.Fatalf("attempt %d: %v outside [%v, %v]", tt.attempt, d, tt.min, tt.max)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: only %d distinct delays in 200; want jitter", tt.attempt, len(seen))
		}
	}
}
