package sdk

import (
	"math"
	"math/rand/v2"
	"time"
)

// Backoff is an exponential schedule of waits between retries: Base before
// the first retry, doubling for each further one, never more than Max.
// The zero Rand draws from math/rand/v2; a Backoff is safe for concurrent
// use when its Rand is.
type Backoff struct {
	// Base is the wait before the first retry.
	Base time.Duration
	// Max caps the wait; 0 means no cap.
	Max time.Duration
	// Jitter spreads the waits with "equal jitter": each is half the
	// exponential wait plus a random part of up to the other half, so that
	// many clients that failed together do not retry together.
	Jitter bool
	// Rand returns a uniform random number in [0, n) for the jitter; nil
	// uses math/rand/v2. Tests inject a fixed source.
	Rand func(n int64) int64
}

// Delay is the wait before retry number attempt (1 for the first retry;
// smaller numbers count as 1).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Base
	if d <= 0 {
		return 0
	}
	for i := 1; i < attempt && (b.Max <= 0 || d < b.Max); i++ {
		if d > math.MaxInt64/2 {
			d = math.MaxInt64
			break
		}
		d *= 2
	}
	if b.Max > 0 {
		d = min(d, b.Max)
	}
	if !b.Jitter {
		return d
	}
	random := b.Rand
	if random == nil {
		random = rand.Int64N
	}
	half := d / 2
	return d - half + time.Duration(random(int64(half)+1))
}
