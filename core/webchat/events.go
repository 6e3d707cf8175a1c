package webchat

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
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
// few tabs); a new one beyond it ends the oldest, so a token cannot tie up
// the server's connections and a reload never finds itself locked out by
// streams whose browser went away unnoticed.
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
	// WaitMinutes is the estimated wait for an operator, in whole
	// minutes, while waiting; 0 (left out) when there is no estimate.
	WaitMinutes int `json:"wait_minutes,omitempty"`
	// CanRate says the visitor was asked to rate the operator who served
	// them ([csat]) and has not answered yet.
	CanRate bool `json:"can_rate"`
}

func (s *Server) stateOf(c store.Conversation) stateView {
	pos, wait := s.queue.position(c)
	v := stateView{State: c.State, Position: pos, WaitMinutes: int((wait + time.Minute - 1) / time.Minute)}
	if c.State == conversation.Human && c.Handoff != nil {
		v.Operator = c.Handoff.Operator
	}
	if r := c.Rating; r.Open(s.cfg.Now()) {
		v.CanRate, v.Operator = true, r.Operator.Name
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
//
// A daemon holds thousands of these open. Over HTTP/1.1 the stream takes
// the connection from net/http (which would otherwise keep its read and
// write buffers, a second goroutine and its own frames for each) and runs
// on a goroutine of its own with small frames, whose stack the runtime
// shrinks while it waits. Over HTTP/2, which cannot hand a connection
// over, it runs in the handler.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	st := s.openEvents(w, r)
	if st == nil {
		return
	}
	if hw := hijack(w); hw != nil {
		go st.serve(hw)
		return
	}
	go func() {
		select {
		case <-r.Context().Done():
			st.end()
		case <-st.stop:
		}
	}()
	st.serve(w)
}

// openEvents checks the request and registers the stream; nil when it
// answered the request otherwise.
func (s *Server) openEvents(w http.ResponseWriter, r *http.Request) *streamState {
	c, ok := s.conversationOf(w, r)
	if !ok {
		return nil
	}
	cursor, _, err := sse.LastEventID(r, "after_seq")
	if err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", err.Error())
		return nil
	}
	st := &streamState{s: s, convID: c.ID, cursor: cursor, stop: make(chan struct{})}
	// Subscribe before reading, so nothing committed in between is missed.
	st.changed, st.stopWatch = s.st.Watch(c.ID)
	st.box = s.boxes.open(c.ID)
	s.addStream(st)
	return st
}

// serve starts the stream on w, sends what the visitor has not seen, then
// what happens until the visitor goes away or the server stops.
func (st *streamState) serve(w http.ResponseWriter) {
	defer st.close()
	if cw, ok := w.(*connWriter); ok {
		defer cw.close()
	}
	var err error
	if st.stream, err = sse.Start(w, streamRetry); err != nil {
		st.s.log.WithError(err).Warn("web chat: cannot stream events")
		return
	}
	if st.sync() != nil {
		return
	}
	heartbeat := time.NewTicker(sse.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-st.stop:
			return
		case <-st.s.done:
			return
		case <-st.changed:
			err = st.sync()
		case <-st.queueChanged:
			err = st.sendState()
		case <-st.box.wake:
			err = st.sendTyping()
		case <-heartbeat.C:
			err = st.ping()
		}
		if err != nil {
			return // the visitor went away
		}
	}
}

// streamState is one open event stream and what it has sent.
type streamState struct {
	s      *Server
	stream *sse.Stream
	convID string
	// cursor is the last message read (sent, or private and skipped).
	cursor uint64
	sent   stateView
	opened bool // a state was sent
	// changed fires after the conversation changed.
	changed   <-chan struct{}
	stopWatch func()
	box       *typingBox
	// While the conversation waits in the daemon's line: queueChanged
	// fires when the positions changed after the last state was computed
	// (nil otherwise), leave ends the listening.
	queueChanged <-chan struct{}
	leave        func()
	// stop is closed to end the stream (a newer one replaced it, or the
	// client went away).
	stop     chan struct{}
	stopOnce sync.Once
}

// end asks the stream to stop.
func (st *streamState) end() { st.stopOnce.Do(func() { close(st.stop) }) }

// close lets go of everything the stream holds.
func (st *streamState) close() {
	st.end()
	st.leaveQueue()
	st.s.boxes.close(st.convID, st.box)
	st.stopWatch()
	st.s.removeStream(st)
}

func (st *streamState) ping() error {
	if err := st.stream.Comment("ping"); err != nil {
		return err
	}
	return st.stream.Flush()
}

// messageBatch bounds the messages read at once for a stream.
const messageBatch = 500

// sync sends the messages after the cursor and the state if it changed.
// The conversation is read before its messages, so that a state is never
// sent ahead of the lines committed with it (a handoff's "connecting you"
// before the waiting state); a state read before a later commit is sent
// again after it, since that commit fires the change this stream waits on.
func (st *streamState) sync() error {
	c, err := st.s.st.Conversation(st.convID)
	if err != nil {
		return err
	}
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
	return st.sendStateOf(c)
}

// sendState reads the conversation and sends its state when it differs
// from the last one sent, and flushes.
func (st *streamState) sendState() error {
	c, err := st.s.st.Conversation(st.convID)
	if err != nil {
		return err
	}
	return st.sendStateOf(c)
}

// sendStateOf sends c's state when it differs from the last one sent, and
// flushes.
func (st *streamState) sendStateOf(c store.Conversation) error {
	if ownQueue(c.Handoff) && c.State == conversation.WaitingHuman {
		if st.leave == nil {
			st.leave = st.s.queue.listen()
		}
		// Taken before the position is read: a change after it fires.
		st.queueChanged = st.s.queue.changes()
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
		st.queueChanged, st.leave = nil, nil
	}
}

// sendTyping passes on the latest typing notices of the operator and the
// bot.
func (st *streamState) sendTyping() error {
	for _, t := range st.box.take() {
		if t.From == live.FromOperator {
			t.Name = st.sent.Operator
		}
		if err := st.stream.Send("", eventTyping, t); err != nil {
			return err
		}
	}
	return st.stream.Flush()
}

// addStream registers an open stream, ending the conversation's oldest
// when it has too many.
func (s *Server) addStream(st *streamState) {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	open := append(s.streams[st.convID], st)
	if len(open) > maxStreamsPerConversation {
		open[0].end()
		open = open[1:]
	}
	s.streams[st.convID] = open
}

func (s *Server) removeStream(st *streamState) {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	open := slices.DeleteFunc(s.streams[st.convID], func(o *streamState) bool { return o == st })
	if len(open) == 0 {
		delete(s.streams, st.convID)
	} else {
		s.streams[st.convID] = open
	}
}
