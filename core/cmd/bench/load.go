package main

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// newClient is the load generator's client: conns keep-alive connections
// to one host, no more.
func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// webhook posts one signed Telegram update and reports whether it got a 2xx.
func webhook(c *http.Client, url string, body []byte) bool {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", tgSecret)
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode < 300
}

type loadResult struct {
	ok, failed int64
	perSec     float64
}

// closedLoop runs conns workers, each posting one webhook after another on
// its own keep-alive connection, for warm+dur (and at most maxReq requests
// in all). Only requests that finish within the measured window after the
// warm-up count.
func closedLoop(url string, conns int, warm, dur time.Duration, maxReq int64, body func(n int64) []byte) loadResult {
	c := newClient(conns)
	defer c.CloseIdleConnections()
	var issued, ok, failed atomic.Int64
	start := time.Now()
	from, until := start.Add(warm), start.Add(warm+dur)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(until) {
				n := issued.Add(1)
				if n > maxReq {
					return
				}
				good := webhook(c, url, body(n))
				if end := time.Now(); end.After(from) && end.Before(until) {
					if good {
						ok.Add(1)
					} else {
						failed.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := min(time.Since(from), dur)
	return loadResult{ok: ok.Load(), failed: failed.Load(), perSec: float64(ok.Load()) / elapsed.Seconds()}
}

// openLoop sends n webhooks at a fixed rate regardless of how fast they
// are answered, and returns each one's scheduled send time.
func openLoop(url string, rate float64, n int, body func(i int) []byte) (sentAt []time.Time, failed int64) {
	c := newClient(256)
	defer c.CloseIdleConnections()
	sentAt = make([]time.Time, n)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var fails atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		sentAt[i] = at
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !webhook(c, url, body(i)) {
				fails.Add(1)
			}
		}()
	}
	wg.Wait()
	return sentAt, fails.Load()
}

// percentile of sorted durations, p in [0,1].
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	return sorted[i]
}

func sortDurations(d []time.Duration) []time.Duration {
	slices.Sort(d)
	return d
}
