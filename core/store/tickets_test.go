package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/sdk"
)

func TestTickets(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	conv, err := s.CreateConversation(ctx, Conversation{Channel: "tg", Ref: "42", User: sdk.User{ID: "42", Name: "Ann"}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.CreateTicket(ctx, Ticket{Subject: "Refund", Requester: Requester{Channel: "tg", User: conv.User}, ConversationID: conv.ID, Tags: []string{"billing"}})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != 1 || first.Status != TicketOpen || first.Priority != PriorityNormal {
		t.Fatalf("created %+v", first)
	}
	reserved, err := s.ReserveTicketID()
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.CreateTicket(ctx, Ticket{Subject: "Invoice", Priority: PriorityUrgent})
	if err != nil {
		t.Fatal(err)
	}
	if reserved != 2 || second.ID != 3 {
		t.Fatalf("numbers %d (reserved) and %d, want 2 and 3", reserved, second.ID)
	}

	for name, bad := range map[string]Ticket{
		"subject": {}, "status": {Subject: "x", Status: "done"}, "priority": {Subject: "x", Priority: "asap"},
		"tags[1]": {Subject: "x", Tags: []string{"a", ""}},
	} {
		if _, err := s.CreateTicket(ctx, bad); !errors.Is(err, ErrInvalidTicket) || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s: %v", name, err)
		}
	}
	if _, err := s.CreateTicket(ctx, Ticket{Subject: "x", ConversationID: "c_missing"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown conversation: %v", err)
	}

	solved, text := TicketSolved, "Refunded."
	got, err := s.UpdateTicket(ctx, first.ID, TicketChange{Status: &solved, Comment: &TicketComment{Author: "Bob", Text: text, Public: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != TicketSolved || len(got.Comments) != 1 || got.Comments[0].ID != 1 || !got.Comments[0].Public {
		t.Fatalf("updated %+v", got)
	}
	bad := "reopened"
	if _, err := s.UpdateTicket(ctx, first.ID, TicketChange{Status: &bad}); !errors.Is(err, ErrInvalidTicket) {
		t.Errorf("bad status change: %v", err)
	}
	if _, err := s.UpdateTicket(ctx, 99, TicketChange{Status: &solved}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown ticket: %v", err)
	}

	for _, tc := range []struct {
		f    TicketFilter
		p    Page
		want []uint64
	}{
		{TicketFilter{}, Page{}, []uint64{1, 3}},
		{TicketFilter{}, Page{After: SeqCursor(1)}, []uint64{3}},
		{TicketFilter{}, Page{Desc: true}, []uint64{3, 1}},
		{TicketFilter{}, Page{Desc: true, After: SeqCursor(3)}, []uint64{1}},
		{TicketFilter{}, Page{Limit: 1}, []uint64{1}},
		{TicketFilter{}, Page{Desc: true, Limit: 1}, []uint64{3}},
		{TicketFilter{Status: TicketSolved}, Page{}, []uint64{1}},
		{TicketFilter{Status: TicketSolved}, Page{Desc: true, Limit: 1}, []uint64{1}},
		{TicketFilter{Priority: PriorityUrgent}, Page{}, []uint64{3}},
		{TicketFilter{Tag: "billing"}, Page{}, []uint64{1}},
		{TicketFilter{ConversationID: conv.ID}, Page{}, []uint64{1}},
		{TicketFilter{ConversationID: conv.ID}, Page{After: SeqCursor(1)}, nil},
		{TicketFilter{ConversationID: conv.ID}, Page{Desc: true}, []uint64{1}},
		{TicketFilter{ConversationID: conv.ID}, Page{Desc: true, After: SeqCursor(1)}, nil},
		{TicketFilter{Channel: "tg"}, Page{}, []uint64{1}},
	} {
		list, err := s.Tickets(tc.f, tc.p)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint64
		for _, t := range list {
			ids = append(ids, t.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("Tickets(%+v, %+v) = %v, want %v", tc.f, tc.p, ids, tc.want)
		}
	}

	// The events: created twice, updated once (the refused change and the
	// one to an unknown ticket left none), about the conversation when
	// linked.
	evs, _, err := s.EventsAfter(0, 100, func(e *events.Event) bool {
		return e.Type == events.TypeTicketCreated || e.Type == events.TypeTicketUpdated
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].ConversationID != conv.ID || evs[1].ConversationID != "" || evs[2].Type != events.TypeTicketUpdated {
		t.Fatalf("events %+v", evs)
	}
	var upd events.TicketUpdated
	if err := json.Unmarshal(evs[2].Payload, &upd); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(upd.Changed, []string{"status", "comment"}) || upd.Comment == nil || upd.Comment.Text != text {
		t.Errorf("ticket.updated %+v", upd)
	}
}

func TestTicketNumbersContinueAfterRestart(t *testing.T) {
	path := t.TempDir() + "/switchboard.db"
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		if _, err := s.CreateTicket(ctx, Ticket{Subject: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.CreateTicket(ctx, Ticket{Subject: "y"})
	if err != nil || got.ID != 3 {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
}

func TestSchema1DatabaseTakesTickets(t *testing.T) {
	s, err := Open(schema1(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.ConversationByRef("tg", "1000")
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != nil {
		t.Errorf("an old conversation has a profile: %+v", c.Profile)
	}
	tk, err := s.CreateTicket(context.Background(), Ticket{Subject: "x", ConversationID: c.ID})
	if err != nil || tk.ID != 1 {
		t.Fatalf("ticket in an upgraded database: %+v, %v", tk, err)
	}
	if err := s.SetLookup(context.Background(), c.ID, s.Now(), &Profile{Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	if c, _ = s.Conversation(c.ID); c.Profile == nil || c.Profile.Name != "Ann" || c.State == "" {
		t.Errorf("after the lookup: %+v", c)
	}
}

func TestPrivateCommentTextStaysOutOfEvents(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	tk, err := s.CreateTicket(ctx, Ticket{Subject: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateTicket(ctx, tk.ID, TicketChange{Comment: &TicketComment{Author: "Bob", Text: "the customer is difficult"}}); err != nil {
		t.Fatal(err)
	}
	evs, _, err := s.EventsAfter(0, 10, func(e *events.Event) bool { return e.Type == events.TypeTicketUpdated })
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v %v", evs, err)
	}
	if strings.Contains(string(evs[0].Payload), "difficult") || !strings.Contains(string(evs[0].Payload), `"comment"`) {
		t.Errorf("ticket.updated %s", evs[0].Payload)
	}
}
