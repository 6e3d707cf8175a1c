package webchat

import (
	"context"
	"sync"

	"github.com/switchboard-chat/switchboard/core/live"
)

// typingBoxes hands the typing signals of the operators and the bot to the
// open event streams of their conversation. One subscription to the hub
// serves every stream; each stream keeps only the latest notice per sender
// (typing is a state: an older notice has nothing to add).
type typingBoxes struct {
	mu sync.Mutex
	m  map[string]map[*typingBox]struct{}
}

// typingBox is one stream's latest notices.
type typingBox struct {
	wake chan struct{} // a notice is waiting

	mu      sync.Mutex
	bot, op *typingView
}

func newTypingBoxes() *typingBoxes { return &typingBoxes{m: map[string]map[*typingBox]struct{}{}} }

// open registers a stream of the conversation.
func (b *typingBoxes) open(convID string) *typingBox {
	box := &typingBox{wake: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	set := b.m[convID]
	if set == nil {
		set = map[*typingBox]struct{}{}
		b.m[convID] = set
	}
	set[box] = struct{}{}
	return box
}

func (b *typingBoxes) close(convID string, box *typingBox) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m[convID], box)
	if len(b.m[convID]) == 0 {
		delete(b.m, convID)
	}
}

// run delivers the hub's signals until ctx ends.
func (b *typingBoxes) run(ctx context.Context, signals Signals) {
	sigs, stop := signals.Subscribe("")
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-sigs:
			b.deliver(sig)
		}
	}
}

// deliver hands an operator's or the bot's typing signal to the streams
// of its conversation; the visitor's own typing is for the operators.
func (b *typingBoxes) deliver(sig live.Signal) {
	if sig.Kind != live.Typing || (sig.From != live.FromOperator && sig.From != live.FromBot) {
		return
	}
	on, isBool := sig.Data.(bool)
	v := typingView{From: sig.From, Typing: on || !isBool}
	b.mu.Lock()
	defer b.mu.Unlock()
	for box := range b.m[sig.ConversationID] {
		box.mu.Lock()
		if sig.From == live.FromBot {
			box.bot = &v
		} else {
			box.op = &v
		}
		box.mu.Unlock()
		select {
		case box.wake <- struct{}{}:
		default:
		}
	}
}

// take returns the waiting notices and empties the box.
func (box *typingBox) take() []typingView {
	box.mu.Lock()
	defer box.mu.Unlock()
	var out []typingView
	for _, v := range []*typingView{box.bot, box.op} {
		if v != nil {
			out = append(out, *v)
		}
	}
	box.bot, box.op = nil, nil
	return out
}
