package webchat

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/sse"
	"github.com/switchboard-chat/switchboard/core/store"
)

// streamRetry is the reconnection delay the stream suggests to browsers'
// EventSource.
const streamRetry = 2 * time.Second

// maxStreamsPerConversation bounds one visitor's open event streams (a
// few tabs), so a token cannot tie up the server's connections.
const maxStreamsPerConversation = 8

// Event types of the visitor's stream.
const (
	eventMessage = "message"
	eventState   = "state"
	eventTyping  = "typing"
)

// stateView is the conversation's state as the visitor sees it.
type stateView struct {
	State conversation.State `json:"state"`
	// Operator is the person serving the visitor, or the one they may
	// rate; "" otherwise.
	Operator string `json:"operator"`
	// Position is the visitor's place in line while waiting for the
	// daemon's own people, 1 for the next one; 0 (left out) when unknown.
	Position int `json:"position,omitempty"`
	// CanRate says an operator finished serving and the visitor has not
	// rated them yet.
	CanRate bool `json:"can_rate"`
}

func (s *Server) stateOf(c store.Conversation) stateView {
	v := stateView{State: c.State, Position: s.queue.position(c)}
	if c.State == conversation.Human && c.Handoff != nil {
		v.Operator = c.Handoff.Operator
	}
	if store.Ratable(c) && !s.st.Rated(c) {
		v.CanRate, v.Operator = true, c.Handoff.Operator
	}
	return v
}

// typingView is someone typing for the visitor: an operator, or the bot
// thinking.
type typingView struct {
	From   string `json:"from"`
	Typing bool   `json:"typing"`
	// Name is the operator's.
	Name string `json:"name,omitempty"`
}

// events streams the conversation to the visitor: first the messages
// after Last-Event-ID (or ?after_seq; all of them without either) and the
// state, then every new message (id: its seq), state change and typing
// notice as it happens.
func (s *Server) events(w http.ResponseWriter, r *http.Request, c store.Conversation) {
	cursor, _, err := sse.LastEventID(r, "after_seq")
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if !s.openStream(c.ID) {
		httpapi.WriteError(w, http.StatusTooManyRequests, "too_many_streams",
			"this visitor has "+strconv.Itoa(maxStreamsPerConversation)+" event streams open already")
		return
	}
	defer s.closeStream(c.ID)
	// Subscribe before reading, so nothing committed in between is missed.
	changed, stopWatch := s.st.Watch(c.ID)
	defer stopWatch()
	signals, stopSignals := s.signals.Subscribe(c.ID)
	defer stopSignals()
	stream, err := sse.Start(w, streamRetry)
	if err != nil {
		s.log.WithError(err).Warn("web chat: cannot stream events")
		return
	}
	st := streamState{s: s, stream: stream, convID: c.ID, cursor: cursor}
	defer st.leaveQueue()
	if st.sync() != nil {
		return
	}
	heartbeat := time.NewTicker(sse.Heartbeat)
	defer heartbeat.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-changed:
			err = st.sync()
		case <-st.queueChanged():
			err = st.sendState()
		case sig := <-signals:
			err = st.signal(sig)
		case <-heartbeat.C:
			if err = stream.Comment("ping"); err == nil {
				err = stream.Flush()
			}
		}
		if err != nil {
			return // the visitor went away
		}
	}
}

// streamState is what one event stream has sent.
type streamState struct {
	s      *Server
	stream *sse.Stream
	convID string
	// cursor is the last message read (sent, or private and skipped).
	cursor uint64
	sent   stateView
	opened bool // a state was sent
	// queue listening while the conversation waits in the daemon's line
	queueChanges func() <-chan struct{}
	leave        func()
}

// messageBatch bounds the messages read at once for a stream.
const messageBatch = 500

// sync sends the messages after the cursor and the state if it changed.
func (st *streamState) sync() error {
	for {
		msgs, err := st.s.st.Messages(st.convID, st.cursor, messageBatch)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			st.cursor = m.ID
			if m.Private {
				continue
			}
			if err := st.stream.Send(strconv.FormatUint(m.ID, 10), eventMessage, viewMessage(m)); err != nil {
				return err
			}
		}
		if len(msgs) < messageBatch {
			break
		}
	}
	return st.sendState()
}

// sendState sends the state when it differs from the last one sent, and
// flushes.
func (st *streamState) sendState() error {
	c, err := st.s.st.Conversation(st.convID)
	if err != nil {
		return err
	}
	if ownQueue(c.Handoff) && c.State == conversation.WaitingHuman {
		if st.leave == nil {
			st.queueChanges, st.leave = st.s.queue.listen()
		}
	} else {
		st.leaveQueue()
	}
	v := st.s.stateOf(c)
	if !st.opened || v != st.sent {
		if err := st.stream.Send("", eventState, v); err != nil {
			return err
		}
		st.sent, st.opened = v, true
	}
	return st.stream.Flush()
}

func (st *streamState) leaveQueue() {
	if st.leave != nil {
		st.leave()
		st.queueChanges, st.leave = nil, nil
	}
}

// queueChanged fires when the queue's positions changed while the
// conversation waits in it; never otherwise.
func (st *streamState) queueChanged() <-chan struct{} {
	if st.queueChanges == nil {
		return nil
	}
	return st.queueChanges()
}

// signal passes on an operator typing or the bot thinking; the visitor's
// own typing is for the operators.
func (st *streamState) signal(sig live.Signal) error {
	if sig.Kind != live.Typing || (sig.From != fromOperator && sig.From != fromBot) {
		return nil
	}
	on, isBool := sig.Data.(bool)
	v := typingView{From: sig.From, Typing: on || !isBool}
	if sig.From == fromOperator {
		v.Name = st.sent.Operator
	}
	if err := st.stream.Send("", eventTyping, v); err != nil {
		return err
	}
	return st.stream.Flush()
}

// openStream counts a new event stream of a conversation; false when it
// has too many.
func (s *Server) openStream(convID string) bool {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.streams[convID] >= maxStreamsPerConversation {
		return false
	}
	s.streams[convID]++
	return true
}

func (s *Server) closeStream(convID string) {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.streams[convID]--; s.streams[convID] <= 0 {
		delete(s.streams, convID)
	}
}
