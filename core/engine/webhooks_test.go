package engine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/alerts"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/core/webhooks"
	"github.com/switchboard-chat/switchboard/sdk"
)

// The events of a conversation are recorded once each, in the order of
// what happened, numbered 1, 2, 3… within the conversation.
func TestConversationEventsAreRecordedOnceInOrder(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = conversation.ConsoleDesk
	h := newHarness(t, cfg, &model{turn: answer("Hi there")})
	ctx := context.Background()
	ann := conversation.Operator{ID: "op-ann", Name: "Ann"}
	bob := conversation.Operator{ID: "op-bob", Name: "Bob"}

	id := h.visitor("1", "hello")
	h.eventually("the answer", func() bool { return len(h.transcript(id)) == 2 })
	h.visitor("2", "human please")
	h.eventually("the wait", func() bool { return h.conv(id).State == conversation.WaitingHuman })
	for _, req := range []conversation.Event{
		conversation.Claimed{Operator: ann},
		conversation.Transferred{From: ann, To: bob},
		conversation.OperatorMessage{Operator: bob, Text: "VIP", Private: true},
		conversation.Released{Operator: bob},
	} {
		if _, err := h.eng.Do(ctx, id, req); err != nil {
			t.Fatalf("%T: %v", req, err)
		}
	}

	evs, _, err := h.st.EventsAfter(0, 0, func(e *events.Event) bool { return e.ConversationID == id })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, e := range evs {
		if e.ConversationSeq != uint64(i+1) || e.Channel != "tg" {
			t.Errorf("event %d: conversation seq %d channel %q", i, e.ConversationSeq, e.Channel)
		}
		var d map[string]any
		json.Unmarshal(e.Data(), &d)
		line := string(e.Type)
		for _, k := range []string{"role", "text", "from", "to", "cause", "desk"} {
			switch v := d[k].(type) {
			case string:
				line += " " + k + "=" + v
			case map[string]any:
				line += " " + k + "=" + v["name"].(string)
			}
		}
		got = append(got, line)
	}
	want := []string{
		"conversation.created",
		"message.created role=visitor text=hello",
		"message.created role=bot text=Hi there",
		"message.created role=visitor text=human please",
		"conversation.state_changed from=bot to=waiting_human cause=keyword",
		"handoff.requested cause=keyword desk=console",
		"message.created role=bot text=connecting you",
		"conversation.state_changed from=waiting_human to=human cause=operator",
		"conversation.assigned to=Ann",
		"message.created role=system text=Ann joined the conversation.",
		"conversation.assigned from=Ann to=Bob",
		"message.created role=system text=Ann transferred the conversation to Bob.",
		"conversation.state_changed from=human to=waiting_human cause=released",
		"conversation.assigned from=Bob",
		"message.created role=system text=Bob put the conversation back in the queue.",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// hookReceiver is a webhook receiver whose answer the test decides.
type hookReceiver struct {
	mu sync.Mutex
	// answer writes the answer to request n (1-based); nil: 204.
	answer func(n int, w http.ResponseWriter)
	got    []hookRequest
	URL    string
	// inFlight counts the requests being answered.
	inFlight atomic.Int32
}

type hookRequest struct {
	id     string
	status int
	body   []byte
}

func newHookReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *hookReceiver {
	r := &hookReceiver{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.inFlight.Add(1)
		defer r.inFlight.Add(-1)
		rec := httptest.NewRecorder()
		r.mu.Lock()
		n := len(r.got) + 1
		answer := r.answer
		r.mu.Unlock()
		if answer != nil {
			answer(n, rec)
		}
		status := rec.Code
		if answer == nil || (status == http.StatusOK && rec.Body.Len() == 0 && len(rec.Header()) == 0) {
			status = http.StatusNoContent
		}
		r.mu.Lock()
		r.got = append(r.got, hookRequest{id: req.Header.Get("webhook-id"), status: status, body: body})
		r.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *hookReceiver) setAnswer(f func(n int, w http.ResponseWriter)) {
	r.mu.Lock()
	r.answer = f
	r.mu.Unlock()
}

// alertLog records alerts.
type alertLog struct {
	mu    sync.Mutex
	kinds []string
}

func (a *alertLog) Send(kind, _ string, _ map[string]string) {
	a.mu.Lock()
	a.kinds = append(a.kinds, kind)
	a.mu.Unlock()
}

func (a *alertLog) sent() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.kinds)
}

// testClock is the store's clock, moved by the test. It only moves
// forward to the present: the deliverer schedules attempts by the wall
// clock, at times the store's clock computed, so tests start it in the
// past.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// webhookSetup is a store with one subscription to a receiver and a
// deliverer running.
type webhookSetup struct {
	t      *testing.T
	st     *store.Store
	clk    *testClock
	alerts *alertLog
	rcv    *hookReceiver
	sub    store.Webhook
	d      *deliverer
}

func newWebhookSetup(t *testing.T, start time.Duration, answer func(n int, w http.ResponseWriter)) *webhookSetup {
	t.Helper()
	clk := &testClock{off: start}
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &webhookSetup{t: t, st: st, clk: clk, alerts: &alertLog{}, rcv: newHookReceiver(t, answer)}
	s.sub = store.Webhook{URL: s.rcv.URL, Secret: webhooks.NewSecret()}
	if err := st.Update(context.Background(), func(tx *store.Tx) error { return store.CreateWebhookTx(tx, &s.sub) }); err != nil {
		t.Fatal(err)
	}
	s.d = runDeliverer(t, st, channels{}, DeliveryConfig{
		BaseBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Alerts: s.alerts,
		Webhooks: WebhookDelivery{Client: webhooks.NewClient(5*time.Second, clk.Now, "test"), RetryFor: 24 * time.Hour, PauseAfter: time.Hour},
	})
	return s
}

// say commits a visitor message on chat (two events for a new chat).
func (s *webhookSetup) say(chat, id, text string) {
	s.t.Helper()
	if _, err := s.st.CommitEvents(context.Background(), "tg", []sdk.Event{{
		ID: id, Kind: sdk.KindMessage, Conversation: chat, User: sdk.User{ID: chat}, Text: text,
	}}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *webhookSetup) eventually(what string, cond func() bool) {
	s.t.Helper()
	(&harness{t: s.t}).eventually(what, cond)
}

func (s *webhookSetup) pending() int {
	out, _ := s.st.Outbox()
	return len(out)
}

// queued counts the subscription's entries the deliverer holds in memory.
func (s *webhookSetup) queued() int {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	n := 0
	for lane, q := range s.d.queues {
		if lane.Instance == store.WebhookInstance(s.sub.ID) {
			n += len(q)
		}
	}
	return n
}

func (s *webhookSetup) state() store.WebhookState {
	w, err := s.st.Webhook(s.sub.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return w.State
}

type delivered struct {
	Type string `json:"type"`
	Data struct {
		ConversationID  string `json:"conversation_id"`
		ConversationSeq uint64 `json:"conversation_seq"`
	} `json:"data"`
}

// checkDelivered checks that the receiver accepted each of the log's
// events once, each conversation's in order.
func (s *webhookSetup) checkDelivered() {
	s.t.Helper()
	evs, _, err := s.st.EventsAfter(0, 0, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	accepted := map[string]int{}
	last := map[string]uint64{}
	for _, r := range s.rcv.requests() {
		if r.status >= 300 {
			continue
		}
		accepted[r.id]++
		var d delivered
		if err := json.Unmarshal(r.body, &d); err != nil {
			s.t.Fatalf("body %s: %v", r.body, err)
		}
		if d.Data.ConversationSeq != last[d.Data.ConversationID]+1 {
			s.t.Errorf("conversation %s: event %d arrived after %d", d.Data.ConversationID, d.Data.ConversationSeq, last[d.Data.ConversationID])
		}
		last[d.Data.ConversationID] = d.Data.ConversationSeq
	}
	for _, e := range evs {
		if accepted[e.ID] != 1 {
			s.t.Errorf("event %d (%s) accepted %d times", e.Seq, e.ID, accepted[e.ID])
		}
	}
	if len(accepted) != len(evs) {
		s.t.Errorf("%d events accepted, the log has %d", len(accepted), len(evs))
	}
}

func TestWebhookDeliveriesOutlastAFailingReceiver(t *testing.T) {
	s := newWebhookSetup(t, 0, func(n int, w http.ResponseWriter) {
		if n <= 15 {
			http.Error(w, "database down", http.StatusInternalServerError)
		}
	})
	for i := range 8 {
		for _, chat := range []string{"a", "b", "c"} {
			s.say(chat, chat+string(rune('0'+i)), "line")
		}
	}
	s.eventually("the deliveries", func() bool { return s.pending() == 0 })
	s.checkDelivered()
	attempts, err := s.st.WebhookAttempts(s.sub.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var failed, ok int
	for _, a := range attempts {
		switch a.Outcome {
		case "retrying":
			failed++
			if a.Status != 500 || !strings.Contains(a.Error, "database down") || a.Duration <= 0 || a.NextAttempt.IsZero() {
				t.Errorf("failed attempt %+v", a)
			}
		case "delivered":
			ok++
		}
	}
	if failed != 15 || ok != 27 {
		t.Errorf("%d failed and %d delivered attempts recorded, want 15 and 27", failed, ok)
	}
	if w, _ := s.st.Webhook(s.sub.ID); w.State != store.WebhookActive || !w.FailingSince.IsZero() {
		t.Errorf("after recovering: %+v", w)
	}
}

func TestWebhookRetryAfterIsHonoured(t *testing.T) {
	s := newWebhookSetup(t, 0, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	s.say("a", "1", "hello") // conversation.created, message.created: one lane
	s.eventually("the first attempt", func() bool {
		a, _ := s.st.WebhookAttempts(s.sub.ID, 1)
		return len(a) == 1
	})
	a, _ := s.st.WebhookAttempts(s.sub.ID, 1)
	if wait := a[0].NextAttempt.Sub(a[0].At); a[0].Status != 429 || wait < 59*time.Minute || wait > 61*time.Minute {
		t.Fatalf("after a 429 with Retry-After 3600: %+v (next in %v)", a[0], wait)
	}
	if n := len(s.rcv.requests()); n != 1 {
		t.Fatalf("%d requests: the lane must wait for the receiver", n)
	}
	// Sent again on request: due now, and the rest of the lane follows.
	var seq uint64
	out, _ := s.st.Outbox()
	seq = out[0].Seq
	if err := s.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := store.RetryWebhookDeliveryTx(tx, s.sub.ID, seq)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.eventually("the deliveries", func() bool { return s.pending() == 0 })
	s.checkDelivered()
}

func TestWebhookGoneDisablesTheSubscription(t *testing.T) {
	s := newWebhookSetup(t, 0, func(int, http.ResponseWriter) {})
	s.rcv.setAnswer(func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusGone) })
	s.say("a", "1", "hello")
	s.say("b", "2", "hello")
	s.eventually("the subscription disabled", func() bool { return s.state() == store.WebhookDisabled })
	s.eventually("its deliveries dropped", func() bool { return s.pending() == 0 })
	n := len(s.rcv.requests())
	s.say("a", "3", "more")
	if s.pending() != 0 {
		t.Fatal("a disabled subscription still gets events")
	}
	s.eventually("the alert", func() bool { return slices.Contains(s.alerts.sent(), alerts.WebhookDisabled) })
	if n > 2 {
		t.Fatalf("%d requests to a receiver that answered 410 Gone to the first", n)
	}
	if dl, _ := s.st.DeadLetters(); len(dl) != 0 {
		t.Fatalf("dead letters %+v", dl)
	}
}

func TestAFailingWebhookIsPausedAndResumedWithoutLoss(t *testing.T) {
	s := newWebhookSetup(t, -61*time.Minute, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) })
	s.say("a", "1", "one")
	s.say("b", "2", "two")
	s.eventually("failed attempts", func() bool {
		a, _ := s.st.WebhookAttempts(s.sub.ID, 0)
		return len(a) >= 4
	})
	s.clk.Add(61 * time.Minute)
	s.eventually("the pause", func() bool { return s.state() == store.WebhookPaused })
	s.eventually("the alert", func() bool { return slices.Contains(s.alerts.sent(), alerts.WebhookPaused) })
	// Paused: its deliveries wait in the store, none in the deliverer;
	// new events wait in the log.
	s.eventually("the deliveries held", func() bool { return s.queued() == 0 })
	pending := s.pending()
	s.say("a", "3", "three")
	s.say("c", "4", "four")
	if s.pending() != pending || s.queued() != 0 {
		t.Fatalf("paused, yet %d deliveries pending (was %d), %d queued", s.pending(), pending, s.queued())
	}

	s.rcv.setAnswer(func(int, http.ResponseWriter) {})
	if err := s.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := store.SetWebhookStateTx(tx, s.sub.ID, store.WebhookActive, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.eventually("the deliveries", func() bool { return s.pending() == 0 })
	s.checkDelivered()
}

func TestAWebhookDeliveryGivesUpAfterRetryFor(t *testing.T) {
	s := newWebhookSetup(t, -25*time.Hour, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) })
	s.say("a", "1", "one")
	s.eventually("failed attempts", func() bool {
		a, _ := s.st.WebhookAttempts(s.sub.ID, 0)
		return len(a) >= 2
	})
	s.clk.Add(25 * time.Hour)
	s.eventually("dead letters", func() bool { dl, _ := s.st.DeadLetters(); return len(dl) == 2 })
	s.eventually("the alert", func() bool { return slices.Contains(s.alerts.sent(), alerts.DeadLetter) })
	if s.state() != store.WebhookActive {
		t.Fatalf("state %s: a delivery given up does not pause the subscription", s.state())
	}
}

// Entries reach the deliverer through the engine's commits, the store's
// listener and its own load at start, possibly twice and out of order:
// each lane holds each entry once, in Seq order, and a newer copy of an
// entry (made due again) replaces the queued one unless it is in flight.
func TestTheDelivererQueuesEachEntryOnceInOrder(t *testing.T) {
	d := newDeliverer(DeliveryConfig{}, nil, nil, nil, nil)
	lane := store.Lane{ConversationID: "c1", Instance: "webhook:wh_1"}
	entry := func(seq uint64, attempts int) store.OutboxEntry {
		return store.OutboxEntry{Seq: seq, ConversationID: lane.ConversationID, Instance: lane.Instance, Attempts: attempts}
	}
	seqs := func() []string {
		var out []string
		for _, e := range d.queues[lane] {
			out = append(out, e.ID()+"/"+strings.Repeat("+", e.Attempts))
		}
		return out
	}
	d.add([]store.OutboxEntry{entry(3, 0), entry(5, 0)})
	d.add([]store.OutboxEntry{entry(1, 0), entry(3, 0), entry(4, 0), entry(5, 1)})
	if got := seqs(); !slices.Equal(got, []string{"o1/", "o3/", "o4/", "o5/+"}) {
		t.Fatalf("queue %v", got)
	}
	d.busy[lane] = true // o1 is being attempted
	d.add([]store.OutboxEntry{entry(1, 2), entry(0, 0), entry(4, 2)})
	if got := seqs(); !slices.Equal(got, []string{"o1/", "o0/", "o3/", "o4/++", "o5/+"}) {
		t.Fatalf("queue %v", got)
	}
}

// A receiver that never answers holds no reply to a visitor back: webhook
// attempts have their own pool of senders.
func TestAHangingReceiverDoesNotDelayReplies(t *testing.T) {
	hang := make(chan struct{})
	rcv := newHookReceiver(t, func(int, http.ResponseWriter) { <-hang })
	t.Cleanup(func() { close(hang) }) // before the receiver closes
	st := openStore(t)
	sub := store.Webhook{URL: rcv.URL, Secret: webhooks.NewSecret()}
	if err := st.Update(context.Background(), func(tx *store.Tx) error { return store.CreateWebhookTx(tx, &sub) }); err != nil {
		t.Fatal(err)
	}
	tg := &recorder{}
	d := runDeliverer(t, st, channels{"tg": tg}, DeliveryConfig{
		Concurrency: 2, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		Webhooks: WebhookDelivery{Client: webhooks.NewClient(time.Minute, nil, "test")},
	})
	// Three conversations' events fill the webhook pool and wait…
	for _, chat := range []string{"a", "b", "c"} {
		if _, err := st.CommitEvents(context.Background(), "tg", []sdk.Event{{ID: chat, Kind: sdk.KindMessage, Conversation: chat, User: sdk.User{ID: chat}, Text: "hi"}}); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t}
	h.eventually("the webhook pool busy", func() bool { return rcv.inFlight.Load() == 2 })
	// …while replies go out.
	for i, chat := range []string{"a", "b", "c"} {
		d.add(queue(t, st, store.OutboxEntry{ConversationID: chat, Instance: "tg", Payload: store.SendText{Ref: chat, Text: "reply " + strconv.Itoa(i)}}))
	}
	h.eventually("the replies", func() bool { return len(tg.texts()) == 3 })
}
