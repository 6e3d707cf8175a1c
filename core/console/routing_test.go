package console

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/routing"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// handedOff commits a Telegram visitor's message and waits until the
// conversation is with the console's people: waiting, or already given
// to an operator.
func (e *env) handedOff(chat, text string) string {
	e.t.Helper()
	res, err := e.st.CommitEvents(context.Background(), "tg", []sdk.Event{{
		ID: store.NewID("e_"), Kind: sdk.KindMessage, Conversation: chat, User: sdk.User{ID: chat, Name: "Visitor " + chat}, Text: text,
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	id := res.Accepted[0].ConversationID
	e.eventually("the conversation to be handed off", func() bool {
		c, err := e.st.Conversation(id)
		return err == nil && (c.State == conversation.WaitingHuman || c.State == conversation.Human)
	})
	return id
}

// priorities routes "urgent" and "whenever" lines to those priorities.
func priorities() *routing.Table {
	return &routing.Table{Default: "general", Departments: []routing.Department{{Name: "general"}},
		Rules: []routing.Rule{
			{Name: "urgent", Match: regexp.MustCompile(`urgent`), Priority: conversation.PriorityUrgent, Tags: []string{"hot"}},
			{Name: "later", Match: regexp.MustCompile(`whenever`), Priority: conversation.PriorityLow},
		}}
}

func targets(p conversation.Priority) time.Duration {
	if p == conversation.PriorityLow {
		return 30 * time.Minute
	}
	return 5 * time.Minute
}

// The queue is full; the operator closes a chat and the highest-priority,
// oldest waiting conversation is given to them at once.
func TestDrainOnClose(t *testing.T) {
	e := newRoutedEnv(t, priorities(), Routing{AutoAssign: true, Default: "general",
		Departments: []Department{{Name: "general"}}, MaxChats: 1, FirstResponse: targets})
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := ann.stream(ctx, "") // online while a console is open
	next(t, events, EventReady, nil)

	first := e.handedOff("1", "hello")
	e.eventually("the first conversation to go to Ann", func() bool {
		c, _ := e.st.Conversation(first)
		return c.State == conversation.Human && c.Handoff.Assignee == ann.id
	})
	low := e.waiting("2", "whenever you can")
	normal := e.waiting("3", "a question")
	urgent := e.waiting("4", "this is urgent")
	urgentLater := e.waiting("5", "urgent too")
	// Ann is full: they all wait, shown highest priority first.
	var list struct {
		Conversations []ConversationView `json:"conversations"`
	}
	ann.do("GET", "/op/v1/conversations?assignee=none", nil, &list)
	var order []string
	for _, c := range list.Conversations {
		order = append(order, c.ID)
	}
	if want := []string{urgent, urgentLater, normal, low}; strings.Join(order, ",") != strings.Join(want, ",") {
		t.Fatalf("queue %v, want %v", order, want)
	}
	if r := list.Conversations[0].Handoff.Route; r == nil || r.Priority != conversation.PriorityUrgent || r.By != "rule:urgent" || r.Tags[0] != "hot" {
		t.Errorf("the console shows the route %+v", r)
	}

	if code := ann.do("POST", "/op/v1/conversations/"+first+"/close", nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	closed := time.Now()
	e.eventually("the urgent conversation to go to Ann", func() bool {
		c, _ := e.st.Conversation(urgent)
		return c.State == conversation.Human && c.Handoff.Assignee == ann.id
	})
	t.Logf("assigned %s after the close", time.Since(closed))
	for _, id := range []string{low, normal, urgentLater} {
		if c, _ := e.st.Conversation(id); c.State != conversation.WaitingHuman {
			t.Errorf("%s is %s: Ann has room for one", id, c.State)
		}
	}
	// Manual claims keep working beside automatic assignment.
	bob := e.operator("bob@example.com", "Bob", accounts.RoleAgent)
	if code := bob.do("POST", "/op/v1/conversations/"+low+"/claim", nil, nil); code != 200 {
		t.Errorf("manual claim: %d", code)
	}
}

// A conversation waiting past its first-response target is raised one
// priority, recorded, and its department's admins are told.
func TestServiceLevelBreach(t *testing.T) {
	alerts := make(chan map[string]string, 4)
	e := newRoutedEnv(t, priorities(), Routing{Default: "general", Departments: []Department{{Name: "general"}}, MaxChats: 1,
		FirstResponse: targets, Alert: func(kind, _ string, fields map[string]string) {
			if kind == AlertServiceLevel {
				alerts <- fields
			}
		}})
	boss := e.operator("boss@example.com", "Boss", accounts.RoleAdmin)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := boss.stream(ctx, "")
	next(t, events, EventReady, nil)
	id := e.waiting("9", "a question")
	e.clock.add(6 * time.Minute)
	ev := next(t, events, EventServiceLevel, nil)
	var n ServiceLevelNotice
	json.Unmarshal([]byte(ev.data), &n)
	if n.ConversationID != id || n.Priority != conversation.PriorityHigh || n.Department != "general" {
		t.Errorf("notice %s", ev.data)
	}
	if f := <-alerts; f["conversation_id"] != id || f["priority"] != "high" {
		t.Errorf("alert %v", f)
	}
	c, _ := e.st.Conversation(id)
	if r := c.Handoff.Route; r.Priority != conversation.PriorityHigh || r.BreachedAt.IsZero() || r.Raised != "service_level" {
		t.Errorf("route after the breach %+v", r)
	}
	evs, _, err := e.st.EventsAfter(0, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || ev.Type == "handoff.sla_breached"
	}
	if !found {
		t.Error("no handoff.sla_breached event")
	}
}

// A returning customer goes back to the operator who served them when
// that operator is online with room, though a colleague's turn is next.
func TestReturningCustomerGetsTheirOperator(t *testing.T) {
	e := newRoutedEnv(t, priorities(), Routing{AutoAssign: true, Default: "general",
		Departments: []Department{{Name: "general"}}, MaxChats: 2, FirstResponse: targets})
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	bob := e.operator("bob@example.com", "Bob", accounts.RoleAgent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	next(t, ann.stream(ctx, ""), EventReady, nil)
	id := e.handedOff("1", "hello")
	e.eventually("the conversation to go to Ann", func() bool {
		c, _ := e.st.Conversation(id)
		return c.State == conversation.Human && c.Handoff.Assignee == ann.id
	})
	next(t, bob.stream(ctx, ""), EventReady, nil) // Bob comes online: his turn is next
	if code := ann.do("POST", "/op/v1/conversations/"+id+"/close", nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	if again := e.handedOff("1", "me again"); again != id {
		t.Fatalf("a new conversation %s for the same chat", again)
	}
	e.eventually("the returning customer to go back to Ann", func() bool {
		c, _ := e.st.Conversation(id)
		return c.State == conversation.Human
	})
	if c, _ := e.st.Conversation(id); c.Handoff.Assignee != ann.id {
		t.Errorf("the returning customer went to %s, want Ann", c.Handoff.Operator)
	}
	// A new customer goes to Bob, who holds fewer.
	other := e.handedOff("2", "hi")
	e.eventually("the new customer to be assigned", func() bool {
		c, _ := e.st.Conversation(other)
		return c.State == conversation.Human
	})
	if c, _ := e.st.Conversation(other); c.Handoff.Assignee != bob.id {
		t.Errorf("the new customer went to %s, want Bob", c.Handoff.Operator)
	}
}
