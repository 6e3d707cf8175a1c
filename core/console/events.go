package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/sse"
	"github.com/switchboard-chat/switchboard/core/store"
)

// Event types of the operators' stream (GET /op/v1/events).
const (
	// EventReady is the first event of a fresh stream: its id is where a
	// reconnect resumes.
	EventReady = "ready"
	// EventConversation is a conversation's current view, after any change
	// (a message, a new state, someone claiming it).
	EventConversation = "conversation"
	// EventMessage is a new transcript line of a conversation.
	EventMessage = "message"
	// EventResync says the stream could not resume where the client left
	// off: reload the lists and the open conversation.
	EventResync = "resync"
	// EventTyping is someone typing in a conversation (no id: nothing to
	// resume).
	EventTyping = "typing"
	// EventPresence is an operator's status changing (no id).
	EventPresence = "presence"
	// EventSignedOut ends the stream when the session expired or the
	// account was disabled.
	EventSignedOut = "signed_out"
)

// ringSize is how many events (at least) the hub keeps for streams that
// reconnect with Last-Event-ID; one that missed more gets a resync.
const ringSize = 4096

// hub turns the store's changes into the events of the operators'
// streams. It reads each changed conversation once, whatever the number of
// streams, numbers the events, and keeps the latest ringSize of them so a
// stream that reconnects gets exactly what it missed.
type hub struct {
	st  *store.Store
	now func() time.Time
	log logrus.FieldLogger

	mu   sync.Mutex
	seq  uint64 // the last event's id
	ring []hubEvent
	subs map[chan struct{}]struct{}

	// sent is the last message id streamed per conversation (used only by
	// run's goroutine); floor is the newest message when the hub started.
	sent  map[string]sentState
	floor uint64
	// idle is set while no stream is open and changes are dropped;
	// lastLeft is when the last stream closed.
	idle     bool
	lastLeft time.Time
}

type hubEvent struct {
	id   uint64
	typ  string
	data json.RawMessage
}

type sentState struct {
	lastID uint64
	seen   time.Time
}

// idleForget is how long the hub remembers the last message streamed of a
// conversation that no longer changes.
const idleForget = 15 * time.Minute

func newHub(st *store.Store, now func() time.Time, log logrus.FieldLogger) *hub {
	// Ids start from the time the hub started, so an id from an earlier
	// run of the daemon is older than all of this run's, and resyncs.
	base := uint64(now().UnixMilli()) * 1000
	return &hub{st: st, now: now, log: log, seq: base, subs: map[chan struct{}]struct{}{}, sent: map[string]sentState{}}
}

// run follows the store's changes until ctx ends.
func (h *hub) run(ctx context.Context) {
	feed, stop := h.st.Changes()
	defer stop()
	h.floor = h.st.LastMessageID()
	sweep := time.NewTicker(idleForget)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			h.forgetIdle()
		case <-feed.Ready():
			ids := feed.Take()
			if !h.watched() {
				continue
			}
			for _, id := range ids {
				h.changed(id)
			}
		}
	}
}

// reconnectGrace is how long the hub keeps recording events after the
// last stream closed, so a console that reconnects gets exactly what it
// missed.
const reconnectGrace = time.Minute

// watched reports whether a stream is open or closed within
// reconnectGrace. Otherwise changes are not read at all: the events are
// dropped, and a stream that resumes across the gap gets a resync (its id
// is older than the kept events).
func (h *hub) watched() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) > 0 || (!h.lastLeft.IsZero() && h.now().Sub(h.lastLeft) < reconnectGrace) {
		return true
	}
	if len(h.ring) > 0 || !h.idle {
		h.seq++
		h.ring = h.ring[:0]
		h.idle = true
		// What was not streamed is read by the next console over the API.
		clear(h.sent)
		h.floor = h.st.LastMessageID()
	}
	return false
}

// changed publishes the new messages and the current view of a
// conversation.
func (h *hub) changed(id string) {
	c, err := h.st.Conversation(id)
	if errors.Is(err, store.ErrNotFound) {
		return // purged
	}
	if err != nil {
		h.log.WithError(err).WithField("conversation_id", id).Warn("console: read a changed conversation")
		return
	}
	now := h.now()
	prev, known := h.sent[id]
	after := prev.lastID
	if !known {
		after = h.floor
	}
	msgs, err := h.st.Messages(id, after, 0)
	if err != nil {
		h.log.WithError(err).WithField("conversation_id", id).Warn("console: read new messages")
		return
	}
	if !known {
		// Forgotten while idle: what was streamed before is older than the
		// forgetting; send the recent lines again (clients skip ids they
		// have).
		cut := 0
		for i, m := range msgs {
			if now.Sub(m.CreatedAt) > 2*idleForget {
				cut = i + 1
			}
		}
		msgs = msgs[cut:]
	}
	var events []hubEvent
	for _, m := range msgs {
		events = append(events, hubEvent{typ: EventMessage, data: mustJSON(messageEvent{ConversationID: id, Message: viewMessage(m)})})
		prev.lastID = m.ID
	}
	recent, err := h.st.LastMessages(id, recentLines)
	if err != nil {
		h.log.WithError(err).WithField("conversation_id", id).Warn("console: read recent messages")
		return
	}
	events = append(events, hubEvent{typ: EventConversation, data: mustJSON(viewWith(c, recent))})
	prev.seen = now
	if prev.lastID == 0 {
		prev.lastID = after
	}
	h.sent[id] = prev
	h.publish(events)
}

// messageEvent is the data of a message event.
type messageEvent struct {
	ConversationID string      `json:"conversation_id"`
	Message        MessageView `json:"message"`
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("console: encode event: " + err.Error())
	}
	return b
}

func (h *hub) forgetIdle() {
	cutoff := h.now().Add(-idleForget)
	for id, s := range h.sent {
		if s.seen.Before(cutoff) {
			delete(h.sent, id)
		}
	}
}

// publish numbers events, keeps them and wakes the streams.
func (h *hub) publish(events []hubEvent) {
	h.mu.Lock()
	for _, e := range events {
		h.seq++
		e.id = h.seq
		if len(h.ring) == 2*ringSize {
			// Drop the older half at once: at least ringSize stay, and
			// events are not moved one by one.
			h.ring = append(h.ring[:0], h.ring[ringSize:]...)
		}
		h.ring = append(h.ring, e)
	}
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	h.mu.Unlock()
}

// subscribe returns a channel woken after new events, the id of the last
// event so far, and a func to stop.
func (h *hub) subscribe() (<-chan struct{}, uint64, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.idle = false
	seq := h.seq
	h.mu.Unlock()
	return ch, seq, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		if len(h.subs) == 0 {
			h.lastLeft = h.now()
		}
		h.mu.Unlock()
	}
}

// since returns the events after id; ok is false when some of them are no
// longer kept (or id is from another run of the daemon).
func (h *hub) since(id uint64) (events []hubEvent, last uint64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id > h.seq {
		return nil, h.seq, false
	}
	if id == h.seq {
		return nil, id, true
	}
	if len(h.ring) == 0 || h.ring[0].id > id+1 {
		return nil, h.seq, false
	}
	start := int(id + 1 - h.ring[0].id)
	return append([]hubEvent(nil), h.ring[start:]...), h.seq, true
}

// typingEvent is the data of a typing event.
type typingEvent struct {
	ConversationID string `json:"conversation_id"`
	// From is "visitor", "operator" or "bot".
	From string `json:"from"`
	// Operator names a colleague typing.
	Operator *conversation.Operator `json:"operator,omitempty"`
}

// events serves one console tab's stream: the hub's events from where the
// client left off (Last-Event-ID), typing and presence, until the client
// goes, the server stops, or the session ends.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	me := operatorOf(r.Context())
	last, resume, err := sse.LastEventID(r, "after")
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	signals, stopSignals := s.live.Subscribe("")
	defer stopSignals()
	wake, seq, stop := s.hub.subscribe()
	defer stop()
	stream, err := sse.Start(w, 2*time.Second)
	if err != nil {
		s.log.WithError(err).Warn("console: event stream")
		return
	}
	s.connected(me, +1)
	defer s.connected(me, -1)

	cursor := seq
	if resume {
		cursor = last
	} else if stream.Send(strconv.FormatUint(seq, 10), EventReady, map[string]any{"operator_id": me.op.ID}) != nil {
		return
	}
	heartbeat := time.NewTicker(sse.Heartbeat)
	defer heartbeat.Stop()
	expiry := time.NewTimer(time.Until(me.expires))
	defer expiry.Stop()
	for {
		events, latest, ok := s.hub.since(cursor)
		if !ok {
			if stream.Send(strconv.FormatUint(latest, 10), EventResync, map[string]any{}) != nil {
				return
			}
		}
		for _, e := range events {
			if stream.Send(strconv.FormatUint(e.id, 10), e.typ, e.data) != nil {
				return
			}
		}
		cursor = latest
		if stream.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-wake:
		case sig := <-signals:
			if !s.sendSignal(stream, me, sig) {
				return
			}
		case <-heartbeat.C:
			if _, _, err := s.accounts.Session(me.token); errors.Is(err, accounts.ErrNoSession) {
				stream.Send("", EventSignedOut, map[string]any{})
				stream.Flush()
				return
			}
			if stream.Comment("keep-alive") != nil {
				return
			}
		case <-expiry.C:
			stream.Send("", EventSignedOut, map[string]any{})
			stream.Flush()
			return
		}
	}
}

// sendSignal writes a live signal the operator cares about; it reports
// false when the stream broke.
func (s *Server) sendSignal(stream *sse.Stream, me signedIn, sig live.Signal) bool {
	var typ string
	var data any
	switch sig.Kind {
	case live.Typing:
		ev := typingEvent{ConversationID: sig.ConversationID, From: sig.From}
		if op, ok := sig.Data.(conversation.Operator); ok {
			if op.ID == me.op.ID {
				return true // their own typing
			}
			ev.Operator = &op
		}
		typ, data = EventTyping, ev
	case live.Presence:
		p, ok := sig.Data.(Presence)
		if !ok {
			return true
		}
		typ, data = EventPresence, p
	case live.Alert:
		n, ok := sig.Data.(ServiceLevelNotice)
		if !ok || !slices.Contains(n.recipients, me.op.ID) {
			return true
		}
		typ, data = EventServiceLevel, n
	default:
		return true
	}
	return stream.Send("", typ, data) == nil
}
