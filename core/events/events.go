// Package events is the catalogue of what Switchboard tells other systems
// about: every event type, the Go type of its data, and the form an event
// takes on the wire. The store records events in its log, in the same
// transaction as the change they describe (see store.EmitTx); signed
// webhooks and the event stream (GET /v1/events) carry them out.
//
// To add an event type: a Type constant, its entry in Types, and a payload
// struct whose EventType returns it. Payload fields must not be named
// conversation_id, conversation_seq or channel: those describe the
// subject and are added to every event's data.
package events

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// Type names an event, full-stop delimited: "conversation.created".
type Type string

// Event types.
const (
	// TypeConversationCreated: a visitor's first event opened a
	// conversation, or an API client created one. Data: [ConversationCreated].
	TypeConversationCreated Type = "conversation.created"
	// TypeConversationStateChanged: the conversation moved between bot,
	// waiting_human, human and closed. Data: [ConversationStateChanged].
	TypeConversationStateChanged Type = "conversation.state_changed"
	// TypeConversationAssigned: the console operator holding the
	// conversation changed. Data: [ConversationAssigned].
	TypeConversationAssigned Type = "conversation.assigned"
	// TypeMessageCreated: a line was added to the transcript (operators'
	// private notes are not events). Data: [MessageCreated].
	TypeMessageCreated Type = "message.created"
	// TypeHandoffRequested: the conversation left the bot for the people.
	// Data: [HandoffRequested].
	TypeHandoffRequested Type = "handoff.requested"
	// TypeHandoffServiceLevelBreached: a waiting conversation passed its
	// priority's first-response target with no operator; its priority
	// went up. Data: [HandoffServiceLevelBreached].
	TypeHandoffServiceLevelBreached Type = "handoff.sla_breached"
	// TypeCSATSubmitted: the visitor rated the operator who served them.
	// Data: [CSATSubmitted].
	TypeCSATSubmitted Type = "csat.submitted"
	// TypeKBUnanswered: the knowledge base had no answer to a visitor's
	// question (recorded as a knowledge gap). Data: [KBUnanswered].
	TypeKBUnanswered Type = "kb.unanswered"
	// TypeTicketCreated: a ticket was opened, by an API client or for a
	// visitor no person could be reached for. Data: [TicketCreated].
	TypeTicketCreated Type = "ticket.created"
	// TypeTicketUpdated: a ticket's fields changed or it got a comment.
	// Data: [TicketUpdated].
	TypeTicketUpdated Type = "ticket.updated"
)

// Types lists every event type, in the order they are documented.
var Types = []Type{
	TypeConversationCreated,
	TypeConversationStateChanged,
	TypeConversationAssigned,
	TypeMessageCreated,
	TypeHandoffRequested,
	TypeHandoffServiceLevelBreached,
	TypeCSATSubmitted,
	TypeKBUnanswered,
	TypeTicketCreated,
	TypeTicketUpdated,
}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool { return slices.Contains(Types, t) }

// TypeNames is Types as strings, for messages that list them.
func TypeNames() []string {
	out := make([]string, len(Types))
	for i, t := range Types {
		out[i] = string(t)
	}
	return out
}

// Payload is the data of one type of event.
type Payload interface {
	// EventType is the type of the events carrying this data.
	EventType() Type
}

// ConversationCreated is the data of conversation.created.
type ConversationCreated struct {
	// User is the visitor.
	User User `json:"user"`
	// State is the conversation's first state (normally bot).
	State conversation.State `json:"state"`
}

// User is a visitor as events show them.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// ConversationStateChanged is the data of conversation.state_changed.
type ConversationStateChanged struct {
	From  conversation.State `json:"from"`
	To    conversation.State `json:"to"`
	Cause conversation.Cause `json:"cause"`
	// Reason is the free-text explanation, if any.
	Reason string `json:"reason,omitempty"`
}

// ConversationAssigned is the data of conversation.assigned: the operator
// who held it (From, absent when nobody did) and the one who holds it now
// (To, absent when it went back to the queue).
type ConversationAssigned struct {
	From *Operator `json:"from,omitempty"`
	To   *Operator `json:"to,omitempty"`
}

// Operator is a person answering visitors: a console account (ID set) or
// an operator of an external desk.
type Operator struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// OperatorOf is op for an event, nil for nobody.
func OperatorOf(op conversation.Operator) *Operator {
	if op.ID == "" && op.Name == "" {
		return nil
	}
	return &Operator{ID: op.ID, Name: op.Name}
}

// MessageCreated is the data of message.created.
type MessageCreated struct {
	// MessageID is the message's id in the transcript API.
	MessageID string `json:"message_id"`
	// Role is who wrote it: visitor, bot, operator or system.
	Role conversation.Role `json:"role"`
	Text string            `json:"text"`
	// Attachments describe the files sent with it (never their contents
	// or platform links).
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment describes a file sent with a message.
type Attachment struct {
	Type     string `json:"type"`
	Name     string `json:"name,omitempty"`
	MIMEType string `json:"mime_type,omitempty"`
	Size     int64  `json:"size,omitempty"`
}

// HandoffRequested is the data of handoff.requested.
type HandoffRequested struct {
	Cause  conversation.Cause `json:"cause"`
	Reason string             `json:"reason,omitempty"`
	// Desk is the desk instance that gets it; absent when the visitor's
	// own channel takes it (Native) or there is no desk.
	Desk   string `json:"desk,omitempty"`
	Native bool   `json:"native,omitempty"`
	// Deadline is when the visitor stops waiting (handoff.queue_timeout);
	// absent for no limit.
	Deadline *time.Time `json:"deadline,omitempty"`
	// Department, Priority, Tags and RoutedBy are the handoff's route:
	// where it was sent and what chose it ("rule:<name>", "model",
	// "language", "channel", "default"); absent when it was not routed.
	Department string                 `json:"department,omitempty"`
	Priority   *conversation.Priority `json:"priority,omitempty"`
	Tags       []string               `json:"tags,omitempty"`
	RoutedBy   string                 `json:"routed_by,omitempty"`
}

// HandoffServiceLevelBreached is the data of handoff.sla_breached.
type HandoffServiceLevelBreached struct {
	Department string                `json:"department"`
	Previous   conversation.Priority `json:"previous_priority"`
	Priority   conversation.Priority `json:"priority"`
	// WaitingSince is when the conversation started waiting.
	WaitingSince time.Time `json:"waiting_since"`
}

// CSATSubmitted is the data of csat.submitted.
type CSATSubmitted struct {
	// Score is 1 (poor) to 5 (excellent).
	Score   int    `json:"score"`
	Comment string `json:"comment,omitempty"`
	// Operator served the rated handoff, which started at HandoffAt.
	Operator  *Operator `json:"operator,omitempty"`
	HandoffAt time.Time `json:"handoff_at"`
}

// KBUnanswered is the data of kb.unanswered.
type KBUnanswered struct {
	// Question is what the visitor asked.
	Question string `json:"question"`
	// Reason is low_score (no entry matched well enough) or handoff (the
	// model handed the question to a person).
	Reason string `json:"reason"`
	// Score is the best entry's score (0 for a handoff).
	Score float64 `json:"score"`
}

// EventType implements [Payload].
func (ConversationCreated) EventType() Type { return TypeConversationCreated }

// EventType implements [Payload].
func (ConversationStateChanged) EventType() Type { return TypeConversationStateChanged }

// EventType implements [Payload].
func (ConversationAssigned) EventType() Type { return TypeConversationAssigned }

// EventType implements [Payload].
func (MessageCreated) EventType() Type { return TypeMessageCreated }

// EventType implements [Payload].
func (HandoffRequested) EventType() Type { return TypeHandoffRequested }

// EventType implements [Payload].
func (HandoffServiceLevelBreached) EventType() Type { return TypeHandoffServiceLevelBreached }

// EventType implements [Payload].
func (CSATSubmitted) EventType() Type { return TypeCSATSubmitted }

// EventType implements [Payload].
func (KBUnanswered) EventType() Type { return TypeKBUnanswered }

// Ticket is a ticket as events show it (its comments are not repeated).
type Ticket struct {
	ID        uint64    `json:"id"`
	Subject   string    `json:"subject"`
	Status    string    `json:"status"`
	Priority  string    `json:"priority"`
	Requester Requester `json:"requester"`
	Assignee  string    `json:"assignee,omitempty"`
	Tags      []string  `json:"tags,omitempty"`
	// Cause is why the ticket was opened automatically ("off_hours",
	// "queue_timeout"…); absent for tickets opened over the API.
	Cause conversation.Cause `json:"cause,omitempty"`
}

// Requester is who a ticket is for: a visitor on a channel.
type Requester struct {
	Channel string `json:"channel"`
	User    User   `json:"user"`
}

// TicketComment is a comment as events show it; a private comment's text
// is left out.
type TicketComment struct {
	ID     int    `json:"id"`
	Author string `json:"author,omitempty"`
	Text   string `json:"text,omitempty"`
	// Public comments are sent to the visitor; private ones are notes for
	// the team.
	Public bool `json:"public"`
}

// TicketCreated is the data of ticket.created.
type TicketCreated struct {
	Ticket Ticket `json:"ticket"`
}

// TicketUpdated is the data of ticket.updated: the ticket after the
// change, the names of the fields that changed ("status", "priority",
// "assignee", "tags", "subject", "comment") and the comment added, if any.
type TicketUpdated struct {
	Ticket  Ticket         `json:"ticket"`
	Changed []string       `json:"changed"`
	Comment *TicketComment `json:"comment,omitempty"`
}

// EventType implements [Payload].
func (TicketCreated) EventType() Type { return TypeTicketCreated }

// EventType implements [Payload].
func (TicketUpdated) EventType() Type { return TypeTicketUpdated }

// Subject is what an event is about: a conversation and the channel it is
// on. The zero Subject is an event about no conversation.
type Subject struct {
	ConversationID string
	Channel        string
}

// Event is one recorded event.
type Event struct {
	// Seq is the event's place in the log: global, increasing, never
	// reused. It is the event stream's event id.
	Seq uint64
	// ID identifies the event to receivers ("evt_…"): it is the
	// webhook-id of its deliveries, the same on every attempt.
	ID   string
	Type Type
	// Time is when it happened.
	Time time.Time
	// ConversationID and Channel are the subject; ConversationSeq numbers
	// the conversation's events 1, 2, 3…, so a receiver can order them
	// and see a gap.
	ConversationID  string
	ConversationSeq uint64
	Channel         string
	// Payload is the type's data as JSON.
	Payload json.RawMessage
}

// Data is the event's data on the wire: the subject (conversation_id,
// conversation_seq, channel; absent for an event about no conversation)
// followed by the payload's fields.
func (e Event) Data() json.RawMessage {
	payload := []byte(e.Payload)
	if len(payload) < 2 || payload[0] != '{' {
		payload = []byte("{}")
	}
	if e.ConversationID == "" {
		return payload
	}
	b := make([]byte, 0, len(payload)+96)
	b = append(b, `{"conversation_id":`...)
	b = appendString(b, e.ConversationID)
	b = append(b, `,"conversation_seq":`...)
	b = strconv.AppendUint(b, e.ConversationSeq, 10)
	if e.Channel != "" {
		b = append(b, `,"channel":`...)
		b = appendString(b, e.Channel)
	}
	if len(payload) > 2 {
		b = append(b, ',')
	}
	return append(b, payload[1:]...)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// wire is an event as webhooks carry it.
type wire struct {
	Type      Type            `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Body is the event as a webhook delivers it, the Standard Webhooks
// payload: {"type","timestamp","data"}.
func (e Event) Body() ([]byte, error) {
	return json.Marshal(wire{Type: e.Type, Timestamp: e.Time.UTC(), Data: e.Data()})
}

// Streamed is an event as the event stream shows it: the webhook body and
// the event's id.
type Streamed struct {
	ID        string          `json:"id"`
	Type      Type            `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Streamed is the event for the event stream.
func (e Event) Streamed() Streamed {
	return Streamed{ID: e.ID, Type: e.Type, Timestamp: e.Time.UTC(), Data: e.Data()}
}
