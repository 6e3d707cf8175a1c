package console

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/switchboard-chat/switchboard/core/store"
)

// The conversation's details show the visitor's profile from the customer
// lookup and the tickets opened for it.
func TestDetailsShowProfileAndTickets(t *testing.T) {
	e := newEnv(t)
	ann := e.operator("ann@example.com", "Ann", "agent")
	id := e.waiting("501", "my invoice is wrong")
	ctx := context.Background()
	profile := &store.Profile{Name: "Vera Visitor", Email: "vera@example.com", Tier: "gold", Fields: json.RawMessage(`{"plan":"pro"}`), FetchedAt: e.st.Now()}
	if err := e.st.SetLookup(ctx, id, e.st.Now(), profile); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateTicket(ctx, store.Ticket{Subject: "Wrong invoice", ConversationID: id}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Profile *store.Profile `json:"profile"`
		Tickets []TicketCard   `json:"tickets"`
	}
	if code := ann.do("GET", "/op/v1/conversations/"+id, nil, &got); code != 200 {
		t.Fatalf("get: %d", code)
	}
	if got.Profile == nil || got.Profile.Tier != "gold" || string(got.Profile.Fields) != `{"plan":"pro"}` {
		t.Errorf("profile %+v", got.Profile)
	}
	if len(got.Tickets) != 1 || got.Tickets[0].ID != 1 || got.Tickets[0].Status != store.TicketOpen {
		t.Errorf("tickets %+v", got.Tickets)
	}
	var list struct {
		Conversations []ConversationView `json:"conversations"`
	}
	if code := ann.do("GET", "/op/v1/conversations", nil, &list); code != 200 || len(list.Conversations) != 1 || list.Conversations[0].Profile == nil {
		t.Errorf("queue: %d %+v", code, list)
	}
}
