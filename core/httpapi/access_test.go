package httpapi

import (
	"testing"
	"time"
)

// A key's rate is a bucket of one second of requests that refills at the
// rate; a refused request is told how long until the next one fits.
func TestRateLimitOfAKey(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	type step struct {
		at   time.Duration // after t0
		ok   bool
		wait time.Duration // when refused
	}
	tests := []struct {
		name  string
		rate  float64
		steps []step
	}{
		{"unlimited", 0, []step{{0, true, 0}, {0, true, 0}, {0, true, 0}}},
		{"two per second: a burst of two, then half a second apart", 2, []step{
			{0, true, 0}, {0, true, 0}, {0, false, 500 * time.Millisecond},
			{200 * time.Millisecond, false, 300 * time.Millisecond},
			{500 * time.Millisecond, true, 0}, {500 * time.Millisecond, false, 500 * time.Millisecond},
			{3 * time.Second, true, 0}, {3 * time.Second, true, 0}, {3 * time.Second, false, 500 * time.Millisecond},
		}},
		{"slower than one per second: a burst of one", 0.5, []step{
			{0, true, 0}, {0, false, 2 * time.Second}, {time.Second, false, time.Second}, {2 * time.Second, true, 0},
		}},
		{"600 per minute", 10, []step{
			{0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 0},
			{0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 0},
			{0, false, 100 * time.Millisecond}, {100 * time.Millisecond, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &access{}
			p := &principal{ID: "k1", Rate: tt.rate}
			for i, s := range tt.steps {
				wait, ok := a.take(p, t0.Add(s.at))
				if ok != s.ok || wait != s.wait {
					t.Fatalf("step %d at +%v: ok=%v wait=%v, want ok=%v wait=%v", i, s.at, ok, wait, s.ok, s.wait)
				}
			}
		})
	}
}

// Keys have their own buckets.
func TestRateLimitIsPerKey(t *testing.T) {
	a := &access{}
	now := time.Now()
	slow, other := &principal{ID: "k1", Rate: 1}, &principal{ID: "k2", Rate: 1}
	if _, ok := a.take(slow, now); !ok {
		t.Fatal("first request of k1 refused")
	}
	if _, ok := a.take(slow, now); ok {
		t.Fatal("second request of k1 in the same instant served")
	}
	if _, ok := a.take(other, now); !ok {
		t.Fatal("k2 refused because of k1's requests")
	}
}
