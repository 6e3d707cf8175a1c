package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Tickets is what /v1/tickets needs: the stored tickets, and comments that
// reach the visitor when public.
type Tickets interface {
	CreateTicket(ctx context.Context, t store.Ticket) (store.Ticket, error)
	Ticket(id uint64) (store.Ticket, error)
	Tickets(f store.TicketFilter, p store.Page) ([]store.Ticket, error)
	UpdateTicket(ctx context.Context, id uint64, ch store.TicketChange) (store.Ticket, error)
	CommentTicket(ctx context.Context, id uint64, c store.TicketComment) (store.Ticket, error)
}

// routeTickets registers the ticket routes.
func (s *Server) routeTickets() {
	read, write := store.ScopeTicketsRead, store.ScopeTicketsWrite
	s.route("POST /v1/tickets", write, s.createTicket)
	s.route("GET /v1/tickets", read, s.listTickets)
	s.route("GET /v1/tickets/{id}", read, s.getTicket)
	s.route("PATCH /v1/tickets/{id}", write, s.updateTicket)
	s.route("POST /v1/tickets/{id}/comments", write, s.commentTicket)
}

// TicketRequest is the JSON body of POST /v1/tickets.
type TicketRequest struct {
	Subject  string `json:"subject"`
	Status   string `json:"status"`
	Priority string `json:"priority"`
	// Requester is who the ticket is for; with ConversationID unset it is
	// taken from the conversation.
	Requester *store.Requester `json:"requester"`
	// ConversationID links a conversation: public comments are delivered
	// on its channel.
	ConversationID string   `json:"conversation_id"`
	Assignee       string   `json:"assignee"`
	Tags           []string `json:"tags"`
	// Comment, when set, is the ticket's first comment (private).
	Comment string `json:"comment"`
}

// TicketUpdate is the JSON body of PATCH /v1/tickets/{id}: the fields
// present change.
type TicketUpdate struct {
	Subject  *string   `json:"subject"`
	Status   *string   `json:"status"`
	Priority *string   `json:"priority"`
	Assignee *string   `json:"assignee"`
	Tags     *[]string `json:"tags"`
}

// TicketCommentRequest is the JSON body of POST /v1/tickets/{id}/comments.
type TicketCommentRequest struct {
	Text string `json:"text"`
	// Public comments are sent to the visitor on their channel; private
	// ones (the default) are notes for the team.
	Public bool `json:"public"`
	// Author is the name the visitor sees; default the API key's name.
	Author string `json:"author"`
}

// ticketsAvailable answers 404 when the server keeps no tickets.
func (s *Server) ticketsAvailable(w http.ResponseWriter) bool {
	if s.cfg.Tickets == nil {
		writeError(w, http.StatusNotFound, "not_found", "tickets are not available")
		return false
	}
	return true
}

// badField answers 400 naming the field.
func badField(w http.ResponseWriter, field, msg string) {
	writeError(w, http.StatusBadRequest, "bad_request", field+": "+msg)
}

// oneOf reports whether v is one of allowed, answering 400 naming the
// field itself when it is not.
func oneOf(w http.ResponseWriter, field, v string, allowed []string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	badField(w, field, strconv.Quote(v)+" is not one of "+strings.Join(allowed, ", "))
	return false
}

// checkTicketFields checks what a create or update sets, answering 400
// itself.
func checkTicketFields(w http.ResponseWriter, subject, status, priority *string, tags *[]string) bool {
	switch {
	case subject != nil && strings.TrimSpace(*subject) == "":
		badField(w, "subject", "must not be empty")
	case subject != nil && len(*subject) > 500:
		badField(w, "subject", "must be at most 500 bytes")
	// oneOf answers a value that is not allowed itself.
	case status != nil && !oneOf(w, "status", *status, store.TicketStatuses):
	case priority != nil && !oneOf(w, "priority", *priority, store.TicketPriorities):
	default:
		if tags != nil {
			for i, t := range *tags {
				if strings.TrimSpace(t) == "" {
					badField(w, "tags["+strconv.Itoa(i)+"]", "must not be empty")
					return false
				}
			}
		}
		return true
	}
	return false
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	if !s.ticketsAvailable(w) {
		return
	}
	var req TicketRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Status == "" {
		req.Status = store.TicketOpen
	}
	if req.Priority == "" {
		req.Priority = store.PriorityNormal
	}
	if !checkTicketFields(w, &req.Subject, &req.Status, &req.Priority, &req.Tags) {
		return
	}
	t := store.Ticket{
		Subject: strings.TrimSpace(req.Subject), Status: req.Status, Priority: req.Priority,
		ConversationID: req.ConversationID, Assignee: req.Assignee, Tags: req.Tags,
	}
	if req.ConversationID != "" {
		c, err := s.store.Conversation(req.ConversationID)
		if errors.Is(err, store.ErrNotFound) {
			badField(w, "conversation_id", "no conversation "+strconv.Quote(req.ConversationID))
			return
		}
		if err != nil {
			s.internalError(w, "read conversation", err)
			return
		}
		t.Requester = store.Requester{Channel: c.Channel, User: c.User}
	}
	if req.Requester != nil {
		if strings.TrimSpace(req.Requester.User.ID) == "" {
			badField(w, "requester.user.id", "is required")
			return
		}
		if req.Requester.Channel == "" {
			badField(w, "requester.channel", "is required")
			return
		}
		t.Requester = *req.Requester
	}
	if req.Comment != "" {
		t.Comments = []store.TicketComment{{ID: 1, Author: callerName(r), Text: req.Comment, CreatedAt: s.store.Now()}}
	}
	created, err := s.cfg.Tickets.CreateTicket(r.Context(), t)
	if errors.Is(err, store.ErrInvalidTicket) {
		invalidTicket(w, err)
		return
	}
	if err != nil {
		s.internalError(w, "create ticket", err)
		return
	}
	w.Header().Set("Location", "/v1/tickets/"+strconv.FormatUint(created.ID, 10))
	s.writeJSON(w, http.StatusCreated, viewTicket(created))
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	if !s.ticketsAvailable(w) {
		return
	}
	q := r.URL.Query()
	f := store.TicketFilter{
		Status: q.Get("status"), Priority: q.Get("priority"), Assignee: q.Get("assignee"),
		Tag: q.Get("tag"), ConversationID: q.Get("conversation_id"), Channel: q.Get("channel"),
	}
	if f.Status != "" && !oneOf(w, "status", f.Status, store.TicketStatuses) ||
		f.Priority != "" && !oneOf(w, "priority", f.Priority, store.TicketPriorities) {
		return
	}
	p, ok := seqPageParams(w, r, "a ticket number")
	if !ok {
		return
	}
	list, err := s.cfg.Tickets.Tickets(f, p.Page)
	if err != nil {
		s.internalError(w, "list tickets", err)
		return
	}
	list, next := finish(p, list, func(t store.Ticket) []byte { return seqKey(t.ID) })
	out := make([]ticketView, len(list))
	for i, t := range list {
		out[i] = viewTicket(t)
	}
	resp := listBody("tickets", out, next)
	if next != "" && !p.Desc {
		// The older form of the cursor, for ?after=.
		resp["next"] = strconv.FormatUint(list[len(list)-1].ID, 10)
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// ticketID reads the {id} of the path, answering 404 itself when the
// server keeps no tickets or the id cannot be one.
func (s *Server) ticketID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	if !s.ticketsAvailable(w) {
		return 0, false
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		writeError(w, http.StatusNotFound, "not_found", "no ticket "+strconv.Quote(r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// invalidTicket answers 400 with the rule a ticket broke.
func invalidTicket(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, "bad_request", strings.TrimPrefix(err.Error(), store.ErrInvalidTicket.Error()+": "))
}

// ticketAnswer answers with a ticket after a read or change.
func (s *Server) ticketAnswer(w http.ResponseWriter, id uint64, t store.Ticket, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no ticket "+strconv.FormatUint(id, 10))
	case errors.Is(err, store.ErrInvalidTicket):
		invalidTicket(w, err)
	case err != nil:
		s.internalError(w, "ticket "+strconv.FormatUint(id, 10), err)
	default:
		s.writeJSON(w, http.StatusOK, viewTicket(t))
	}
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) {
	if id, ok := s.ticketID(w, r); ok {
		t, err := s.cfg.Tickets.Ticket(id)
		s.ticketAnswer(w, id, t, err)
	}
}

func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ticketID(w, r)
	if !ok {
		return
	}
	var req TicketUpdate
	if !decodeJSON(w, r, &req) || !checkTicketFields(w, req.Subject, req.Status, req.Priority, req.Tags) {
		return
	}
	t, err := s.cfg.Tickets.UpdateTicket(r.Context(), id, store.TicketChange{
		Subject: req.Subject, Status: req.Status, Priority: req.Priority, Assignee: req.Assignee, Tags: req.Tags,
	})
	s.ticketAnswer(w, id, t, err)
}

func (s *Server) commentTicket(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ticketID(w, r)
	if !ok {
		return
	}
	var req TicketCommentRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		badField(w, "text", "must not be empty")
		return
	}
	if req.Author == "" {
		req.Author = callerName(r)
	}
	t, err := s.cfg.Tickets.CommentTicket(r.Context(), id, store.TicketComment{Author: req.Author, Text: req.Text, Public: req.Public})
	s.ticketAnswer(w, id, t, err)
}

// callerName is the name of the key or client making the request.
func callerName(r *http.Request) string {
	if c, ok := r.Context().Value(principalKey{}).(caller); ok {
		return c.principal.Name
	}
	return ""
}

// ticketView is a ticket as the API shows it.
type ticketView struct {
	ID             uint64                `json:"id"`
	Subject        string                `json:"subject"`
	Status         string                `json:"status"`
	Priority       string                `json:"priority"`
	Requester      requesterView         `json:"requester"`
	ConversationID string                `json:"conversation_id,omitempty"`
	Assignee       string                `json:"assignee,omitempty"`
	Tags           []string              `json:"tags"`
	Cause          conversation.Cause    `json:"cause,omitempty"`
	Comments       []store.TicketComment `json:"comments"`
	CreatedAt      time.Time             `json:"created_at"`
	UpdatedAt      time.Time             `json:"updated_at"`
}

type requesterView struct {
	Channel string   `json:"channel,omitempty"`
	User    sdk.User `json:"user"`
}

func viewTicket(t store.Ticket) ticketView {
	v := ticketView{
		ID: t.ID, Subject: t.Subject, Status: t.Status, Priority: t.Priority,
		Requester:      requesterView{Channel: t.Requester.Channel, User: t.Requester.User},
		ConversationID: t.ConversationID, Assignee: t.Assignee, Tags: t.Tags, Cause: t.Cause,
		Comments: t.Comments, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if v.Comments == nil {
		v.Comments = []store.TicketComment{}
	}
	return v
}
