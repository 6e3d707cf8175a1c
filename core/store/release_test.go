package store

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
)

// A database written by the previous release (testdata/release2.db,
// schema 2: a Telegram visitor waiting on a desk with a desk reference, a
// pending reply, desk open and relay, and a webhook delivery; a web
// visitor served on the console and rated; a subscription from the config
// file) opens as it is and keeps every pending entry, the rating and the
// event log, and takes the newer records (tickets) beside them.
func TestReleaseDatabaseOpensWithItsPendingWork(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "release2.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "switchboard.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	tg, err := s.ConversationByRef("tg", "2001")
	if err != nil || tg.State != conversation.WaitingHuman || tg.Handoff == nil || tg.Handoff.Desk != "desk" {
		t.Fatalf("waiting conversation %+v (%v)", tg, err)
	}
	if id, err := s.ConversationByDeskRef("desk", "T-9"); err != nil || id != tg.ID {
		t.Errorf("desk reference T-9 maps to %q (%v)", id, err)
	}
	pending, err := s.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	// The release queued each event for the subscription as it was
	// logged, and the conversation's sends in their own lanes.
	var sends []OutboxEntry
	var hooked []events.Type
	for _, e := range pending {
		if e.ConversationID != tg.ID {
			t.Errorf("entry %d is for %s", e.Seq, e.ConversationID)
		}
		if w, ok := e.Payload.(WebhookEvent); ok {
			if len(w.Body) == 0 {
				t.Errorf("webhook delivery %d has no body", e.Seq)
			}
			hooked = append(hooked, w.Type)
			continue
		}
		sends = append(sends, e)
	}
	wantHooked := []events.Type{events.TypeConversationCreated, events.TypeMessageCreated, events.TypeConversationStateChanged, events.TypeHandoffRequested}
	if !slices.Equal(hooked, wantHooked) {
		t.Errorf("webhook deliveries %v, want %v", hooked, wantHooked)
	}
	wantOps := []Operation{OpSendText, OpOpenHandoff, OpRelayToDesk}
	if len(sends) != len(wantOps) {
		t.Fatalf("%d pending sends, want %d", len(sends), len(wantOps))
	}
	for i, e := range sends {
		if e.Op() != wantOps[i] {
			t.Errorf("send %d: %s, want %s", i, e.Op(), wantOps[i])
		}
	}
	if got := sends[0].Text(); got != "connecting you" || sends[0].Instance != "tg" {
		t.Errorf("the visitor's reply reads %q on %s", got, sends[0].Instance)
	}
	hooks, err := s.Webhooks()
	if err != nil || len(hooks) != 1 || !hooks[0].FromConfig {
		t.Errorf("subscriptions %+v (%v)", hooks, err)
	}

	web, err := s.ConversationByRef("web", "v-1")
	if err != nil {
		t.Fatal(err)
	}
	ratings, err := s.Ratings(web.ID)
	if err != nil || len(ratings) != 1 || ratings[0].Score != 4 || ratings[0].Operator.Name != "Ann" || ratings[0].Comment != "quick and kind" {
		t.Errorf("ratings %+v (%v)", ratings, err)
	}

	logged, last, err := s.EventsAfter(0, 100, nil)
	if err != nil || len(logged) == 0 {
		t.Fatalf("event log %+v (%v)", logged, err)
	}
	tk, err := s.CreateTicket(t.Context(), Ticket{Subject: "late parcel", Status: "open", Priority: "normal", ConversationID: tg.ID})
	if err != nil || tk.ID != 1 {
		t.Fatalf("first ticket %+v (%v)", tk, err)
	}
	after, _, err := s.EventsAfter(last, 100, nil)
	if err != nil || len(after) != 1 || after[0].Type != events.TypeTicketCreated || after[0].Seq <= last {
		t.Fatalf("events after the release's last (%d): %+v (%v)", last, after, err)
	}
	// The conversation's events go on numbering where the release's
	// stopped (its counters moved beside the transcripts).
	var tgSeq uint64
	for _, e := range logged {
		if e.ConversationID == tg.ID {
			tgSeq = max(tgSeq, e.ConversationSeq)
		}
	}
	if tgSeq == 0 || after[0].ConversationSeq != tgSeq+1 {
		t.Errorf("the ticket's event is #%d of %s, want #%d", after[0].ConversationSeq, tg.ID, tgSeq+1)
	}
	lines, err := s.Messages(tg.ID, 0, 0)
	if err != nil || len(lines) == 0 {
		t.Errorf("transcript %+v (%v)", lines, err)
	}
	for _, m := range lines {
		if m.ConversationID != tg.ID || m.ID == 0 {
			t.Errorf("transcript holds %+v", m)
		}
	}
	// The index of dedup entries by expiry is gone; their expiry is read
	// from the entries, which the release wrote the same way.
	s.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketSeenExpiry) != nil {
			t.Error("the expiry index is still there")
		}
		return nil
	})
	var seenBefore int
	s.View(func(tx *bolt.Tx) error { seenBefore = tx.Bucket(bucketSeen).Stats().KeyN; return nil })
	if all, err := s.ConversationPage("", Page{Limit: 10}); err != nil || len(all) != 2 {
		t.Errorf("conversations %d (%v)", len(all), err)
	}
	s.Close()
	later, err := Open(path, Options{Now: func() time.Time { return time.Now().Add(365 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	if n, err := later.PurgeSeen(t.Context()); err != nil || n == 0 || n != seenBefore {
		t.Errorf("a year on, purged %d of the release's %d event IDs (%v)", n, seenBefore, err)
	}
}
