package sdk

import (
	"math"
	"testing"
	"time"
)

func TestBackoffWithoutJitter(t *testing.T) {
	tests := []struct {
		name     string
		b        Backoff
		attempts []int
		want     []time.Duration
	}{
		{"capped doubling", Backoff{Base: 200 * time.Millisecond, Max: 10 * time.Second},
			[]int{0, 1, 2, 3, 6, 7, 100, math.MaxInt},
			[]time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
				6400 * time.Millisecond, 10 * time.Second, 10 * time.Second, 10 * time.Second}},
		{"no cap", Backoff{Base: 2 * time.Second},
			[]int{1, 2, 4, 10},
			[]time.Duration{2 * time.Second, 4 * time.Second, 16 * time.Second, 1024 * time.Second}},
		{"no cap saturates instead of overflowing", Backoff{Base: time.Second},
			[]int{64, 1000, math.MaxInt},
			[]time.Duration{math.MaxInt64, math.MaxInt64, math.MaxInt64}},
		{"base above the cap", Backoff{Base: time.Minute, Max: time.Second},
			[]int{1, 5},
			[]time.Duration{time.Second, time.Second}},
		{"zero base", Backoff{Max: time.Minute}, []int{1, math.MaxInt}, []time.Duration{0, 0}},
	}
	for _, tt := range tests {
		for i, attempt := range tt.attempts {
			if got := tt.b.Delay(attempt); got != tt.want[i] {
				t.Errorf("%s: Delay(%d) = %v, want %v", tt.name, attempt, got, tt.want[i])
			}
		}
	}
}

// Equal jitter keeps each wait between half the exponential wait and all
// of it; the random source decides where.
func TestBackoffEqualJitter(t *testing.T) {
	lowest := func(int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
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
		b := Backoff{Base: time.Second, Max: 5 * time.Minute, Jitter: true}
		b.Rand = lowest
		if got := b.Delay(tt.attempt); got != tt.min {
			t.Errorf("attempt %d, lowest draw: %v, want %v", tt.attempt, got, tt.min)
		}
		b.Rand = highest
		if got := b.Delay(tt.attempt); got != tt.max {
			t.Errorf("attempt %d, highest draw: %v, want %v", tt.attempt, got, tt.max)
		}
		var asked int64
		b.Rand = func(n int64) int64 { asked = n; return n / 2 }
		if got := b.Delay(tt.attempt); asked != int64(tt.max-tt.min)+1 || got != tt.min+(tt.max-tt.min)/2 {
			t.Errorf("attempt %d: drew from [0, %d) and waited %v", tt.attempt, asked, got)
		}
		// The default source spreads the waits.
		b.Rand = nil
		seen := map[time.Duration]bool{}
		for range 200 {
			d := b.Delay(tt.attempt)
			if d < tt.min || d > tt.max {
				t.Fatalf("attempt %d: %v outside [%v, %v]", tt.attempt, d, tt.min, tt.max)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: only %d distinct waits in 200", tt.attempt, len(seen))
		}
	}
}
