package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// A database written before the outbox had typed payloads (schema 1) is
// upgraded on open, and each of its pending entries reaches the same
// instance, as the same operation, with the same delivery id as before;
// its dead letter can still be retried.
func TestSchema1OutboxIsDeliveredAfterTheUpgrade(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "store", "testdata", "schema1.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Rules.Desk = "desk"
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "switchboard.db"), cfg: cfg, ch: channels{
		"tg":   {caps: sdk.Capabilities{Typing: true}},
		"line": {caps: sdk.Capabilities{Typing: true}},
		"siq":  {caps: sdk.Capabilities{NativeHandoff: true}},
		"desk": {caps: sdk.Capabilities{Desk: true}},
	}}
	if err := os.WriteFile(h.path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.eventually("the outbox to drain", func() bool { out, _ := h.st.Outbox(); return len(out) == 0 })
	conv := func(channel, ref string) string {
		c, err := h.st.ConversationByRef(channel, ref)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	waiting, fresh, back := conv("tg", "1001"), conv("line", "U77"), conv("tg", "1003")
	private := map[string]string{"chat_type": "private"}
	ann, cy := sdk.User{ID: "1001", Name: "Ann"}, sdk.User{ID: "U77", Name: "Cy"}
	at := func(sec int) time.Time { return time.Date(2025, 6, 2, 9, 30, sec, 0, time.UTC) }

	sent := map[string][]sdk.Outbound{
		"tg": {
			{ID: "o3", Kind: sdk.OutText, Conversation: "1001", User: ann, Text: "Hi Ann, Bob here.", Role: "operator", Context: private},
			{ID: "o7", Kind: sdk.OutText, Conversation: "1003", User: sdk.User{ID: "1003", Name: "Di"}, Text: "back to bot", Role: "bot"},
		},
		"line": {{ID: "o4", Kind: sdk.OutText, Conversation: "U77", User: cy, Text: "connecting you", Role: "bot",
			Context: map[string]string{"once.reply_token": "rt-1", "reply_token_at": "1748856600000", "source_type": "user"}}},
		"siq": {{ID: "o8", Kind: sdk.OutHandoff, Conversation: "v5", User: sdk.User{ID: "v5", Name: "Ed"}, Text: "connecting you",
			Reason: "the visitor asked for a human", Context: map[string]string{"request_id": "req-5", "conversation_id": "11209000000003001"}}},
	}
	for instance, want := range sent {
		// Different conversations are delivered in parallel.
		got := slices.SortedFunc(slices.Values(h.ch[instance].sent), func(a, b sdk.Outbound) int { return strings.Compare(a.ID, b.ID) })
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s got\n%+v\nwant\n%+v", instance, got, want)
		}
	}
	desk := h.ch["desk"]
	wantOpen := []sdk.Handoff{{ID: "o5", ConversationID: fresh, Channel: "line", User: cy, Reason: "refund over limit",
		Summary:    "Cy on line needs a human (refund over limit). Last message: refund please",
		Transcript: []sdk.TranscriptEntry{{Role: "visitor", Text: "refund please", Time: at(9)}, {Role: "bot", Text: "connecting you", Time: at(10)}}}}
	if !reflect.DeepEqual(desk.opened, wantOpen) {
		t.Errorf("desk opened\n%+v\nwant\n%+v", desk.opened, wantOpen)
	}
	if want := []relayCall{{"T-1", sdk.DeskMessage{ID: "o2", User: ann, Text: "are you there?"}}}; !reflect.DeepEqual(desk.relays, want) {
		t.Errorf("desk relays %+v, want %+v", desk.relays, want)
	}
	if want := []closeCall{{"T-3", sdk.DeskClose{ID: "o6", Reason: "the visitor went back to the bot"}}}; !reflect.DeepEqual(desk.closes, want) {
		t.Errorf("desk closes %+v, want %+v", desk.closes, want)
	}
	for _, m := range []struct {
		conv, ref string
		open      bool
	}{{waiting, "T-1", true}, {fresh, "ticket-" + fresh, true}, {back, "", false}} {
		d, ref, ok := h.st.DeskRef(m.conv)
		if ok != m.open || (ok && (d != "desk" || ref != m.ref)) {
			t.Errorf("desk reference of %s: %q %q %v, want %q %v", m.conv, d, ref, ok, m.ref, m.open)
		}
	}

	dl, err := h.st.DeadLetters()
	if err != nil || len(dl) != 1 || dl[0].Entry.ID() != "o1" {
		t.Fatalf("dead letters %+v (%v)", dl, err)
	}
	var retried store.OutboxEntry
	if err := h.st.Update(t.Context(), func(tx *store.Tx) error {
		var err error
		retried, err = store.RetryDeadLetterTx(tx, dl[0].Entry.Seq, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	h.eng.Requeue(retried)
	h.eventually("the retried dead letter", func() bool { return len(h.ch["tg"].texts()) == 3 })
	if got := h.ch["tg"].sent[2]; got.ID != "o1" || got.Text != "It ships today." || got.Conversation != "1000" {
		t.Errorf("retried dead letter went out as %+v", got)
	}
}

// runDeliverer delivers st's outbox through ch until the test ends.
func runDeliverer(t *testing.T, st *store.Store, ch channels, cfg DeliveryConfig) *deliverer {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	d := newDeliverer(cfg, st, ch, nil, log)
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); d.wait(context.Background()) })
	return d
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// queue commits entries to the outbox and returns them with their Seqs.
func queue(t *testing.T, st *store.Store, entries ...store.OutboxEntry) []store.OutboxEntry {
	t.Helper()
	err := st.Update(context.Background(), func(tx *store.Tx) error {
		for i := range entries {
			entries[i].CreatedAt, entries[i].NextAttempt = time.Now(), time.Now()
			if err := store.PutOutboxTx(tx, &entries[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// An unknown outcome is retried only for the operations whose repeats the
// destination's platform drops, as its plugin declared them; being a desk
// says nothing about the channel's own sends.
func TestUnknownOutcomeIsRetriedOnlyForDeclaredOperations(t *testing.T) {
	user := sdk.User{ID: "42", Name: "Ann"}
	tests := []struct {
		payload store.Payload
		declare func(*sdk.Idempotency) *bool
		calls   func(r *recorder) int
	}{
		{store.SendText{Ref: "42", User: user, Text: "hi"}, func(i *sdk.Idempotency) *bool { return &i.SendText }, func(r *recorder) int { return len(r.sent) }},
		{store.NativeHandoff{Ref: "42", User: user, Text: "connecting"}, func(i *sdk.Idempotency) *bool { return &i.NativeHandoff }, func(r *recorder) int { return len(r.sent) }},
		{store.OpenHandoff{User: user, Channel: "tg"}, func(i *sdk.Idempotency) *bool { return &i.OpenHandoff }, func(r *recorder) int { return len(r.opened) }},
		{store.RelayToDesk{User: user, Text: "still there?"}, func(i *sdk.Idempotency) *bool { return &i.RelayToDesk }, func(r *recorder) int { return len(r.relayed) }},
		{store.CloseHandoff{Reason: "back to the bot"}, func(i *sdk.Idempotency) *bool { return &i.CloseHandoff }, func(r *recorder) int { return len(r.closed) }},
	}
	for _, tt := range tests {
		for _, declared := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s declared %v", tt.payload.Operation(), declared), func(t *testing.T) {
				// A desk that serves its own visitors too; every other
				// operation is declared the opposite way.
				all := !declared
				idem := sdk.Idempotency{SendText: all, NativeHandoff: all, OpenHandoff: all, RelayToDesk: all, CloseHandoff: all}
				*tt.declare(&idem) = declared
				r := &recorder{caps: sdk.Capabilities{Desk: true, NativeHandoff: true, Idempotent: idem}}
				r.fail = func(n int) error {
					if n == 1 {
						return sdk.Errorf(sdk.OutcomeUnknown, "the answer was lost")
					}
					return nil
				}
				st := openStore(t)
				c, err := st.CreateConversation(context.Background(), store.Conversation{Channel: "x", Ref: "42", User: user})
				if err != nil {
					t.Fatal(err)
				}
				if err := st.Update(context.Background(), func(tx *store.Tx) error { return store.MapDeskRefTx(tx, "x", "T-1", c.ID) }); err != nil {
					t.Fatal(err)
				}
				queue(t, st, store.OutboxEntry{ConversationID: c.ID, Instance: "x", Payload: tt.payload})
				runDeliverer(t, st, channels{"x": r}, DeliveryConfig{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})

				h := &harness{t: t}
				if declared {
					h.eventually("the retry", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return tt.calls(r) == 1 })
					if n, _ := st.PossiblyDelivered(); n != 0 {
						t.Errorf("%d possibly delivered records for a retried call", n)
					}
					return
				}
				h.eventually("the possibly delivered record", func() bool { n, _ := st.PossiblyDelivered(); return n == 1 })
				// Recorded and gone from the outbox: nothing can retry it.
				if out, _ := st.Outbox(); len(out) != 0 {
					t.Fatalf("still pending: %+v", out)
				}
				r.mu.Lock()
				defer r.mu.Unlock()
				if r.n != 1 || tt.calls(r) != 0 {
					t.Errorf("%d calls (%d succeeded), want the one whose outcome is unknown", r.n, tt.calls(r))
				}
			})
		}
	}
}

// A call cut short by the send timeout may have reached the platform: it
// is an unknown outcome, retried only where the platform drops repeats.
func TestASendCutShortByTheTimeoutIsAnUnknownOutcome(t *testing.T) {
	for _, declared := range []bool{false, true} {
		t.Run(fmt.Sprintf("declared %v", declared), func(t *testing.T) {
			r := &recorder{hang: true, caps: sdk.Capabilities{Idempotent: sdk.Idempotency{SendText: declared}}}
			st := openStore(t)
			c, err := st.CreateConversation(context.Background(), store.Conversation{Channel: "tg", Ref: "42"})
			if err != nil {
				t.Fatal(err)
			}
			queue(t, st, store.OutboxEntry{ConversationID: c.ID, Instance: "tg", Payload: store.SendText{Ref: "42", Text: "hi"}})
			runDeliverer(t, st, channels{"tg": r}, DeliveryConfig{
				SendTimeout: 20 * time.Millisecond, MaxAttempts: 2, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
			})
			h := &harness{t: t}
			if declared {
				h.eventually("a dead letter after the retry", func() bool { dl, _ := st.DeadLetters(); return len(dl) == 1 })
			} else {
				h.eventually("the possibly delivered record", func() bool { n, _ := st.PossiblyDelivered(); return n == 1 })
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if want := map[bool]int{false: 1, true: 2}[declared]; r.n != want {
				t.Errorf("%d attempts, want %d", r.n, want)
			}
		})
	}
}

// A conversation's visitor channel and desk are separate lanes: with the
// channel failing, the desk gets the handoff and the relay behind it, and
// the channel's own messages still go out in order once it is back.
func TestAFailingChannelDoesNotHoldTheDeskBack(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	tg := &recorder{fail: func(int) error {
		if down.Load() {
			return sdk.Errorf(sdk.Temporary, "dial tcp: connection refused")
		}
		return nil
	}}
	desk := &recorder{caps: sdk.Capabilities{Desk: true}}
	st := openStore(t)
	user := sdk.User{ID: "42", Name: "Ann"}
	c, err := st.CreateConversation(context.Background(), store.Conversation{Channel: "tg", Ref: "42", User: user})
	if err != nil {
		t.Fatal(err)
	}
	queue(t, st,
		store.OutboxEntry{ConversationID: c.ID, Instance: "tg", Payload: store.SendText{Ref: "42", User: user, Text: "connecting you"}},
		store.OutboxEntry{ConversationID: c.ID, Instance: "desk", Payload: store.OpenHandoff{User: user, Channel: "tg"}},
		store.OutboxEntry{ConversationID: c.ID, Instance: "tg", Payload: store.SendText{Ref: "42", User: user, Text: "Hi Ann, Bob here.", Role: conversation.RoleOperator}},
		store.OutboxEntry{ConversationID: c.ID, Instance: "desk", Payload: store.RelayToDesk{User: user, Text: "thanks"}},
	)
	// Quick retries, and never a dead letter that would unblock a lane.
	runDeliverer(t, st, channels{"tg": tg, "desk": desk}, DeliveryConfig{
		BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: math.MaxInt,
	})
	h := &harness{t: t}
	h.eventually("the desk to get the handoff and the relay", func() bool {
		desk.mu.Lock()
		defer desk.mu.Unlock()
		return len(desk.opened) == 1 && len(desk.relayed) == 1
	})
	h.eventually("the channel to have been tried again", func() bool { tg.mu.Lock(); defer tg.mu.Unlock(); return tg.n >= 2 })
	if got := tg.texts(); len(got) != 0 {
		t.Fatalf("the failing channel delivered %q", got)
	}
	down.Store(false)
	h.eventually("the channel's messages", func() bool { return len(tg.texts()) == 2 })
	if got := tg.texts(); !equal(got, []string{"connecting you", "Hi Ann, Bob here."}) {
		t.Errorf("the visitor got %q, out of order", got)
	}
}

// The hooks run inside the transaction that records the outcome: what
// they write commits with it, and a hook's error leaves the outcome
// unrecorded.
func TestDeliveryHooksShareTheOutcomesTransaction(t *testing.T) {
	user := sdk.User{ID: "42", Name: "Ann"}
	tests := []struct {
		name    string
		payload store.Payload
		fail    error
		// what the hook is told
		wantRef    string
		wantFail   *DeliveryFailure
		deadLetter bool
	}{
		{name: "desk open delivered", payload: store.OpenHandoff{User: user, Channel: "tg"}, wantRef: "ticket-"},
		{name: "text delivered", payload: store.SendText{Ref: "42", User: user, Text: "hi"}},
		{name: "dead letter", payload: store.OpenHandoff{User: user, Channel: "tg"}, fail: sdk.Errorf(sdk.Permanent, "400 bad handoff"),
			wantFail: &DeliveryFailure{Reason: "permanent error: 400 bad handoff"}, deadLetter: true},
		{name: "possibly delivered", payload: store.OpenHandoff{User: user, Channel: "tg"}, fail: sdk.Errorf(sdk.OutcomeUnknown, "no answer"),
			wantFail: &DeliveryFailure{Reason: "no answer", PossiblyDelivered: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			c, err := st.CreateConversation(context.Background(), store.Conversation{Channel: "tg", Ref: "42", User: user})
			if err != nil {
				t.Fatal(err)
			}
			r := &recorder{caps: sdk.Capabilities{Desk: true}, fail: func(int) error { return tt.fail }}
			entry := queue(t, st, store.OutboxEntry{ConversationID: c.ID, Instance: "x", Payload: tt.payload})[0]
			var (
				mu    sync.Mutex
				calls int
				told  []string
			)
			// Each hook refuses its first call, then queues an event for
			// the conversation.
			hook := func(tx *store.Tx, e store.OutboxEntry, what string) error {
				mu.Lock()
				defer mu.Unlock()
				calls++
				if calls == 1 {
					return errors.New("the engine could not write")
				}
				if e.Seq != entry.Seq {
					t.Errorf("hook for entry %d, want %d", e.Seq, entry.Seq)
				}
				told = append(told, what)
				_, err := st.EnqueueInboxTx(tx, e.ConversationID, "", sdk.Event{ID: "follow-up", Kind: "test.outcome", Text: what})
				return err
			}
			runDeliverer(t, st, channels{"x": r}, DeliveryConfig{
				BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
				Hooks: DeliveryHooks{
					Delivered: func(tx *store.Tx, e store.OutboxEntry, ref string) error {
						return hook(tx, e, "delivered "+ref)
					},
					Undelivered: func(tx *store.Tx, e store.OutboxEntry, f DeliveryFailure) error {
						return hook(tx, e, fmt.Sprintf("undelivered %+v", f))
					},
				},
			})
			h := &harness{t: t}
			// The hook runs inside the outcome's transaction: the entry
			// leaves the outbox when that commits.
			h.eventually("the outcome", func() bool {
				mu.Lock()
				n := len(told)
				mu.Unlock()
				out, err := st.Outbox()
				return n == 1 && err == nil && len(out) == 0
			})
			want := "delivered "
			if tt.wantRef != "" {
				want += tt.wantRef + c.ID
			}
			if tt.wantFail != nil {
				want = fmt.Sprintf("undelivered %+v", *tt.wantFail)
			}
			mu.Lock()
			if told[0] != want {
				t.Errorf("the hook was told %q, want %q", told[0], want)
			}
			mu.Unlock()
			// The refused first record left the entry pending: it was
			// attempted again.
			r.mu.Lock()
			attempts := r.n
			r.mu.Unlock()
			if attempts != 2 {
				t.Errorf("%d attempts, want 2 (the first outcome was not recorded)", attempts)
			}
			items, err := st.Inbox(0, 0)
			if err != nil || len(items) != 1 || items[0].Event.Text != want || items[0].ConversationID != c.ID {
				t.Errorf("inbox %+v (%v): want the hook's event", items, err)
			}
			if out, _ := st.Outbox(); len(out) != 0 {
				t.Errorf("outbox %+v after the outcome", out)
			}
			if dl, _ := st.DeadLetters(); (len(dl) == 1) != tt.deadLetter {
				t.Errorf("dead letters %+v", dl)
			}
			if _, ref, ok := st.DeskRef(c.ID); tt.wantRef != "" && (!ok || ref != tt.wantRef+c.ID) {
				t.Errorf("desk reference %q %v", ref, ok)
			}
		})
	}
}

// A send that completes while the deliverer stops is recorded: sending it
// again after a restart would show the visitor the same line twice.
func TestASendFinishingDuringTheStopIsRecorded(t *testing.T) {
	st := openStore(t)
	user := sdk.User{ID: "42", Name: "Ann"}
	c, err := st.CreateConversation(context.Background(), store.Conversation{Channel: "tg", Ref: "42", User: user})
	if err != nil {
		t.Fatal(err)
	}
	started, finish := make(chan struct{}), make(chan struct{})
	r := &recorder{fail: func(int) error {
		close(started)
		<-finish // the platform takes its time; the daemon is asked to stop meanwhile
		return nil
	}}
	queue(t, st, store.OutboxEntry{ConversationID: c.ID, Instance: "tg", Payload: store.SendText{Ref: "42", User: user, Text: "hello"}})
	log := logrus.New()
	log.SetOutput(io.Discard)
	d := newDeliverer(DeliveryConfig{MaxAttempts: 12, MaxAge: time.Hour}, st, channels{"tg": r}, nil, log)
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.start(ctx); err != nil {
		t.Fatal(err)
	}
	<-started
	cancel() // the stop begins while the send is in flight
	stopped := make(chan struct{})
	go func() { d.wait(context.Background()); close(stopped) }()
	close(finish)
	<-stopped
	if got := r.texts(); len(got) != 1 {
		t.Fatalf("sent %q", got)
	}
	if pending, _ := st.Outbox(); len(pending) != 0 {
		t.Fatalf("the delivered entry is still pending, to be sent again after a restart: %+v", pending)
	}
}

// A send still hanging when the stop's time is up is cut short and counted
// as an unknown outcome: recorded as possibly delivered where the platform
// would not drop a repeat.
func TestASendHangingPastTheStopIsAnUnknownOutcome(t *testing.T) {
	st := openStore(t)
	user := sdk.User{ID: "42", Name: "Ann"}
	c, err := st.CreateConversation(context.Background(), store.Conversation{Channel: "tg", Ref: "42", User: user})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{hang: true}
	queue(t, st, store.OutboxEntry{ConversationID: c.ID, Instance: "tg", Payload: store.SendText{Ref: "42", User: user, Text: "hello"}})
	log := logrus.New()
	log.SetOutput(io.Discard)
	d := newDeliverer(DeliveryConfig{MaxAttempts: 12, MaxAge: time.Hour}, st, channels{"tg": r}, nil, log)
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.start(ctx); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t}
	h.eventually("the send to start", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.n == 1 })
	cancel()
	stop, done := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer done()
	d.wait(stop)
	if n, _ := st.PossiblyDelivered(); n != 1 {
		t.Errorf("%d possibly delivered, want the cut-short send", n)
	}
	if pending, _ := st.Outbox(); len(pending) != 0 {
		t.Errorf("still pending: %+v", pending)
	}
}

// A sender's slot is free once the plugin's call returns: while one
// send's outcome waits for the store, the next lane's send goes out.
func TestASendsCommitDoesNotHoldItsSendersSlot(t *testing.T) {
	r := &recorder{}
	st := openStore(t)
	for _, ref := range []string{"1", "2"} {
		c, err := st.CreateConversation(context.Background(), store.Conversation{Channel: "tg", Ref: ref})
		if err != nil {
			t.Fatal(err)
		}
		queue(t, st, store.OutboxEntry{ConversationID: c.ID, Instance: "tg", Payload: store.SendText{Ref: ref, Text: "hi " + ref}})
	}
	// Hold the store's writer: every commit waits behind this one.
	holding, hold := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- st.Update(context.Background(), func(*store.Tx) error {
			close(holding)
			<-hold
			return nil
		})
	}()
	<-holding
	runDeliverer(t, st, channels{"tg": r}, DeliveryConfig{Concurrency: 1})
	var release sync.Once
	letGo := func() { release.Do(func() { close(hold) }) }
	t.Cleanup(letGo) // before the deliverer's: it waits for the commits
	h := &harness{t: t}
	h.eventually("both sends, with the first one's commit waiting", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.sent) == 2
	})
	if out, _ := st.Outbox(); len(out) != 2 {
		t.Errorf("%d entries left in the outbox while the writer is held, want 2", len(out))
	}
	letGo()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	h.eventually("the outcomes recorded", func() bool { out, _ := st.Outbox(); return len(out) == 0 })
}

// An entry queued anew while its attempt runs (a retry asked for) is not
// lost when that attempt fails and schedules its own next try.
func TestAnEntryQueuedDuringItsAttemptIsKept(t *testing.T) {
	inFirst, proceed := make(chan struct{}), make(chan struct{})
	r := &recorder{fail: func(n int) error {
		if n == 1 {
			close(inFirst)
			<-proceed
			return sdk.RetryAfter(time.Hour, errors.New("slow down"))
		}
		return nil
	}}
	st := openStore(t)
	c, err := st.CreateConversation(context.Background(), store.Conversation{Channel: "tg", Ref: "42"})
	if err != nil {
		t.Fatal(err)
	}
	e := queue(t, st, store.OutboxEntry{ConversationID: c.ID, Instance: "tg", Payload: store.SendText{Ref: "42", Text: "hi"}})[0]
	d := runDeliverer(t, st, channels{"tg": r}, DeliveryConfig{})
	<-inFirst
	d.add([]store.OutboxEntry{e}) // asked for again, due now
	close(proceed)
	h := &harness{t: t}
	h.eventually("the second attempt", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.sent) == 1
	})
}
