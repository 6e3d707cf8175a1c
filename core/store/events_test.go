package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/sdk"
)

// clock is an injected clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func allEvents(t *testing.T, s *Store) []events.Event {
	t.Helper()
	evs, _, err := s.EventsAfter(0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// summary is "type conversation#seq" per event, for comparisons.
func summary(evs []events.Event, convNames map[string]string) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Type)+" "+convNames[e.ConversationID]+"#"+strconv.FormatUint(e.ConversationSeq, 10))
	}
	return out
}

func TestEventsAreRecordedWithTheChangeTheyDescribe(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	if _, err := s.CommitEvents(ctx, "tg", []sdk.Event{msg("1", "a", "hello"), msg("2", "b", "hi"), msg("3", "a", "anyone?")}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.ConversationByRef("tg", "a")
	b, _ := s.ConversationByRef("tg", "b")
	// A private note is no event; a bot line and a state change are.
	if _, err := s.AppendMessage(ctx, Message{ConversationID: a.ID, Role: conversation.RoleOperator, Text: "vip", Private: true}); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx *Tx) error {
		if err := s.AppendMessageTx(tx, &Message{ConversationID: a.ID, Role: conversation.RoleBot, Text: "one moment"}); err != nil {
			return err
		}
		return AddTransitionTx(tx, a.ID, conversation.Transition{From: conversation.Bot, To: conversation.WaitingHuman, Cause: conversation.CauseKeyword})
	})
	if err != nil {
		t.Fatal(err)
	}
	api, err := s.CreateConversation(ctx, Conversation{Channel: "api"})
	if err != nil {
		t.Fatal(err)
	}

	evs := allEvents(t, s)
	names := map[string]string{a.ID: "a", b.ID: "b", api.ID: "api"}
	want := []string{
		"conversation.created a#1", "message.created a#2",
		"conversation.created b#1", "message.created b#2",
		"message.created a#3",
		"message.created a#4", "conversation.state_changed a#5",
		"conversation.created api#1",
	}
	if got := summary(evs, names); !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, e := range evs {
		if e.Seq != uint64(i+1) || !strings.HasPrefix(e.ID, "evt_") || e.Time.IsZero() {
			t.Fatalf("event %d: seq %d id %q time %v", i, e.Seq, e.ID, e.Time)
		}
	}
	var data map[string]any
	if err := json.Unmarshal(evs[6].Data(), &data); err != nil {
		t.Fatal(err)
	}
	if data["conversation_id"] != a.ID || data["conversation_seq"] != 5.0 || data["channel"] != "tg" ||
		data["from"] != "bot" || data["to"] != "waiting_human" || data["cause"] != "keyword" {
		t.Fatalf("state_changed data: %v", data)
	}
	if err := json.Unmarshal(evs[1].Data(), &data); err != nil {
		t.Fatal(err)
	}
	if data["role"] != "visitor" || data["text"] != "hello" || data["message_id"] == "" {
		t.Fatalf("message.created data: %v", data)
	}
}

func TestAFailedWriteRecordsNoEvent(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	c, err := s.CreateConversation(ctx, Conversation{Channel: "api"})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = s.Update(ctx, func(tx *Tx) error {
		if _, err := EmitTx(tx, c.Subject(), events.ConversationAssigned{To: &events.Operator{ID: "op1"}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update: %v", err)
	}
	err = s.Update(ctx, func(tx *Tx) error {
		_, err := EmitTx(tx, c.Subject(), events.ConversationAssigned{To: &events.Operator{ID: "op2"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := allEvents(t, s)
	if len(evs) != 2 || evs[1].Seq != 2 || evs[1].ConversationSeq != 2 || !strings.Contains(string(evs[1].Payload), "op2") {
		t.Fatalf("after a failed write: %+v", evs)
	}
}

// listener records what the store hands the deliverer.
type listener struct {
	mu      sync.Mutex
	entries []OutboxEntry
}

func (l *listener) add(es []OutboxEntry) {
	l.mu.Lock()
	l.entries = append(l.entries, es...)
	l.mu.Unlock()
}

func (l *listener) take() []OutboxEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.entries
	l.entries = nil
	return out
}

func createWebhook(t *testing.T, s *Store, w Webhook) Webhook {
	t.Helper()
	if w.Secret == "" {
		w.Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	}
	err := s.Update(context.Background(), func(tx *Tx) error { return CreateWebhookTx(tx, &w) })
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// deliveries are the pending webhook deliveries of the outbox, as
// "subscription type conversation#seq".
func deliveries(t *testing.T, s *Store) []WebhookEvent {
	t.Helper()
	all, err := s.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	var out []WebhookEvent
	for _, e := range all {
		if w, ok := e.Payload.(WebhookEvent); ok {
			if e.Instance != WebhookInstance(w.Subscription) {
				t.Fatalf("entry %d goes to %s for subscription %s", e.Seq, e.Instance, w.Subscription)
			}
			out = append(out, w)
		}
	}
	return out
}

func TestEventsAreQueuedForTheSubscriptionsThatWantThem(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	l := &listener{}
	s.OnOutbox(l.add)
	all := createWebhook(t, s, Webhook{URL: "https://a.example/hook"})
	msgs := createWebhook(t, s, Webhook{URL: "https://b.example/hook", Events: []events.Type{events.TypeMessageCreated}})
	paused := createWebhook(t, s, Webhook{URL: "https://c.example/hook"})
	if err := s.Update(ctx, func(tx *Tx) error {
		_, err := SetWebhookStateTx(tx, paused.ID, WebhookPaused, "failing")
		return err
	}); err != nil {
		t.Fatal(err)
	}

	if _, err := s.CommitEvents(ctx, "tg", []sdk.Event{msg("1", "a", "hello")}); err != nil {
		t.Fatal(err)
	}
	got := deliveries(t, s)
	var subs []string
	for _, d := range got {
		subs = append(subs, d.Subscription+" "+string(d.Type))
	}
	want := []string{all.ID + " conversation.created", all.ID + " message.created", msgs.ID + " message.created"}
	// Subscriptions made in the same millisecond have ids in no set order.
	slices.Sort(subs)
	slices.Sort(want)
	if !slices.Equal(subs, want) {
		t.Fatalf("deliveries %v, want %v", subs, want)
	}
	if heard := l.take(); len(heard) != 3 {
		t.Fatalf("the deliverer heard of %d entries, want 3", len(heard))
	}
	var body struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(got[1].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "message.created" || body.Timestamp.IsZero() || !strings.Contains(string(body.Data), `"text":"hello"`) {
		t.Fatalf("body %s", got[1].Body)
	}
	evs := allEvents(t, s)
	if got[1].EventID != evs[1].ID || got[1].EventSeq != evs[1].Seq {
		t.Fatalf("delivery of %s/%d, event %s/%d", got[1].EventID, got[1].EventSeq, evs[1].ID, evs[1].Seq)
	}
	// The subscription is read again after it changes.
	if err := s.Update(ctx, func(tx *Tx) error { return DeleteWebhookTx(tx, all.ID) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitEvents(ctx, "tg", []sdk.Event{msg("2", "a", "again")}); err != nil {
		t.Fatal(err)
	}
	got = deliveries(t, s)
	if len(got) != 2 || got[0].Subscription != msgs.ID || got[1].Subscription != msgs.ID {
		t.Fatalf("after deleting a subscription: %+v", got)
	}
}

func TestAResumedSubscriptionGetsWhatItMissed(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	l := &listener{}
	s.OnOutbox(l.add)
	w := createWebhook(t, s, Webhook{URL: "https://a.example/hook", Events: []events.Type{events.TypeMessageCreated}})
	setState := func(state WebhookState) {
		t.Helper()
		if err := s.Update(ctx, func(tx *Tx) error {
			_, err := SetWebhookStateTx(tx, w.ID, state, "test")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	texts := func(ds []WebhookEvent) []string {
		var out []string
		for _, d := range ds {
			var b struct {
				Data struct{ Text string } `json:"data"`
			}
			json.Unmarshal(d.Body, &b)
			out = append(out, b.Data.Text)
		}
		return out
	}
	s.CommitEvents(ctx, "tg", []sdk.Event{msg("1", "a", "one")})
	setState(WebhookPaused)
	s.CommitEvents(ctx, "tg", []sdk.Event{msg("2", "a", "two"), msg("3", "b", "three")})
	if got := texts(deliveries(t, s)); !slices.Equal(got, []string{"one"}) {
		t.Fatalf("while paused: %v", got)
	}
	l.take()
	setState(WebhookActive)
	if got := texts(deliveries(t, s)); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Fatalf("after resuming: %v", got)
	}
	heard := l.take()
	if len(heard) != 3 || heard[0].Seq >= heard[1].Seq || heard[1].Seq >= heard[2].Seq {
		t.Fatalf("the deliverer heard %+v", heard)
	}
	// Disabling drops what is pending; enabling again brings new events
	// only.
	setState(WebhookDisabled)
	if got := deliveries(t, s); len(got) != 0 {
		t.Fatalf("disabled, still pending: %v", texts(got))
	}
	s.CommitEvents(ctx, "tg", []sdk.Event{msg("4", "a", "four")})
	setState(WebhookActive)
	s.CommitEvents(ctx, "tg", []sdk.Event{msg("5", "a", "five")})
	if got := texts(deliveries(t, s)); !slices.Equal(got, []string{"five"}) {
		t.Fatalf("enabled again: %v", got)
	}
}

func TestPurgedEventsAreReportedToResumingReaders(t *testing.T) {
	clk := newClock()
	s := openTest(t, Options{Now: clk.Now})
	ctx := context.Background()
	s.CommitEvents(ctx, "tg", []sdk.Event{msg("1", "a", "old")}) // events 1, 2
	clk.Add(time.Hour)
	s.CommitEvents(ctx, "line", []sdk.Event{msg("2", "b", "new")}) // events 3, 4

	n, err := s.PurgeEvents(ctx, clk.Now().Add(-time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("purged %d, %v", n, err)
	}
	b, _ := s.EventBounds()
	if b.Last != 4 || b.PurgedThrough != 2 {
		t.Fatalf("bounds %+v", b)
	}
	for _, tc := range []struct {
		after  uint64
		purged bool
		n      int
	}{{0, true, 0}, {1, true, 0}, {2, false, 2}, {3, false, 1}, {4, false, 0}} {
		evs, _, err := s.EventsAfter(tc.after, 0, nil)
		if errors.Is(err, ErrEventsPurged) != tc.purged || len(evs) != tc.n {
			t.Errorf("after %d: %d events, %v", tc.after, len(evs), err)
		}
	}
	// A filter reports how far it looked, matching or not.
	evs, through, err := s.EventsAfter(2, 0, func(e *events.Event) bool { return e.Type == events.TypeConversationCreated })
	if err != nil || len(evs) != 1 || evs[0].Seq != 3 || through != 4 {
		t.Fatalf("filtered: %v through %d, %v", evs, through, err)
	}
	if _, err := s.Event(1); !errors.Is(err, ErrEventsPurged) {
		t.Fatalf("event 1: %v", err)
	}
}

func TestAWebhookDeliveryCanBeSentAgain(t *testing.T) {
	clk := newClock()
	s := openTest(t, Options{Now: clk.Now})
	ctx := context.Background()
	l := &listener{}
	s.OnOutbox(l.add)
	w := createWebhook(t, s, Webhook{URL: "https://a.example/hook", Events: []events.Type{events.TypeConversationCreated}})
	s.CommitEvents(ctx, "tg", []sdk.Event{msg("1", "a", "hello")})
	pending, _ := s.Outbox()
	if len(pending) != 1 {
		t.Fatalf("outbox %+v", pending)
	}
	first := pending[0]
	retry := func(seq uint64) (OutboxEntry, error) {
		var e OutboxEntry
		err := s.Update(ctx, func(tx *Tx) error {
			var err error
			e, err = RetryWebhookDeliveryTx(tx, w.ID, seq)
			return err
		})
		return e, err
	}

	// Pending and waiting for its next attempt: due now.
	first.NextAttempt = clk.Now().Add(time.Hour)
	s.Update(ctx, func(tx *Tx) error { return UpdateOutboxTx(tx, &first) })
	clk.Add(time.Minute)
	l.take()
	e, err := retry(first.Seq)
	if err != nil || e.Seq != first.Seq || !e.NextAttempt.Equal(clk.Now()) || len(l.take()) != 1 {
		t.Fatalf("pending: %+v, %v", e, err)
	}

	// Delivered: queued anew, with the same webhook-id and body.
	s.Update(ctx, func(tx *Tx) error {
		if err := DeleteOutboxTx(tx, first.Seq); err != nil {
			return err
		}
		return RecordWebhookAttemptTx(tx, w.ID, WebhookAttempt{
			Delivery: first.ID(), EventID: first.Payload.(WebhookEvent).EventID, EventSeq: first.Payload.(WebhookEvent).EventSeq,
			Attempt: 1, Status: 200, Outcome: "delivered", At: clk.Now(),
		})
	})
	again, err := retry(first.Seq)
	if err != nil || again.Seq == first.Seq {
		t.Fatalf("delivered: %+v, %v", again, err)
	}
	p, q := first.Payload.(WebhookEvent), again.Payload.(WebhookEvent)
	if p.EventID != q.EventID || string(p.Body) != string(q.Body) {
		t.Fatalf("sent again as %+v, was %+v", q, p)
	}
	attempts, _ := s.WebhookAttempts(w.ID, 10)
	if len(attempts) != 1 || attempts[0].Status != 200 {
		t.Fatalf("attempts %+v", attempts)
	}

	// Unknown deliveries, and deliveries of purged events, are refused.
	if _, err := retry(999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown delivery: %v", err)
	}
	s.Update(ctx, func(tx *Tx) error { return DeleteOutboxTx(tx, again.Seq) })
	s.PurgeEvents(ctx, clk.Now().Add(-30*time.Second)) // the event, not the attempt
	if _, err := retry(first.Seq); !errors.Is(err, ErrEventsPurged) {
		t.Fatalf("purged event: %v", err)
	}
	// Attempts go with the events' retention.
	clk.Add(time.Hour)
	s.PurgeEvents(ctx, clk.Now())
	if attempts, _ := s.WebhookAttempts(w.ID, 10); len(attempts) != 0 {
		t.Fatalf("attempts after the purge: %+v", attempts)
	}
}

func TestConfigSubscriptionsFollowTheFile(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	a := Webhook{URL: "https://a.example/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	b := Webhook{URL: "https://b.example/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	if err := s.SyncConfigWebhooks(ctx, []Webhook{a, b}); err != nil {
		t.Fatal(err)
	}
	id := ConfigWebhookID(a.URL)
	if err := s.Update(ctx, func(tx *Tx) error {
		_, err := SetWebhookStateTx(tx, id, WebhookPaused, "failing")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	a.Events = []events.Type{events.TypeHandoffRequested}
	if err := s.SyncConfigWebhooks(ctx, []Webhook{a}); err != nil {
		t.Fatal(err)
	}
	ws, _ := s.Webhooks()
	if len(ws) != 1 || ws[0].ID != id || !ws[0].FromConfig || ws[0].State != WebhookPaused ||
		!slices.Equal(ws[0].Events, a.Events) {
		t.Fatalf("after the file changed: %+v", ws)
	}
}
