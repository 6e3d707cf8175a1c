package engine

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/hours"
	"github.com/switchboard-chat/switchboard/core/store"
)

func ticketConfig() Config {
	cfg := testConfig()
	cfg.Rules.Tickets = map[conversation.Cause]bool{
		conversation.CauseOffHours: true, conversation.CauseNoOperator: true, conversation.CauseMissed: true,
		conversation.CauseDeskFailed: true, conversation.CauseQueueTimeout: true,
	}
	cfg.Rules.Messages.Ticket = "ticket #{ticket} opened"
	cfg.Rules.Messages.OffHoursTicket = "ticket #{ticket}, back {back}"
	return cfg
}

// With nobody online on the console, a handoff opens a ticket; once an
// operator is online, the next one goes to the queue.
func TestNobodyOnlineOpensATicket(t *testing.T) {
	cfg := ticketConfig()
	cfg.Rules.Desk = conversation.ConsoleDesk
	var online atomic.Bool
	cfg.OperatorsOnline = online.Load
	h := newHarness(t, cfg, &model{turn: answer("ok")})

	id := h.visitor("1", "a human please")
	h.eventually("the ticket message", func() bool { return len(h.ch["tg"].texts()) == 1 })
	if got := h.ch["tg"].texts()[0]; got != "ticket #1 opened" {
		t.Errorf("told %q", got)
	}
	if c := h.conv(id); c.State != conversation.Bot {
		t.Errorf("state %s, want bot", c.State)
	}
	tickets, err := h.st.TicketsOf(id)
	if err != nil || len(tickets) != 1 {
		t.Fatalf("tickets %+v %v", tickets, err)
	}
	tk := tickets[0]
	if tk.Cause != conversation.CauseNoOperator || tk.Requester.Channel != "tg" || tk.Requester.User.ID != "42" ||
		!strings.Contains(tk.Subject, "a human please") || len(tk.Comments) != 1 || tk.Comments[0].Public {
		t.Errorf("ticket %+v", tk)
	}

	// Asking again is answered with the same ticket; once it is solved, a
	// new one is opened.
	h.visitor("2", "human, please")
	h.eventually("the reminder", func() bool { return len(h.ch["tg"].texts()) == 2 })
	if got := h.ch["tg"].texts()[1]; got != "ticket #1 opened" {
		t.Errorf("reminded %q", got)
	}
	solved := store.TicketSolved
	if _, err := h.st.UpdateTicket(context.Background(), 1, store.TicketChange{Status: &solved}); err != nil {
		t.Fatal(err)
	}
	h.visitor("3", "human, it broke again")
	h.eventually("the second ticket", func() bool { return len(h.ch["tg"].texts()) == 3 })
	if got := h.ch["tg"].texts()[2]; got != "ticket #2 opened" {
		t.Errorf("told %q", got)
	}

	online.Store(true)
	h.visitor("4", "human again")
	h.eventually("the queue", func() bool { return h.conv(id).State == conversation.WaitingHuman })
	if tickets, _ := h.st.TicketsOf(id); len(tickets) != 2 {
		t.Errorf("%d tickets, want still 2", len(tickets))
	}
}

// Off hours the visitor is told when the team is back.
func TestOffHoursTicketSaysWhenTheTeamIsBack(t *testing.T) {
	cfg := ticketConfig()
	cfg.Rules.Desk = "desk"
	var hc hours.Config
	hc.Timezone = "Asia/Tokyo"
	day := time.Now().AddDate(0, 0, 3).Weekday()
	hc.Days[day] = []string{"09:00-10:00"}
	s, err := hours.New(hc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hours = s
	h := newHarness(t, cfg, &model{turn: answer("ok")})
	h.visitor("1", "human")
	h.eventually("the ticket message", func() bool { return len(h.ch["tg"].texts()) == 1 })
	if got := h.ch["tg"].texts()[0]; !strings.HasPrefix(got, "ticket #1, back ") || !strings.Contains(got, "09:00 (Asia/Tokyo)") {
		t.Errorf("told %q", got)
	}
	h.ch["desk"].mu.Lock()
	n := len(h.ch["desk"].opened)
	h.ch["desk"].mu.Unlock()
	if n != 0 {
		t.Errorf("the desk got %d handoffs off hours", n)
	}
}

// Nobody joining in time opens a ticket; a public comment on it reaches
// the visitor, a private one does not.
func TestQueueTimeoutTicketAndComments(t *testing.T) {
	cfg := ticketConfig()
	cfg.Rules.Desk = "desk"
	cfg.Rules.QueueTimeout = 200 * time.Millisecond
	h := newHarness(t, cfg, &model{turn: answer("ok")})
	id := h.visitor("1", "human")
	h.eventually("the ticket", func() bool {
		ts, _ := h.st.TicketsOf(id)
		return len(ts) == 1
	})
	h.eventually("the ticket message", func() bool {
		texts := h.ch["tg"].texts()
		return len(texts) > 0 && texts[len(texts)-1] == "ticket #1 opened"
	})
	if c := h.conv(id); c.State != conversation.Bot {
		t.Errorf("state %s", c.State)
	}
	ctx := context.Background()
	if _, err := h.eng.CommentTicket(ctx, 1, store.TicketComment{Author: "Bob", Text: "internal: check stock"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.CommentTicket(ctx, 1, store.TicketComment{Author: "Bob", Text: "It ships tomorrow.", Public: true}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the public comment", func() bool {
		texts := h.ch["tg"].texts()
		return texts[len(texts)-1] == "It ships tomorrow."
	})
	for _, text := range h.ch["tg"].texts() {
		if strings.Contains(text, "internal") {
			t.Errorf("a private comment was sent: %q", text)
		}
	}
	msgs, _ := h.st.Messages(id, 0, 0)
	last := msgs[len(msgs)-1]
	if last.Role != conversation.RoleOperator || last.Author == nil || last.Author.Name != "Bob" {
		t.Errorf("the comment's transcript line %+v", last)
	}
	if _, err := h.eng.CommentTicket(ctx, 9, store.TicketComment{Text: "x", Public: true}); err == nil {
		t.Error("a comment on an unknown ticket was taken")
	}
}

// Waiting is the policy: off hours the handoff waits, and the visitor is
// told when the team is back instead of "connecting you".
func TestOffHoursWaitSaysWhenTheTeamIsBack(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = conversation.ConsoleDesk
	cfg.Rules.Messages.OffHours = "back {back}"
	var hc hours.Config
	hc.Timezone = "Europe/Lisbon"
	hc.Days[time.Now().AddDate(0, 0, 3).Weekday()] = []string{"09:00-10:00"}
	s, err := hours.New(hc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hours = s
	h := newHarness(t, cfg, &model{turn: answer("ok")})
	id := h.visitor("1", "human")
	h.eventually("the queue", func() bool { return h.conv(id).State == conversation.WaitingHuman })
	h.eventually("the message", func() bool { return len(h.ch["tg"].texts()) == 1 })
	if got := h.ch["tg"].texts()[0]; !strings.HasPrefix(got, "back ") || !strings.HasSuffix(got, "09:00 (Europe/Lisbon)") {
		t.Errorf("told %q", got)
	}
}
