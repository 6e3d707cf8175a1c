package webchat

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/core/httpapi"
)

// typingPerMinute bounds typing notices per visitor: the widget sends one
// every few seconds while the visitor types.
const typingPerMinute = 60

// limiterIdle is how long a visitor's or address's limiter is kept after
// its last use; a new one starts full, which an idle one would be anyway.
const limiterIdle = 10 * time.Minute

// limiters holds a token bucket per key (a visitor, an address): perMinute
// a minute, with bursts of a third of that (at least 3), so a few quick
// lines go through and a flood does not.
type limiters struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu sync.Mutex
	m  map[string]*limiter
}

type limiter struct {
	*rate.Limiter
	used time.Time
}

// newLimiters returns limiters of perMinute; 0 means no limit.
func newLimiters(perMinute int, now func() time.Time) *limiters {
	l := &limiters{limit: rate.Inf, now: now, m: map[string]*limiter{}}
	if perMinute > 0 {
		l.limit = rate.Limit(float64(perMinute) / 60)
		l.burst = max(3, perMinute/3)
	}
	return l
}

// reservation is one request's use of a limiter, which can be given back.
type reservation struct {
	r   *rate.Reservation
	now time.Time
}

// reserve takes one request from key's bucket and returns how long the
// caller would have to wait for it (0: go ahead).
func (l *limiters) reserve(key string) (reservation, time.Duration) {
	if l.limit == rate.Inf {
		return reservation{}, 0
	}
	now := l.now()
	l.mu.Lock()
	e := l.m[key]
	if e == nil {
		e = &limiter{Limiter: rate.NewLimiter(l.limit, l.burst)}
		l.m[key] = e
	}
	e.used = now
	l.mu.Unlock()
	r := e.ReserveN(now, 1)
	return reservation{r, now}, r.DelayFrom(now)
}

// cancel gives a reservation back (the request was refused for another
// reason, or by another limit).
func (r reservation) cancel() {
	if r.r != nil {
		r.r.CancelAt(r.now)
	}
}

// sweep forgets limiters unused for limiterIdle.
func (l *limiters) sweep() {
	cutoff := l.now().Add(-limiterIdle)
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, e := range l.m {
		if e.used.Before(cutoff) {
			delete(l.m, k)
		}
	}
}

// allow spends one request of every limit given as limiter and key, in
// order, or none of them; when one is exhausted it answers 429 with
// Retry-After itself and returns false.
func allow(w http.ResponseWriter, what string, checks ...check) bool {
	var taken []reservation
	for _, c := range checks {
		r, wait := c.l.reserve(c.key)
		if wait > 0 {
			r.cancel()
			for _, t := range taken {
				t.cancel()
			}
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			httpapi.WriteError(w, http.StatusTooManyRequests, "rate_limited", "too many "+what+" "+c.whose+"; try again in "+
				strconv.Itoa(int(math.Ceil(wait.Seconds())))+" s")
			return false
		}
		taken = append(taken, r)
	}
	return true
}

// check is one limit a request must pass.
type check struct {
	l     *limiters
	key   string
	whose string // "from this visitor", "from this address"
}
