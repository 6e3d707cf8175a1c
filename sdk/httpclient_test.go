package sdk

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Concurrent requests in rounds must reuse their connections: the default
// transport keeps two idle ones per host and would open most of them anew
// in every round.
func TestNewHTTPClientReusesConnections(t *testing.T) {
	var opened atomic.Int64
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	const concurrent, rounds = 20, 3
	c := NewHTTPClient(0)
	for range rounds {
		var done sync.WaitGroup
		for range concurrent {
			done.Add(1)
			go func() {
				defer done.Done()
				resp, err := c.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		// Let every request reach the server before answering any, so the
		// round really holds 20 connections at once. Answering early would
		// let a request take a freed connection while its own dial is still
		// under way, and that dial would open a connection nobody needed.
		for range concurrent {
			<-arrived
		}
		for range concurrent {
			release <- struct{}{}
		}
		done.Wait()
	}
	if n := opened.Load(); n > concurrent {
		t.Errorf("%d rounds of %d concurrent requests opened %d connections, want at most %d", rounds, concurrent, n, concurrent)
	}
}
