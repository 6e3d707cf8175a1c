package engine

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// kindTicketComment is the inbox kind of a public ticket comment on its
// way to the visitor.
const kindTicketComment sdk.EventKind = "engine.ticket_comment"

// ticketSubjectChars bounds the part of the visitor's words in the subject
// of a ticket opened for them.
const ticketSubjectChars = 80

// peopleAway says why a handoff now would reach nobody: outside the
// opening hours (with when the team is back), or no operator online on
// the console; "" when someone can be reached.
func (e *Engine) peopleAway(now time.Time) (conversation.Cause, string) {
	if !e.cfg.Hours.Open(now) {
		return conversation.CauseOffHours, e.cfg.Hours.Describe(now)
	}
	if e.cfg.Rules.Desk == conversation.ConsoleDesk && e.cfg.OperatorsOnline != nil && !e.cfg.OperatorsOnline() {
		return conversation.CauseNoOperator, ""
	}
	return "", ""
}

// openTicket performs an OpenTicket: the ticket is stored with the step's
// effects, and the visitor is told its number and when to expect an
// answer.
func (e *Engine) openTicket(ef *effects, a conversation.OpenTicket) {
	if id, ok := e.ticketStillOpen(ef); ok {
		// Asking again while the last ticket waits for an answer: the
		// visitor is reminded of it rather than given a second one.
		e.say(ef, conversation.Say{Role: conversation.RoleBot, Text: strings.ReplaceAll(a.Text, "{ticket}", strconv.FormatUint(id, 10))})
		return
	}
	id, err := e.st.ReserveTicketID()
	if err != nil {
		// The store cannot be read: the commit fails too, and the step
		// runs again.
		e.logFor(ef.conv).WithError(err).Error("reserve a ticket number")
		ef.failed = err
		return
	}
	subject := "Chat with " + displayName(ef.conv.User) + " on " + ef.conv.Channel
	if q := strings.TrimSpace(ef.question); q != "" {
		subject += ": " + truncate(strings.ReplaceAll(q, "\n", " "), ticketSubjectChars)
	}
	ef.tickets = append(ef.tickets, store.Ticket{
		ID: id, Subject: subject, Requester: store.Requester{Channel: ef.conv.Channel, User: ef.conv.User},
		ConversationID: ef.conv.ID, Cause: a.Cause,
		Comments: []store.TicketComment{{ID: 1, Text: "Opened because: " + a.Reason, CreatedAt: e.st.Now()}},
	})
	text := strings.ReplaceAll(a.Text, "{ticket}", strconv.FormatUint(id, 10))
	if text != "" {
		e.say(ef, conversation.Say{Role: conversation.RoleBot, Text: text})
	}
	e.logFor(ef.conv).WithField("ticket", id).WithField("cause", a.Cause).Info("ticket opened")
}

// ticketStillOpen is the conversation's latest ticket that is open or
// pending, if any (this step's own included).
func (e *Engine) ticketStillOpen(ef *effects) (uint64, bool) {
	if n := len(ef.tickets); n > 0 {
		return ef.tickets[n-1].ID, true
	}
	tickets, err := e.st.TicketsOf(ef.conv.ID)
	if err != nil {
		e.logFor(ef.conv).WithError(err).Warn("read the conversation's tickets")
		return 0, false
	}
	for i := len(tickets) - 1; i >= 0; i-- {
		if s := tickets[i].Status; s == store.TicketOpen || s == store.TicketPending {
			return tickets[i].ID, true
		}
	}
	return 0, false
}

// displayName is how a visitor is named to the team: their name, else
// their id on the channel.
func displayName(u sdk.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.ID
}

// CommentTicket adds a comment to ticket id. A public comment on a ticket
// linked to a conversation is queued, in the same transaction, for the
// conversation's lane, which delivers it on the visitor's channel; a
// private one is never sent.
func (e *Engine) CommentTicket(ctx context.Context, id uint64, c store.TicketComment) (store.Ticket, error) {
	var out store.Ticket
	err := e.st.Update(ctx, func(tx *store.Tx) error {
		comment := c
		var err error
		if out, err = store.UpdateTicketTx(tx, id, store.TicketChange{Comment: &comment}); err != nil {
			return err
		}
		if !comment.Public || out.ConversationID == "" {
			return nil
		}
		_, err = e.st.EnqueueInboxTx(tx, out.ConversationID, "", sdk.Event{
			ID: store.NewID("a_"), Kind: kindTicketComment, User: sdk.User{Name: comment.Author}, Text: comment.Text,
		})
		return err
	})
	return out, err
}
