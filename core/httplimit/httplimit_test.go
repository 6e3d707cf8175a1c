package httplimit

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serve runs h behind ReadBodies and HealthOnly on a listener capped at
// max, as the daemon does.
func serve(t *testing.T, h http.Handler, readTimeout time.Duration, max int) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(HealthOnly(ReadBodies(h, readTimeout), "/healthz"))
	srv.Config.ConnContext = ConnContext
	srv.Listener = Limit(srv.Listener, max)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "could not read the body", http.StatusBadRequest)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("GET /other", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "other") })
	return mux
}

// trickle opens a connection that sends the headers of a 100-byte body
// and then one byte.
func trickle(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
	return c
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestATricklingBodyGets408AndItsConnectionCloses(t *testing.T) {
	const readTimeout = time.Second
	addr := serve(t, routes(), readTimeout, 100)
	var conns []net.Conn
	for range 5 {
		conns = append(conns, trickle(t, addr))
	}
	start := time.Now()
	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 || body != "ok" {
		t.Errorf("/healthz while bodies trickle: %d %q", code, body)
	}
	t.Logf("/healthz answered in %v with 5 bodies trickling", time.Since(start))

	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: no answer: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body) // ends when the server closes
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), `"timeout"`) {
			t.Errorf("connection %d: %d %s, want 408 with a timeout error", i, resp.StatusCode, body)
		}
		if !resp.Close {
			t.Errorf("connection %d: the 408 does not close the connection", i)
		}
	}
	if waited := time.Since(start); waited < readTimeout {
		t.Errorf("the 408s came after %v, before the read timeout of %v", waited, readTimeout)
	}
}

func TestABodyThatArrivesIsServedPastTheReadTimeout(t *testing.T) {
	const readTimeout = 200 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slow", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		// The handler's own work may take longer than the read timeout:
		// its request context stays alive.
		select {
		case <-time.After(3 * readTimeout):
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusInternalServerError)
			return
		}
		w.Write(b)
	})
	addr := serve(t, mux, readTimeout, 100)
	resp, err := http.Post("http://"+addr+"/slow", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "hello" {
		t.Errorf("got %d %q, want 200 \"hello\"", resp.StatusCode, b)
	}
}

func TestConnectionsBeyondTheCapGetHealthChecksOnly(t *testing.T) {
	addr := serve(t, routes(), 30*time.Second, 2)
	// Two connections take the cap, each holding a request open.
	for range 2 {
		trickle(t, addr)
	}
	// Let the server accept both before the next dial.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := get(t, "http://"+addr+"/other")
		if code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/other beyond the cap: %d, want 503", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := get(t, "http://"+addr+"/healthz"); code != 200 || body != "ok" {
		t.Errorf("/healthz beyond the cap: %d %q, want 200", code, body)
	}
}

func TestExpireAnswersBodiesStillArriving(t *testing.T) {
	b := NewBodies(time.Hour)
	srv := httptest.NewServer(b.Handler(routes()))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	c := trickle(t, addr)
	// The server must be reading the body before Expire: a request sent
	// after it is answered 408 as well, so either way the answer comes.
	b.Expire()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer after Expire: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d after Expire, want 408", resp.StatusCode)
	}
}
