package httplimit

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// HealthReserve is how many connections beyond the cap a [Listener]
// accepts for health checks alone.
const HealthReserve = 8

// Listener caps the connections open at once at Max. Beyond it, up to
// [HealthReserve] more are accepted, marked so that [HealthOnly] serves
// them health checks only; past those, Accept waits for a connection to
// close, and new clients wait in the kernel's queue without holding a
// descriptor of the daemon.
type Listener struct {
	net.Listener
	max   int
	slots chan struct{}
	mu    sync.Mutex
	open  int
}

// Limit wraps ln with a cap of max connections (plus the health reserve).
func Limit(ln net.Listener, max int) *Listener {
	return &Listener{Listener: ln, max: max, slots: make(chan struct{}, max+HealthReserve)}
}

// Accept implements net.Listener.
func (l *Listener) Accept() (net.Conn, error) {
	l.slots <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	l.mu.Lock()
	l.open++
	over := l.open > l.max
	l.mu.Unlock()
	return &limitedConn{Conn: c, l: l, overflow: over}, nil
}

func (l *Listener) release() {
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
	<-l.slots
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	l        *Listener
	overflow bool
	once     sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}

type overflowKey struct{}

// ConnContext is the http.Server.ConnContext that lets [HealthOnly] know a
// connection was accepted beyond the cap.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if lc, ok := c.(*limitedConn); ok && lc.overflow {
		return context.WithValue(ctx, overflowKey{}, true)
	}
	return ctx
}

// HealthOnly serves requests on connections accepted beyond the cap only
// when their path is one of paths (the health checks); others get 503
// with Retry-After. Such connections are closed after their answer.
func HealthOnly(h http.Handler, paths ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if over, _ := r.Context().Value(overflowKey{}).(bool); !over {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Connection", "close")
		for _, p := range paths {
			if r.URL.Path == p {
				h.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"too many connections, retry later"}}` + "\n"))
	})
}
