package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Tickets: bucket tickets holds each ticket by its number, bucket
// ticket_convs indexes them by linked conversation (conversation id, 0,
// number). Numbers are handed out by ReserveTicketID, so a number can be
// told to a visitor in the same transaction that stores its ticket.

// Ticket statuses.
const (
	TicketOpen    = "open"
	TicketPending = "pending"
	TicketSolved  = "solved"
	TicketClosed  = "closed"
)

// TicketStatuses lists the statuses, in their usual order.
var TicketStatuses = []string{TicketOpen, TicketPending, TicketSolved, TicketClosed}

// Ticket priorities.
const (
	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// TicketPriorities lists the priorities, lowest first.
var TicketPriorities = []string{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

// ErrInvalidTicket is returned for a ticket or change that breaks a rule
// (an unknown status, an empty subject); the error says which field.
var ErrInvalidTicket = errors.New("invalid ticket")

// Ticket is a request the team answers later: opened over the API, or for
// a visitor no person could be reached for.
type Ticket struct {
	// ID is the ticket's number, the one visitors are told.
	ID       uint64 `json:"id"`
	Subject  string `json:"subject"`
	Status   string `json:"status"`
	Priority string `json:"priority"`
	// Requester is the visitor the ticket is for.
	Requester Requester `json:"requester"`
	// ConversationID is the linked conversation, where public comments
	// are delivered; "" for none.
	ConversationID string   `json:"conversation_id,omitempty"`
	Assignee       string   `json:"assignee,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	// Cause is why the ticket was opened automatically; "" for tickets
	// opened over the API.
	Cause     conversation.Cause `json:"cause,omitempty"`
	Comments  []TicketComment    `json:"comments,omitempty"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
}

// Requester is who a ticket is for.
type Requester struct {
	Channel string   `json:"channel"`
	User    sdk.User `json:"user"`
}

// TicketComment is one comment on a ticket; a public one is sent to the
// visitor, a private one never is.
type TicketComment struct {
	// ID numbers the ticket's comments from 1.
	ID        int       `json:"id"`
	Author    string    `json:"author,omitempty"`
	Text      string    `json:"text"`
	Public    bool      `json:"public"`
	CreatedAt time.Time `json:"created_at"`
}

// check reports the first field that breaks a rule.
func (t *Ticket) check() error {
	switch {
	case t.Subject == "":
		return fmt.Errorf("%w: subject must not be empty", ErrInvalidTicket)
	case !slices.Contains(TicketStatuses, t.Status):
		return fmt.Errorf("%w: status %q is not one of %s", ErrInvalidTicket, t.Status, strings.Join(TicketStatuses, ", "))
	case !slices.Contains(TicketPriorities, t.Priority):
		return fmt.Errorf("%w: priority %q is not one of %s", ErrInvalidTicket, t.Priority, strings.Join(TicketPriorities, ", "))
	}
	for i, tag := range t.Tags {
		if tag == "" {
			return fmt.Errorf("%w: tags[%d] must not be empty", ErrInvalidTicket, i)
		}
	}
	return nil
}

// eventTicket is t as events show it.
func (t *Ticket) eventTicket() events.Ticket {
	return events.Ticket{
		ID: t.ID, Subject: t.Subject, Status: t.Status, Priority: t.Priority,
		Requester: events.Requester{Channel: t.Requester.Channel, User: events.User{ID: t.Requester.User.ID, Name: t.Requester.User.Name}},
		Assignee:  t.Assignee, Tags: t.Tags, Cause: t.Cause,
	}
}

// subject is what events about t are about: its conversation, if any.
func (t *Ticket) subject(tx *Tx) (events.Subject, error) {
	if t.ConversationID == "" {
		return events.Subject{}, nil
	}
	return tx.subject(t.ConversationID)
}

// ticketSeq hands out ticket numbers, starting after the highest stored.
type ticketSeq struct {
	once sync.Once
	mu   sync.Mutex
	last uint64
	err  error
}

// ReserveTicketID returns a ticket number nobody else gets. A number
// reserved but never stored is skipped.
func (s *Store) ReserveTicketID() (uint64, error) {
	s.tickets.once.Do(func() {
		s.tickets.err = s.db.View(func(tx *bolt.Tx) error {
			if k, _ := tx.Bucket(bucketTickets).Cursor().Last(); k != nil {
				s.tickets.last = readU64(k)
			}
			return nil
		})
	})
	if s.tickets.err != nil {
		return 0, s.tickets.err
	}
	s.tickets.mu.Lock()
	defer s.tickets.mu.Unlock()
	s.tickets.last++
	return s.tickets.last, nil
}

// CreateTicketTx stores a new ticket (t.ID reserved with ReserveTicketID,
// or 0 to reserve one now), fills in its defaults and times, and records
// ticket.created.
func CreateTicketTx(tx *Tx, t *Ticket) error {
	if t.ID == 0 {
		id, err := tx.st.ReserveTicketID()
		if err != nil {
			return err
		}
		t.ID = id
	}
	if t.Status == "" {
		t.Status = TicketOpen
	}
	if t.Priority == "" {
		t.Priority = PriorityNormal
	}
	now := tx.st.Now()
	t.CreatedAt, t.UpdatedAt = now, now
	if err := t.check(); err != nil {
		return err
	}
	if t.ConversationID != "" {
		if _, err := getConversation(tx.Tx, t.ConversationID); err != nil {
			return err
		}
		if err := tx.Bucket(bucketTicketConvs).Put(ticketConvKey(t.ConversationID, t.ID), nil); err != nil {
			return err
		}
	}
	if err := putTicket(tx.Tx, t); err != nil {
		return err
	}
	on, err := t.subject(tx)
	if err != nil {
		return err
	}
	_, err = EmitTx(tx, on, events.TicketCreated{Ticket: t.eventTicket()})
	return err
}

// CreateTicket stores a new ticket and returns it as stored.
func (s *Store) CreateTicket(ctx context.Context, t Ticket) (Ticket, error) {
	var out Ticket
	err := s.Update(ctx, func(tx *Tx) error {
		out = t
		out.Tags, out.Comments = slices.Clone(t.Tags), slices.Clone(t.Comments)
		return CreateTicketTx(tx, &out)
	})
	return out, err
}

// TicketChange is a change to a ticket: the fields set change, and a
// comment with text is added.
type TicketChange struct {
	Subject  *string
	Status   *string
	Priority *string
	Assignee *string
	Tags     *[]string
	Comment  *TicketComment
}

// UpdateTicketTx applies a change to ticket id and records ticket.updated
// with the fields that changed; a change that changes nothing records
// nothing.
func UpdateTicketTx(tx *Tx, id uint64, ch TicketChange) (Ticket, error) {
	t, err := getTicket(tx.Tx, id)
	if err != nil {
		return Ticket{}, err
	}
	var changed []string
	set := func(name string, field *string, v *string) {
		if v != nil && *v != *field {
			*field = *v
			changed = append(changed, name)
		}
	}
	set("subject", &t.Subject, ch.Subject)
	set("status", &t.Status, ch.Status)
	set("priority", &t.Priority, ch.Priority)
	set("assignee", &t.Assignee, ch.Assignee)
	if ch.Tags != nil && !slices.Equal(*ch.Tags, t.Tags) {
		t.Tags = slices.Clone(*ch.Tags)
		changed = append(changed, "tags")
	}
	now := tx.st.Now()
	var comment *events.TicketComment
	if c := ch.Comment; c != nil {
		if c.Text == "" {
			return Ticket{}, fmt.Errorf("%w: text must not be empty", ErrInvalidTicket)
		}
		added := TicketComment{ID: len(t.Comments) + 1, Author: c.Author, Text: c.Text, Public: c.Public, CreatedAt: now}
		t.Comments = append(t.Comments, added)
		*c = added
		changed = append(changed, "comment")
		// Like operators' notes, a private comment's text stays inside.
		comment = &events.TicketComment{ID: added.ID, Author: added.Author, Public: added.Public}
		if added.Public {
			comment.Text = added.Text
		}
	}
	if err := t.check(); err != nil {
		return Ticket{}, err
	}
	if len(changed) == 0 {
		return t, nil
	}
	t.UpdatedAt = now
	if err := putTicket(tx.Tx, &t); err != nil {
		return Ticket{}, err
	}
	on, err := t.subject(tx)
	if err != nil {
		return Ticket{}, err
	}
	_, err = EmitTx(tx, on, events.TicketUpdated{Ticket: t.eventTicket(), Changed: changed, Comment: comment})
	return t, err
}

// UpdateTicket applies a change to ticket id and returns the ticket after
// it.
func (s *Store) UpdateTicket(ctx context.Context, id uint64, ch TicketChange) (Ticket, error) {
	var out Ticket
	err := s.Update(ctx, func(tx *Tx) error {
		var err error
		out, err = UpdateTicketTx(tx, id, ch)
		return err
	})
	return out, err
}

// Ticket returns ticket id.
func (s *Store) Ticket(id uint64) (Ticket, error) {
	var t Ticket
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		t, err = getTicket(tx, id)
		return err
	})
	return t, err
}

// TicketFilter picks tickets; empty fields match every ticket.
type TicketFilter struct {
	Status, Priority, Assignee, Tag, ConversationID, Channel string
}

func (f TicketFilter) match(t *Ticket) bool {
	return (f.Status == "" || t.Status == f.Status) &&
		(f.Priority == "" || t.Priority == f.Priority) &&
		(f.Assignee == "" || t.Assignee == f.Assignee) &&
		(f.Tag == "" || slices.Contains(t.Tags, f.Tag)) &&
		(f.ConversationID == "" || t.ConversationID == f.ConversationID) &&
		(f.Channel == "" || t.Requester.Channel == f.Channel)
}

// Tickets returns one page of the tickets matching f, ordered by number:
// p.After is the SeqCursor of the last ticket of the previous page, and
// p.Limit counts matching tickets (0 returns all).
func (s *Store) Tickets(f TicketFilter, p Page) ([]Ticket, error) {
	var out []Ticket
	walk := Page{After: p.After, Desc: p.Desc}
	full := func() bool { return p.Limit > 0 && len(out) >= p.Limit }
	err := s.db.View(func(tx *bolt.Tx) error {
		if f.ConversationID != "" {
			// The index has the conversation's tickets in order.
			prefix := ticketConvKey(f.ConversationID, 0)[:len(f.ConversationID)+1]
			return scan(tx.Bucket(bucketTicketConvs).Cursor(), prefix, walk, func(k, _ []byte) (bool, error) {
				if len(k) != len(prefix)+8 {
					return true, nil
				}
				t, err := getTicket(tx, readU64(k[len(prefix):]))
				if err != nil {
					return false, err
				}
				if f.match(&t) {
					out = append(out, t)
				}
				return !full(), nil
			})
		}
		return scan(tx.Bucket(bucketTickets).Cursor(), nil, walk, func(k, v []byte) (bool, error) {
			var t Ticket
			if err := json.Unmarshal(v, &t); err != nil {
				return false, fmt.Errorf("decode ticket %d: %w", readU64(k), err)
			}
			if f.match(&t) {
				out = append(out, t)
			}
			return !full(), nil
		})
	})
	return out, err
}

func ticketConvKey(convID string, id uint64) []byte {
	k := make([]byte, 0, len(convID)+9)
	k = append(k, convID...)
	k = append(k, 0)
	return append(k, u64(id)...)
}

func putTicket(tx *bolt.Tx, t *Ticket) error {
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode ticket %d: %w", t.ID, err)
	}
	return appending(tx, bucketTickets).Put(u64(t.ID), data)
}

func getTicket(tx *bolt.Tx, id uint64) (Ticket, error) {
	data := tx.Bucket(bucketTickets).Get(u64(id))
	if data == nil {
		return Ticket{}, fmt.Errorf("ticket %d: %w", id, ErrNotFound)
	}
	var t Ticket
	if err := json.Unmarshal(data, &t); err != nil {
		return Ticket{}, fmt.Errorf("decode ticket %d: %w", id, err)
	}
	return t, nil
}

// Profile is a customer's record in the business's CRM, as its lookup
// returned it.
type Profile struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Tier  string `json:"tier,omitempty"`
	// Fields are the CRM's other facts, a JSON object of at most
	// MaxProfileFields bytes.
	Fields json.RawMessage `json:"fields,omitempty"`
	// FetchedAt is when the lookup answered.
	FetchedAt time.Time `json:"fetched_at"`
}

// MaxProfileFields bounds a profile's other fields, in bytes of JSON.
const MaxProfileFields = 4 << 10

// SetLookup records a customer lookup of conversation id, tried at at:
// its profile when p is not nil (a failed lookup keeps the last one).
func (s *Store) SetLookup(ctx context.Context, id string, at time.Time, p *Profile) error {
	return s.Update(ctx, func(tx *Tx) error {
		c, err := getConversation(tx.Tx, id)
		if err != nil {
			return err
		}
		c.LookupAt = at
		if p != nil {
			c.Profile = p
		}
		return putConversation(tx.Tx, &c)
	})
}

// TicketsOf lists the tickets linked to a conversation, oldest first.
func (s *Store) TicketsOf(convID string) ([]Ticket, error) {
	return s.Tickets(TicketFilter{ConversationID: convID}, Page{Limit: 1000})
}
