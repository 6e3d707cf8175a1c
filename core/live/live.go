// Package live passes ephemeral signals between the daemon's push
// connections: a visitor typing reaches the operators watching, an
// operator typing reaches the visitor, an operator's presence reaches the
// other operators. Nothing here is stored: a signal nobody listens to is
// gone. Durable changes (messages, states) are read from the store, whose
// Watch says when to read again.
package live

import "sync"

// Kind says what a signal is about.
type Kind string

// Signal kinds.
const (
	// Typing: someone is typing in a conversation.
	Typing Kind = "typing"
	// Presence: an operator's status changed.
	Presence Kind = "presence"
	// Alert: something operators must act on (a service-level breach).
	Alert Kind = "alert"
)

// Who a signal is from (Signal.From).
const (
	FromVisitor  = "visitor"
	FromOperator = "operator"
	FromBot      = "bot"
)

// Signal is one ephemeral event.
type Signal struct {
	Kind Kind
	// ConversationID is the conversation it is about; "" for none.
	ConversationID string
	// From says who: FromVisitor, FromOperator or FromBot.
	From string
	// Data is the kind's payload (e.g. an operator's name and status).
	Data any
}

// subscriberBuffer is how many signals a slow subscriber may lag behind
// before further ones are dropped for it.
const subscriberBuffer = 64

// Hub fans signals out to subscribers.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan Signal]struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[chan Signal]struct{}{}} }

// Subscribe returns the signals about a conversation, or about all of them
// (and those about none) for the empty id, and a func to stop.
func (h *Hub) Subscribe(convID string) (<-chan Signal, func()) {
	ch := make(chan Signal, subscriberBuffer)
	h.mu.Lock()
	set := h.subs[convID]
	if set == nil {
		set = map[chan Signal]struct{}{}
		h.subs[convID] = set
	}
	set[ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(set, ch)
			if len(set) == 0 {
				delete(h.subs, convID)
			}
			h.mu.Unlock()
		})
	}
}

// Publish hands a signal to its subscribers without waiting: one that
// lags subscriberBuffer signals behind misses it.
func (h *Hub) Publish(s Signal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := [2]string{s.ConversationID, ""}
	for i, k := range keys {
		if i == 1 && s.ConversationID == "" {
			break // already sent to the "all" subscribers
		}
		for ch := range h.subs[k] {
			select {
			case ch <- s:
			default:
			}
		}
	}
}
