package engine

import (
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/store"
)

// settle handles a visitor's line inside the commit that records it, when
// the rules need nothing but that commit for it: the conversation is with
// the people and the line is relayed (to the console, which shows the
// transcript itself, or as an outbox entry for a desk). Run there, the
// line costs one commit instead of two and never waits in the inbox.
//
// It applies only when handling the line now is what the lanes would do
// later: nothing of the conversation is queued, gathering or running, and
// every inbox item before it has been taken, so the line overtakes
// nothing. The rules see the state as the same transaction reads it, at
// the same clock. Anything else (a turn for the bot or the knowledge base,
// a handoff, a rating, a line that cancels the handoff) is left to the
// inbox as before. It runs on the store's writer and must stay quick; an
// error it returns (only the store's own can arise) fails the intake's
// whole commit, which the platform then delivers again.
func (e *Engine) settle(tx *store.Tx, item store.InboxItem, state conversation.State) (bool, error) {
	if !isVisitorMessage(item) || (state != conversation.WaitingHuman && state != conversation.Human) {
		// The bot's turn, or a reopening, is never a relay: not worth a
		// look on the writer.
		return false, nil
	}
	if !e.lanes.quiet(e.ctx, item.ConversationID, store.InboxSequenceTx(tx)) {
		return false, nil
	}
	conv, err := store.GetConversationTx(tx, item.ConversationID)
	if err != nil {
		return false, err
	}
	ef := &effects{conv: conv}
	group := []store.InboxItem{item}
	e.adoptContext(ef, group)
	ev := e.eventOf(ef, group)
	if ev == nil {
		return false, nil
	}
	actions := e.decide(ef, ev)
	if !relayOnly(actions) {
		return false, nil
	}
	e.perform(e.ctx, ef, ev, actions)
	if ef.failed != nil || ef.refusal != "" {
		return false, nil
	}
	// conv is the record as tx read it (the rules and adoptContext work on
	// copies), so it is not read a second time.
	if err := e.writeOn(tx, ef, conv); err != nil {
		return false, err
	}
	tx.OnCommit(func() {
		e.committed(ef)
		e.lanes.processed.Add(1)
	})
	return true, nil
}

// relayOnly reports whether the rules asked only to pass lines on to the
// people (or to note them): actions whose effects are all in the commit.
func relayOnly(actions []conversation.Action) bool {
	for _, a := range actions {
		switch a.(type) {
		case conversation.RelayToDesk, conversation.Note:
		default:
			return false
		}
	}
	return true
}
