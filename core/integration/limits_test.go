package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Five webhooks of 1 MB each into one chat, then a handoff: the desk gets
// it with a transcript bounded in bytes, the newest lines kept and the
// older ones counted. The transcript of the five used to exceed the
// plugin connection's message limit, and the handoff was retried forever.
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
