package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// line commits a visitor line on channel tg, chat "42", and returns what
// the store made of it.
func (h *harness) line(id, text string, ctxValues map[string]string) store.InboxItem {
	h.t.Helper()
	res, err := h.st.CommitEvents(context.Background(), "tg", []sdk.Event{{
		ID: id, Kind: sdk.KindMessage, Conversation: "42", User: sdk.User{ID: "42", Name: "Ann"}, Text: text, Context: ctxValues,
	}})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(res.Accepted) != 1 {
		h.t.Fatalf("line %s: %d accepted", id, len(res.Accepted))
	}
	return res.Accepted[0]
}

// handedOff hands the visitor's conversation to the people and waits until
// the engine has nothing left of it.
func (h *harness) handedOff() string {
	h.t.Helper()
	id := h.visitor("h1", "human please")
	h.eventually("the handoff", func() bool {
		if h.conv(id).State != conversation.WaitingHuman {
			return false
		}
		if h.cfg.Rules.Desk != conversation.ConsoleDesk {
			// The desk's answer comes back as an event of its own.
			if _, _, ok := h.st.DeskRef(id); !ok {
				return false
			}
		}
		left, err := h.st.Inbox(0, 0)
		return err == nil && len(left) == 0 && h.eng.Inflight() == 0
	})
	return id
}

// A visitor's line for a conversation with the people is relayed in the
// commit that records it: it never enters the inbox, it counts as
// processed when the commit returns, and what the channel said about it
// (its context) is kept, as the engine's own turn would.
func TestLinesForThePeopleAreSettledAtIntake(t *testing.T) {
	for _, desk := range []string{conversation.ConsoleDesk, "desk"} {
		t.Run(desk, func(t *testing.T) {
			cfg := testConfig()
			cfg.Rules.Desk = desk
			h := newHarness(t, cfg, nil)
			id := h.handedOff()

			before := h.eng.Processed()
			item := h.line("2", "are you there?", map[string]string{"reply_token": "r2"})
			if item.Seq != 0 {
				t.Fatalf("the line went to the inbox (seq %d)", item.Seq)
			}
			if n := h.eng.Processed(); n != before+1 {
				t.Errorf("processed %d events when the commit returned, want %d", n, before+1)
			}
			if left, err := h.st.Inbox(0, 0); err != nil || len(left) != 0 {
				t.Errorf("inbox holds %d items (%v), want none", len(left), err)
			}
			c := h.conv(id)
			if c.State != conversation.WaitingHuman || c.Context["reply_token"] != "r2" {
				t.Errorf("conversation %s with context %v; want it waiting, with the line's context", c.State, c.Context)
			}
			if tr := h.transcript(id); tr[len(tr)-1] != "visitor: are you there?" {
				t.Errorf("transcript ends %q", tr[len(tr)-1])
			}
			if desk == conversation.ConsoleDesk {
				return
			}
			h.line("3", "hello?", nil)
			h.eventually("the relays", func() bool {
				h.ch["desk"].mu.Lock()
				defer h.ch["desk"].mu.Unlock()
				return len(h.ch["desk"].relayed) == 2
			})
			if got := h.ch["desk"].relayed; !equal(got, []string{"are you there?", "hello?"}) {
				t.Errorf("desk got %q", got)
			}
		})
	}
}

// A relayed line that changes nothing of the conversation but its
// transcript leaves the record unwritten: the commit copies one page
// fewer. The conversation's activity time is still the line's.
func TestARelayedLineLeavesTheRecordAsItWas(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = conversation.ConsoleDesk
	h := newHarness(t, cfg, nil)
	id := h.handedOff()
	before := h.conv(id)

	h.line("2", "are you there?", nil)
	after := h.conv(id)
	if !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("record rewritten for a relayed line: updated_at %v → %v", before.UpdatedAt, after.UpdatedAt)
	}
	last, err := h.st.LastMessages(id, 1)
	if err != nil || len(last) != 1 || last[0].Text != "are you there?" {
		t.Fatalf("last line %v (%v)", last, err)
	}
	at, err := h.st.ActivityTimes([]store.Conversation{after})
	if err != nil {
		t.Fatal(err)
	}
	if want := last[0].CreatedAt; !at[0].Equal(want) || !at[0].After(before.UpdatedAt) {
		t.Errorf("activity %v, want the line's time %v (record %v)", at[0], want, before.UpdatedAt)
	}

	// A line with something for the record (the channel's context) still
	// writes it.
	h.line("3", "hello?", map[string]string{"reply_token": "r3"})
	if c := h.conv(id); c.Context["reply_token"] != "r3" || !c.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("context %v, updated_at %v: the record was not written", c.Context, c.UpdatedAt)
	}
}

// A line the rules answer with more than a relay (here the visitor's
// cancel keyword, which takes the conversation back to the bot) goes
// through the inbox as before.
func TestALineThatChangesTheStateWaitsInTheInbox(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = conversation.ConsoleDesk
	h := newHarness(t, cfg, nil)
	id := h.handedOff()
	if item := h.line("2", "cancel", nil); item.Seq == 0 {
		t.Fatal("the cancelling line was settled at intake")
	}
	h.eventually("back to the bot", func() bool { return h.conv(id).State == conversation.Bot })
}

// While anything of the conversation is in a lane, its new lines queue
// behind it in the inbox and are handled after it, in order.
func TestALineDoesNotOvertakeItsConversationsLane(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = "desk"
	h := newHarness(t, cfg, nil)
	id := h.handedOff()

	// Hold the conversation's lane as a running worker would.
	busy := &lane{running: true}
	h.eng.lanes.mu.Lock()
	h.eng.lanes.byConv[id] = busy
	h.eng.lanes.mu.Unlock()

	first := h.line("2", "first", nil)
	second := h.line("3", "second", nil)
	if first.Seq == 0 || second.Seq == 0 {
		t.Fatalf("lines settled at intake while the lane was busy (seqs %d, %d)", first.Seq, second.Seq)
	}
	h.eventually("both lines routed to the busy lane", func() bool {
		h.eng.lanes.mu.Lock()
		defer h.eng.lanes.mu.Unlock()
		return len(busy.items) == 2
	})
	if third := h.line("4", "third", nil); third.Seq == 0 {
		t.Fatal("a line overtook the lines waiting in its lane")
	}
	// Let the lane go: a worker takes what it holds.
	h.eng.lanes.mu.Lock()
	busy.running = false
	items := busy.items
	busy.items = nil
	delete(h.eng.lanes.byConv, id)
	h.eng.lanes.hold(-len(items))
	h.eng.lanes.mu.Unlock()
	for _, it := range items {
		h.eng.lanes.route(h.eng.ctx, it)
	}
	h.eventually("the relays", func() bool {
		h.ch["desk"].mu.Lock()
		defer h.ch["desk"].mu.Unlock()
		return len(h.ch["desk"].relayed) == 3
	})
	if got := h.ch["desk"].relayed; !equal(got, []string{"first", "second", "third"}) {
		t.Errorf("desk got %q, want the lines in order", got)
	}
	h.eventually("the lane to empty", func() bool { return h.eng.Inflight() == 0 })
	if item := h.line("5", "fourth", nil); item.Seq != 0 {
		t.Errorf("with the lane empty again the line went to the inbox (seq %d)", item.Seq)
	}
}

// After a restart the engine knows that the inbox's earlier items are
// gone, so lines are settled at intake again without waiting for one to
// pass through the inbox first.
func TestSettlingResumesAfterARestart(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = conversation.ConsoleDesk
	h := newHarness(t, cfg, nil)
	id := h.handedOff()
	h.stop()
	h.start()
	h.eventually("the inbox read", func() bool {
		h.eng.lanes.mu.Lock()
		defer h.eng.lanes.mu.Unlock()
		return h.eng.lanes.cursor > 0
	})
	if item := h.line("2", "still there?", nil); item.Seq != 0 {
		t.Fatalf("the line went to the inbox after the restart (seq %d)", item.Seq)
	}
	if tr := h.transcript(id); tr[len(tr)-1] != "visitor: still there?" {
		t.Errorf("transcript ends %q", tr[len(tr)-1])
	}
}

// A database written by the previous release (core/store/testdata) holds a
// Telegram visitor waiting on a desk, with a reply, the desk's open call
// and a relay still to deliver, and one more line of the visitor's in the
// inbox. The engine delivers them and relays the line; the visitor's next
// line is then settled at intake and relayed after them.
func TestAPreviousReleaseDatabaseDeliversAndSettles(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "store", "testdata", "release2.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Rules.Desk = "desk"
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "switchboard.db"), cfg: cfg,
		ch: channels{"tg": {caps: sdk.Capabilities{Typing: true}}, "desk": {caps: sdk.Capabilities{Desk: true}}}}
	if err := os.WriteFile(h.path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()
	relays := func() []string {
		h.ch["desk"].mu.Lock()
		defer h.ch["desk"].mu.Unlock()
		return slices.Clone(h.ch["desk"].relayed)
	}
	h.eventually("the release's pending entries", func() bool {
		inbox, _ := h.st.Inbox(0, 0)
		return len(h.ch["tg"].texts()) == 1 && len(relays()) == 2 && len(inbox) == 0 && h.eng.Inflight() == 0
	})
	if got := h.ch["tg"].texts(); got[0] != "connecting you" {
		t.Errorf("the visitor got %q", got)
	}
	res, err := h.st.CommitEvents(context.Background(), "tg", []sdk.Event{{
		ID: "after-upgrade", Kind: sdk.KindMessage, Conversation: "2001", User: sdk.User{ID: "2001"}, Text: "still waiting",
	}})
	if err != nil || len(res.Accepted) != 1 {
		t.Fatalf("commit: %v (%d accepted)", err, len(res.Accepted))
	}
	if seq := res.Accepted[0].Seq; seq != 0 {
		t.Errorf("the line went to the inbox (seq %d)", seq)
	}
	h.eventually("the relay", func() bool { return len(relays()) == 3 })
	if got := relays(); !equal(got, []string{"any news?", "my parcel is late", "still waiting"}) {
		t.Errorf("desk got %q, want the new line after the release's relay", got)
	}
}
