package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Five webhooks of 1 MB each into one chat, then a handoff: the desk gets
// it with a transcript bounded in bytes, the newest lines kept and the
// older ones counted. Unbounded, the transcript of the five would exceed
// the plugin connection's message limit, and the handoff would be retried
// forever.
func TestHandoffAfterHugeMessagesReachesTheDesk(t *testing.T) {
	desk := newFakeDesk(t)
	target := newFakeTarget(t)
	llm := startOllama(t, func() answer { return say("noted") })
	d := startDaemon(t, llm.Config()+deskConfig(desk.URL)+echoChannel(target.URL))

	big := strings.Repeat("a", 1_000_000-100)
	for i := range 5 {
		body := fmt.Sprintf(`{"id":"big-%d","chat":"room-1","user":"u1","name":"Ann","text":%q}`, i, big)
		if code := postWebhook(t, d.URL, "demo", body); code != 200 {
			t.Fatalf("webhook %d of %d bytes: status %d", i, len(body), code)
		}
		// Each gets its answer before the next, so the transcript holds
		// all of them.
		waitUntil(t, 30*time.Second, fmt.Sprintf("the answer to message %d", i), func() bool {
			return len(target.received()) > i
		})
	}
	postWebhook(t, d.URL, "demo", `{"id":"ask","chat":"room-1","user":"u1","name":"Ann","text":"human please"}`)
	waitUntil(t, 30*time.Second, "the handoff at the desk", func() bool { return desk.openedCount() > 0 })

	desk.mu.Lock()
	opened := desk.opened[0]
	desk.mu.Unlock()
	entries, _ := opened["transcript"].([]any)
	if len(entries) == 0 {
		t.Fatalf("the handoff came without a transcript: %v", opened["summary"])
	}
	size := 0
	var texts []string
	for _, e := range entries {
		text, _ := e.(map[string]any)["text"].(string)
		size += len(text)
		texts = append(texts, text)
	}
	if size > 80<<10 {
		t.Errorf("the desk's transcript holds %d bytes of text, want it bounded (64 KiB and a note)", size)
	}
	if last := texts[len(texts)-1]; last != "human please" {
		t.Errorf("the transcript ends with %.80q, want the visitor's newest line", last)
	}
	if first := texts[0]; !strings.HasSuffix(first, "earlier messages not shown") {
		t.Errorf("the transcript starts with %.80q, want the count of the lines left out", first)
	}
	if summary, _ := opened["summary"].(string); len(summary) > 2<<10 {
		t.Errorf("the summary is %d bytes long", len(summary))
	}
}

// Clients sending a webhook's body a byte at a time get 408 once
// server.read_timeout passed, their connections are closed, and /healthz
// answers all the while.
func TestATricklingBodyGets408WhileHealthzAnswers(t *testing.T) {
	const readTimeout = 2 * time.Second
	target := newFakeTarget(t)
	d := startDaemonWith(t, echoChannel(target.URL), fmt.Sprintf("read_timeout = %q", readTimeout.String()), "")
	addr := strings.TrimPrefix(d.URL, "http://")

	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /webhooks/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{")
		conns = append(conns, c)
	}
	start := time.Now()
	for range 5 {
		asked := time.Now()
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(d.URL + "/healthz")
		if err != nil {
			t.Fatalf("/healthz while bodies trickle: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/healthz while bodies trickle: %d", resp.StatusCode)
		}
		t.Logf("/healthz answered in %v", time.Since(asked).Round(time.Millisecond))
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: no answer: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
			t.Errorf("connection %d: %d (close %v), want 408 closing the connection", i, resp.StatusCode, resp.Close)
		}
		// The server closed its side: a read ends at once.
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("connection %d stays open after the 408", i)
		}
	}
	t.Logf("the 408s were in %v after the bodies began (read_timeout %v)", time.Since(start).Round(time.Millisecond), readTimeout)
}

// With server.max_body_bytes above gRPC's default 4 MiB, a webhook of 6 MB
// still reaches its plugin: both ends of the plugin connection take
// messages of the body limit plus framing. Otherwise it would get 503
// and Retry-After, and the platform would redeliver it forever.
func TestALargeWebhookWithinTheBodyLimitReachesItsPlugin(t *testing.T) {
	target := newFakeTarget(t)
	d := startDaemonWith(t, echoChannel(target.URL), "max_body_bytes = 8388608", "")
	big := strings.Repeat("b", 6_000_000)
	body := fmt.Sprintf(`{"id":"huge","chat":"room-1","user":"u1","text":%q}`, big)
	if code := postWebhook(t, d.URL, "demo", body); code != 200 {
		t.Fatalf("a webhook of %d bytes under a limit of 8388608: status %d", len(body), code)
	}
	if code := postWebhook(t, d.URL, "demo", body+strings.Repeat(" ", 8388608)); code != 413 {
		t.Errorf("a webhook over the limit: status %d, want 413", code)
	}
}

// SIGTERM with clients still trickling bodies: they get 408 at once and
// the daemon exits, long before the read and shutdown timeouts (it used to
// wait for the whole shutdown timeout).
func TestSIGTERMDoesNotWaitForTricklingBodies(t *testing.T) {
	target := newFakeTarget(t)
	d := startDaemonWith(t, echoChannel(target.URL), "read_timeout = \"120s\"\nshutdown_timeout = \"120s\"", "")
	addr := strings.TrimPrefix(d.URL, "http://")
	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /webhooks/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{")
		conns = append(conns, c)
	}
	// The daemon answers while the bodies trickle.
	resp, err := http.Get(d.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	start := time.Now()
	d.Signal(syscall.SIGTERM)
	select {
	case <-d.Done():
		if err := d.Err(); err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the daemon waited for the trickling bodies")
	}
	t.Logf("exited %v after SIGTERM with 20 bodies trickling", time.Since(start).Round(time.Millisecond))
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			continue // closed at exit before its answer was read
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("connection %d: %d, want 408", i, resp.StatusCode)
		}
	}
}
