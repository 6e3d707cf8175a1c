package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Requests from API clients, operators and the engine's own timers are
// queued in the inbox like platform events, with an empty channel, so they
// are handled in order with the conversation's other events and survive a
// crash. These are their kinds; the values are stored in the inbox.
const (
	kindQueueTimeout  sdk.EventKind = "engine.queue_timeout"
	kindHandoff       sdk.EventKind = "engine.handoff"
	kindClose         sdk.EventKind = "engine.close"
	kindClaim         sdk.EventKind = "engine.claim"
	kindRelease       sdk.EventKind = "engine.release"
	kindTransfer      sdk.EventKind = "engine.transfer"
	kindTakeover      sdk.EventKind = "engine.takeover"
	kindReturnToBot   sdk.EventKind = "engine.return_to_bot"
	kindOperatorClose sdk.EventKind = "engine.operator_close"
	kindOperatorSay   sdk.EventKind = "engine.operator_message"
	kindDeskOpened    sdk.EventKind = "engine.desk_opened"
	kindDeskFailed    sdk.EventKind = "engine.desk_failed"
	kindServiceLevel  sdk.EventKind = "engine.sla_breached"
	kindRate          sdk.EventKind = "engine.rate"
)

// Context keys of queued requests.
const (
	ctxCause    = "cause"
	ctxForce    = "force"
	ctxPrivate  = "private"
	ctxFromID   = "from_id"
	ctxFromName = "from_name"
	ctxScore    = "score"
)

// ErrConflict is returned by requests that do not apply in the
// conversation's state (someone else holds it, it is not waiting for a
// person); the error says why.
var ErrConflict = errors.New("not possible in the conversation's state")

// ErrNotRequest is returned by Do for events that only platforms report.
var ErrNotRequest = errors.New("not a request the engine takes")

// Do queues a request for a conversation — a handoff or close from the
// API, an operator's claim, reply, transfer, release, takeover, close or
// return to the bot — and waits until its lane has handled it. It returns
// the conversation after it, or an error wrapping ErrConflict when the
// rules refused it.
func (e *Engine) Do(ctx context.Context, convID string, req conversation.Event) (store.Conversation, error) {
	ev, err := encodeRequest(req)
	if err != nil {
		return store.Conversation{}, err
	}
	return e.act(ctx, convID, ev)
}

// RequestHandoff hands a conversation to humans on behalf of an API client
// and waits until it is done. Asking while it is already with humans
// changes nothing.
func (e *Engine) RequestHandoff(ctx context.Context, convID, reason string) (store.Conversation, error) {
	return e.Do(ctx, convID, conversation.HandoffRequested{Cause: conversation.CauseAPI, Reason: reason})
}

// Close closes a conversation on behalf of an API client and waits until it
// is done. Closing a closed conversation changes nothing.
func (e *Engine) Close(ctx context.Context, convID string) (store.Conversation, error) {
	return e.Do(ctx, convID, conversation.CloseRequested{})
}

// act queues an inbox event for a conversation and waits until its lane
// has handled it.
func (e *Engine) act(ctx context.Context, convID string, ev sdk.Event) (store.Conversation, error) {
	ev.ID = store.NewID("a_")
	done := make(chan error, 1)
	e.mu.Lock()
	e.waiters[ev.ID] = done
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.waiters, ev.ID)
		e.mu.Unlock()
	}()
	if _, err := e.st.Enqueue(ctx, convID, "", ev); err != nil {
		return store.Conversation{}, err
	}
	select {
	case err := <-done:
		if err != nil {
			return store.Conversation{}, err
		}
	case <-ctx.Done():
		return store.Conversation{}, ctx.Err()
	}
	return e.st.Conversation(convID)
}

// finished is told which inbox items a lane has handled, and answers the
// requests waiting for them.
func (e *Engine) finished(items []store.InboxItem) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, it := range items {
		if it.Channel != "" {
			continue
		}
		refusal, refused := e.refusals[it.Event.ID]
		delete(e.refusals, it.Event.ID)
		w, ok := e.waiters[it.Event.ID]
		if !ok {
			continue
		}
		if refused {
			w <- fmt.Errorf("%w: %s", ErrConflict, refusal)
		} else {
			w <- nil
		}
		delete(e.waiters, it.Event.ID)
	}
}

// refused remembers, until its lane reports it finished, that a request
// was refused and why.
func (e *Engine) refused(it store.InboxItem, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, waiting := e.waiters[it.Event.ID]; waiting {
		e.refusals[it.Event.ID] = reason
	}
}

func operatorUser(op conversation.Operator) sdk.User { return sdk.User{ID: op.ID, Name: op.Name} }

func operatorOf(u sdk.User) conversation.Operator {
	return conversation.Operator{ID: u.ID, Name: u.Name}
}

func flag(on bool) map[string]string {
	if !on {
		return nil
	}
	return map[string]string{ctxForce: "1"}
}

// encodeRequest is the inbox form of a request.
func encodeRequest(req conversation.Event) (sdk.Event, error) {
	switch r := req.(type) {
	case conversation.HandoffRequested:
		return sdk.Event{Kind: kindHandoff, Text: r.Reason, Context: map[string]string{ctxCause: string(r.Cause)}}, nil
	case conversation.CloseRequested:
		return sdk.Event{Kind: kindClose}, nil
	case conversation.ServiceLevelBreached:
		return sdk.Event{Kind: kindServiceLevel}, nil
	case conversation.Claimed:
		return sdk.Event{Kind: kindClaim, User: operatorUser(r.Operator)}, nil
	case conversation.Released:
		return sdk.Event{Kind: kindRelease, User: operatorUser(r.Operator), Context: flag(r.Force)}, nil
	case conversation.Transferred:
		ctx := map[string]string{ctxFromID: r.From.ID, ctxFromName: r.From.Name}
		if r.Force {
			ctx[ctxForce] = "1"
		}
		return sdk.Event{Kind: kindTransfer, User: operatorUser(r.To), Context: ctx}, nil
	case conversation.TakenOver:
		return sdk.Event{Kind: kindTakeover, User: operatorUser(r.Operator)}, nil
	case conversation.ReturnedToBot:
		return sdk.Event{Kind: kindReturnToBot, User: operatorUser(r.Operator), Context: flag(r.Force)}, nil
	case conversation.OperatorClosed:
		return sdk.Event{Kind: kindOperatorClose, User: operatorUser(r.Operator), Context: flag(r.Force)}, nil
	case conversation.OperatorMessage:
		ev := sdk.Event{Kind: kindOperatorSay, User: operatorUser(r.Operator), Text: r.Text}
		if r.Private {
			ev.Context = map[string]string{ctxPrivate: "1"}
		}
		return ev, nil
	case conversation.Rated:
		return sdk.Event{Kind: kindRate, Text: r.Comment, Context: map[string]string{ctxScore: strconv.Itoa(r.Score)}}, nil
	}
	return sdk.Event{}, fmt.Errorf("%w: %T", ErrNotRequest, req)
}

// decodeRequest is the request an engine inbox item carries; nil for an
// unknown kind.
func decodeRequest(it store.InboxItem) conversation.Event {
	ev := it.Event
	op, force := operatorOf(ev.User), ev.Context[ctxForce] == "1"
	switch ev.Kind {
	case kindQueueTimeout:
		return conversation.QueueTimeoutFired{}
	case kindHandoff:
		cause := conversation.Cause(ev.Context[ctxCause])
		if cause == "" { // queued by an older release
			cause = conversation.CauseAPI
		}
		return conversation.HandoffRequested{Cause: cause, Reason: ev.Text}
	case kindClose:
		return conversation.CloseRequested{}
	case kindServiceLevel:
		return conversation.ServiceLevelBreached{}
	case kindClaim:
		return conversation.Claimed{Operator: op, At: it.ReceivedAt}
	case kindRelease:
		return conversation.Released{Operator: op, Force: force}
	case kindTransfer:
		from := conversation.Operator{ID: ev.Context[ctxFromID], Name: ev.Context[ctxFromName]}
		return conversation.Transferred{From: from, To: op, At: it.ReceivedAt, Force: force}
	case kindTakeover:
		return conversation.TakenOver{Operator: op, At: it.ReceivedAt}
	case kindReturnToBot:
		return conversation.ReturnedToBot{Operator: op, Force: force}
	case kindOperatorClose:
		return conversation.OperatorClosed{Operator: op, Force: force}
	case kindOperatorSay:
		return conversation.OperatorMessage{Operator: op, Text: ev.Text, At: it.ReceivedAt, Private: ev.Context[ctxPrivate] == "1"}
	case kindDeskOpened:
		return conversation.DeskOpened{}
	case kindDeskFailed:
		return conversation.DeskFailed{Reason: ev.Text}
	case kindRate:
		score, _ := strconv.Atoi(ev.Context[ctxScore])
		return conversation.Rated{Score: score, Comment: ev.Text}
	case kindTicketComment:
		return conversation.TicketCommented{Author: op, Text: ev.Text}
	}
	return nil
}

// deskOutcomes are the deliverer's hooks that tell a conversation how the
// opening of its handoff on the desk went, in the same transaction that
// records the outcome.
func (e *Engine) deskOutcomes() DeliveryHooks {
	return DeliveryHooks{
		Delivered: func(tx *store.Tx, o store.OutboxEntry, _ string) error {
			if o.Op() != store.OpOpenHandoff {
				return nil
			}
			_, err := e.st.EnqueueInboxTx(tx, o.ConversationID, "", sdk.Event{ID: store.NewID("d_"), Kind: kindDeskOpened})
			return err
		},
		Undelivered: func(tx *store.Tx, o store.OutboxEntry, f DeliveryFailure) error {
			if o.Op() != store.OpOpenHandoff {
				return nil
			}
			_, err := e.st.EnqueueInboxTx(tx, o.ConversationID, "", sdk.Event{ID: store.NewID("d_"), Kind: kindDeskFailed, Text: f.Reason})
			return err
		},
	}
}
