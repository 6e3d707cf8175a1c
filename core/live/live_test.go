package live

import "testing"

func TestSignalsReachTheirSubscribers(t *testing.T) {
	h := NewHub()
	one, stopOne := h.Subscribe("c1")
	defer stopOne()
	all, stopAll := h.Subscribe("")
	defer stopAll()
	other, stopOther := h.Subscribe("c2")
	defer stopOther()

	h.Publish(Signal{Kind: Typing, ConversationID: "c1", From: "visitor"})
	h.Publish(Signal{Kind: Presence, Data: "op-1 online"})

	if s := <-one; s.Kind != Typing || s.From != "visitor" {
		t.Errorf("conversation subscriber got %+v", s)
	}
	if s := <-all; s.Kind != Typing {
		t.Errorf("first signal to all: %+v", s)
	}
	if s := <-all; s.Kind != Presence {
		t.Errorf("second signal to all: %+v", s)
	}
	select {
	case s := <-other:
		t.Errorf("another conversation's subscriber got %+v", s)
	case s := <-one:
		t.Errorf("the conversation subscriber got a signal about none: %+v", s)
	default:
	}
}

func TestASlowSubscriberDoesNotBlock(t *testing.T) {
	h := NewHub()
	_, stop := h.Subscribe("c1")
	defer stop()
	for range subscriberBuffer * 3 {
		h.Publish(Signal{Kind: Typing, ConversationID: "c1"}) // must not block
	}
	stop()
	stop() // twice is fine
	h.Publish(Signal{Kind: Typing, ConversationID: "c1"})
}
