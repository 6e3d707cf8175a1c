package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestLingerWaitsTheDelay checks how a commit under load waits for more
// writes: the whole delay, taking all that come in it, or until the batch
// is full.
func TestLingerWaitsTheDelay(t *testing.T) {
	const delay = 10 * time.Millisecond
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	var steady, flood []time.Duration
	for at := 1.5; at < 20; at++ {
		steady = append(steady, ms(at))
	}
	for range maxBatch + 10 {
		flood = append(flood, ms(1))
	}
	cases := []struct {
		name     string
		arrivals []time.Duration // after the wait begins
		want     int             // writes in the batch, the first included
		waited   time.Duration
	}{
		{"nothing comes", nil, 1, delay},
		{"a few come", []time.Duration{ms(1), ms(2.5), ms(4)}, 4, delay},
		{"writes keep coming", steady, 10, delay},
		{"the batch fills", flood, maxBatch, ms(1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &Store{opts: Options{CommitDelay: delay}, ops: make(chan *writeOp, 64), stop: make(chan struct{})}
				go func() {
					start := time.Now()
					for _, at := range tc.arrivals {
						time.Sleep(at - time.Since(start))
						s.ops <- &writeOp{}
					}
				}()
				start := time.Now()
				batch := s.linger([]*writeOp{{}})
				if waited := time.Since(start); waited != tc.waited {
					t.Errorf("waited %s, want %s", waited, tc.waited)
				}
				if len(batch) != tc.want {
					t.Errorf("batch of %d, want %d", len(batch), tc.want)
				}
				time.Sleep(time.Second) // let the late writes go
			})
		})
	}
}

// TestCommitDelayHoldsNoLoneWrite runs a store with a long delay: writes
// made one after another are never held, and writes made at once are all
// committed, waiting at most the delay.
func TestCommitDelayHoldsNoLoneWrite(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		const delay = time.Minute
		s, err := Open(filepath.Join(dir, "switchboard.db"), Options{CommitDelay: delay, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		put := func(i int) error {
			return s.Update(context.Background(), func(tx *Tx) error {
				return tx.Bucket(bucketMeta).Put([]byte{'w', byte(i)}, []byte("x"))
			})
		}
		start := time.Now()
		for i := range 3 {
			if err := put(i); err != nil {
				t.Fatal(err)
			}
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("three writes one after another waited %s, want no wait", waited)
		}
		start = time.Now()
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Go(func() { errs[i] = put(3 + i) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
		if waited := time.Since(start); waited > delay {
			t.Errorf("writes made at once waited %s, want at most %s", waited, delay)
		}
		if c := s.CommitStats(); c.Writes != 19 {
			t.Errorf("commit stats %+v, want 19 writes", c)
		}
	})
}

// TestArrivalsDecideWhenWaitingPays checks when a commit waits: only after
// a batch of several writes, and only at a rate bringing lingerWorth more
// within the delay.
func TestArrivalsDecideWhenWaitingPays(t *testing.T) {
	const delay = 2 * time.Millisecond // 4 more within it: 2,000 writes/s
	t0 := time.Unix(1_700_000_000, 0)
	type batch struct {
		n     int
		after time.Duration // since the previous batch started
	}
	// steady is 100 ms of batches of n every 2 ms.
	steady := func(n int) []batch {
		var bs []batch
		for range 50 {
			bs = append(bs, batch{n, 2 * time.Millisecond})
		}
		return bs
	}
	cases := []struct {
		name    string
		batches []batch
		want    bool
	}{
		{"first batch", nil, false},
		{"one writer in turn, fast", append(steady(1), batch{1, 100 * time.Microsecond}), false},
		{"two at a time, 1,000 a second", steady(2), false},
		{"ten at a time, 5,000 a second", steady(10), true},
		{"a burst begins", []batch{{0, 0}, {10, 2 * time.Millisecond}, {10, 2 * time.Millisecond}}, false},
		{"the load stops", append(steady(10), batch{2, 100 * time.Millisecond}), false},
		{"fast, then a lone write", append(steady(10), batch{1, 2 * time.Millisecond}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var a arrivals
			now := t0
			for _, b := range tc.batches {
				now = now.Add(b.after)
				a.observe(b.n, now)
			}
			if got := a.worthWaiting(delay); got != tc.want {
				t.Errorf("worthWaiting = %v (rate %.0f/s, together %v), want %v", got, a.rate, a.together, tc.want)
			}
		})
	}
}
