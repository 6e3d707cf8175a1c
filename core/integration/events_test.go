package integration

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// verifyWebhook checks a delivery as the Standard Webhooks specification
// tells receivers to: the HMAC-SHA256 key is the base64 after "whsec_";
// the signed content is webhook-id, webhook-timestamp and the raw body
// joined by "."; webhook-signature lists space-separated "v1,<base64>"
// signatures, one of which must match; the timestamp must be within five
// minutes of now.
func verifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	secs, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		return errors.New("missing webhook-id or webhook-timestamp")
	}
	if d := now.Sub(time.Unix(secs, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp outside the tolerance")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if b64, ok := strings.CutPrefix(sig, "v1,"); ok {
			if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return errors.New("no signature matches")
}

func newSecret(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// eventReceiver is an integrator's webhook endpoint: it verifies every
// delivery, answers 500 while failing is set, and counts each webhook-id
// once, the first time it accepts it (as a receiver that deduplicates).
type eventReceiver struct {
	t       *testing.T
	secret  string
	failing atomic.Bool

	mu       sync.Mutex
	requests int
	bad      []string
	accepted map[string]bool
	order    map[string][]uint64 // conversation → conversation_seq, in acceptance order
	raw      []capturedHook
}

type capturedHook struct {
	header http.Header
	body   []byte
}

func newEventReceiver(t *testing.T, secret string) (*eventReceiver, string) {
	r := &eventReceiver{t: t, secret: secret, accepted: map[string]bool{}, order: map[string][]uint64{}}
	url := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests++
		r.raw = append(r.raw, capturedHook{req.Header.Clone(), body})
		if err := verifyWebhook(r.secret, req.Header, body, time.Now()); err != nil {
			r.bad = append(r.bad, err.Error())
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.failing.Load() {
			http.Error(w, "receiver down", http.StatusInternalServerError)
			return
		}
		id := req.Header.Get("webhook-id")
		if r.accepted[id] {
			w.WriteHeader(http.StatusNoContent) // a repeat: already processed
			return
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				ConversationID  string `json:"conversation_id"`
				ConversationSeq uint64 `json:"conversation_seq"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.Type == "" {
			r.bad = append(r.bad, fmt.Sprintf("body %s: %v", body, err))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.accepted[id] = true
		r.order[ev.Data.ConversationID] = append(r.order[ev.Data.ConversationID], ev.Data.ConversationSeq)
		w.WriteHeader(http.StatusNoContent)
	}))
	return r, url
}

func (r *eventReceiver) stats() (requests, accepted int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, len(r.accepted)
}

// streamIDs reads the daemon's event stream from its start until it has
// want events, and returns their webhook ids.
func streamIDs(t *testing.T, d *daemon, want int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", d.URL+"/v1/events?last_event_id=0", nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := d.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ids []string
	lines := bufio.NewScanner(resp.Body)
	lastSeq := uint64(0)
	for len(ids) < want && lines.Scan() {
		field, value, _ := strings.Cut(lines.Text(), ": ")
		switch field {
		case "id":
			seq, _ := strconv.ParseUint(value, 10, 64)
			if seq != lastSeq+1 {
				t.Fatalf("stream id %d after %d", seq, lastSeq)
			}
			lastSeq = seq
		case "data":
			var ev struct {
				ID string `json:"id"`
			}
			json.Unmarshal([]byte(value), &ev)
			ids = append(ids, ev.ID)
		}
	}
	if len(ids) < want {
		t.Fatalf("the stream gave %d events, want %d", len(ids), want)
	}
	return ids
}

// Events are delivered as signed Standard Webhooks to a receiver that
// fails for a while, through a SIGKILL of the daemon: afterwards every
// event has arrived, once, in order within its conversation, and the event
// stream shows the same events.
func TestEventWebhooksOutlastAFailingReceiverAndAKill(t *testing.T) {
	secret := newSecret(t)
	rcv, url := newEventReceiver(t, secret)
	rcv.failing.Store(true)
	target := newFakeTarget(t)
	d := startDaemon(t, echoChannel(target.URL)+fmt.Sprintf(`
[[webhooks]]
url = %q
secret = %q
`, url+"/switchboard", secret))

	for i := range 6 {
		for _, chat := range []string{"room-a", "room-b", "room-c"} {
			body := fmt.Sprintf(`{"id":"%s-%d","chat":%q,"user":"u-%s","text":"message %d"}`, chat, i, chat, chat, i)
			if status := postWebhook(t, d.URL, "demo", body); status != http.StatusOK {
				t.Fatalf("webhook: %d", status)
			}
		}
	}
	waitUntil(t, 20*time.Second, "failed attempts", func() bool { n, _ := rcv.stats(); return n >= 6 })

	// Killed with every delivery pending, started again: they go out.
	d.kill()
	d.start()
	rcv.failing.Store(false)

	// Without a model each chat is handed to the people at once: per chat
	// conversation.created, six message.created from the visitor,
	// conversation.state_changed, handoff.requested, the bot's fallback
	// line and kb.unanswered (the empty knowledge base had no answer).
	const total = 3 * 11
	waitUntil(t, 60*time.Second, "every event delivered", func() bool { _, n := rcv.stats(); return n >= total })

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Fatalf("deliveries that failed verification: %v", rcv.bad)
	}
	if len(rcv.order) != 3 {
		t.Fatalf("events of %d conversations, want 3", len(rcv.order))
	}
	for conv, seqs := range rcv.order {
		for i, s := range seqs {
			if s != uint64(i+1) {
				t.Fatalf("conversation %s: events arrived as %v, want 1, 2, 3… each once", conv, seqs)
			}
		}
	}
	if len(rcv.accepted) != total {
		t.Fatalf("%d events accepted, want %d", len(rcv.accepted), total)
	}
	for _, id := range streamIDs(t, d, total) {
		if !rcv.accepted[id] {
			t.Fatalf("event %s is in the stream but was never delivered", id)
		}
	}

	// The receiver's checks are not a formality: a changed body, or the
	// same delivery replayed six minutes later, fails them.
	h := rcv.raw[len(rcv.raw)-1]
	ts, _ := strconv.ParseInt(h.header.Get("webhook-timestamp"), 10, 64)
	sent := time.Unix(ts, 0)
	if err := verifyWebhook(secret, h.header, h.body, sent); err != nil {
		t.Fatalf("a delivery as received: %v", err)
	}
	tampered := []byte(strings.Replace(string(h.body), `"type":"`, `"type":"x`, 1))
	if err := verifyWebhook(secret, h.header, tampered, sent); err == nil {
		t.Fatal("a tampered body verified")
	}
	if err := verifyWebhook(secret, h.header, h.body, sent.Add(6*time.Minute)); err == nil {
		t.Fatal("a delivery six minutes old verified")
	}
}

// waitUntil polls cond until it holds or limit passes.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
