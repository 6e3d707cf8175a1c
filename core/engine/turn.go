package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Built-in channels: their visitors read the transcript itself (over the
// REST API, or the web chat's push connection), so replies to them are
// written to the transcript and nothing is delivered.
const (
	apiChannel = "api"
	webChannel = "web"
)

func transcriptOnly(channel string) bool { return channel == apiChannel || channel == webChannel }

// deskTranscriptLines is how many of the latest transcript lines a desk
// gets with a handoff.
const deskTranscriptLines = 50

// effects is what handling some inbox items changes, committed at once.
type effects struct {
	conv        store.Conversation
	messages    []store.Message
	outbox      []store.OutboxEntry
	transitions []conversation.Transition
	// assignments are the changes of the operator holding it.
	assignments []conversation.Assigned
	timers      []conversation.StartQueueTimer
	unmapDesk   bool
	done        []uint64
	// asked are the visitor messages a model turn answers.
	asked map[uint64]bool
	// context is merged into the conversation's context (a channel's own
	// event about its visitor, e.g. the request id of a failed transfer).
	context map[string]string
	// consumed are single-use context values given to an outbound; they
	// are removed from the conversation when the effects commit.
	consumed map[string]string
	// refusal is why the rules refused a request ("" if they did not).
	refusal string
	// question is what the visitor asked: the lines of the group.
	question string
	// gaps are questions the knowledge base could not answer.
	gaps []gap
	// escalations are service-level breaches.
	escalations []conversation.Escalated
	// rateAsks are the rating questions asked, rated the answers given.
	rateAsks []conversation.RatingRequest
	rated    []conversation.RecordRating
	// tickets are opened with the effects.
	tickets []store.Ticket
	// failed stops the commit: an action could not be prepared.
	failed error
}

// process handles a batch of one conversation's inbox items in order and
// returns how many of them (from the front) are done: their effects are
// committed and they left the inbox. Consecutive visitor messages form one
// group: one model turn answers them all.
func (e *Engine) process(ctx context.Context, convID string, batch []store.InboxItem) (int, error) {
	conv, err := e.st.Conversation(convID)
	if errors.Is(err, store.ErrNotFound) {
		// Purged meanwhile: nothing left to act on.
		err := e.st.Update(ctx, func(tx *store.Tx) error {
			for _, it := range batch {
				if err := store.DeleteInbox(tx, it.Seq); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		return len(batch), nil
	}
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(batch); {
		j := i + 1
		if isVisitorMessage(batch[i]) {
			for j < len(batch) && isVisitorMessage(batch[j]) {
				j++
			}
		}
		group := batch[i:j]
		ef := &effects{conv: conv}
		for _, it := range group {
			ef.done = append(ef.done, it.Seq)
		}
		e.adoptContext(ef, group)
		if ev := e.eventOf(ef, group); ev != nil {
			e.step(ctx, ef, ev)
		}
		if ef.refusal != "" {
			e.refused(group[0], ef.refusal)
		}
		if ctx.Err() != nil {
			return i, ctx.Err() // shutting down mid-turn: the items stay in the inbox
		}
		if err := e.commit(ctx, ef); err != nil {
			return i, err
		}
		conv = ef.conv
		i = j
	}
	return len(batch), nil
}

// eventOf translates a group of inbox items (several visitor lines, or one
// other event) into the event the conversation rules take; nil for an event
// they have no use for.
func (e *Engine) eventOf(ef *effects, group []store.InboxItem) conversation.Event {
	it := group[0]
	ev := it.Event
	if isVisitorMessage(it) {
		lines := make([]string, len(group))
		ef.asked = make(map[uint64]bool, len(group))
		for k, g := range group {
			lines[k] = messageText(g.Event.Text, g.Event.Attachments)
			ef.asked[g.MessageID] = true
		}
		ef.question = strings.Join(lines, "\n")
		return conversation.VisitorMessages{Lines: lines}
	}
	if it.Channel == "" {
		if req := decodeRequest(it); req != nil {
			return req
		}
	}
	switch ev.Kind {
	case sdk.KindUnsupported:
		return conversation.Unsupported{}
	case sdk.KindFollow:
		return conversation.Followed{}
	case sdk.KindUnfollow:
		return conversation.Unfollowed{}
	case sdk.KindOperatorJoined:
		return conversation.OperatorJoined{Operator: operatorOf(ev.User), At: it.ReceivedAt}
	case sdk.KindOperatorMessage:
		return conversation.OperatorMessage{Operator: operatorOf(ev.User), Text: ev.Text, At: it.ReceivedAt}
	case sdk.KindClosed:
		return conversation.DeskClosed{Reason: ev.Text}
	case sdk.KindMissed:
		return conversation.DeskMissed{Reason: ev.Text}
	case sdk.KindPostback:
		if score, ok := conversation.ParseRatingData(ev.Text); ok {
			return conversation.Rated{Score: score}
		}
	}
	e.logFor(ef.conv).WithField("kind", ev.Kind).Debug("ignoring event")
	return nil
}

// step applies an event to the conversation and performs the actions the
// rules return: durable ones are collected in ef for the commit, a model
// turn is run at once and its outcome stepped in turn.
func (e *Engine) step(ctx context.Context, ef *effects, ev conversation.Event) {
	e.perform(ctx, ef, ev, e.decide(ef, ev))
}

// decide applies an event to the conversation's state in ef and returns
// the actions the rules ask for.
func (e *Engine) decide(ef *effects, ev conversation.Event) []conversation.Action {
	caps, _ := e.channels.Capabilities(ef.conv.Channel)
	now := e.st.Now()
	away, back := e.peopleAway(now)
	next, actions := e.rules.Step(conversation.Conversation{
		Status: ef.conv.Status, NativeHandoff: caps.NativeHandoff, RatingWidget: ef.conv.Channel == webChannel,
		PeopleAway: away, Back: back,
	}, ev, now)
	ef.conv.Status = next.Status
	return actions
}

// perform carries out the actions decide returned for ev.
func (e *Engine) perform(ctx context.Context, ef *effects, ev conversation.Event, actions []conversation.Action) {
	for _, a := range actions {
		switch a := a.(type) {
		case conversation.AskModel:
			if outcome := e.botTurn(ctx, ef); outcome != nil {
				e.step(ctx, ef, outcome)
			}
		case conversation.AskKnowledge:
			e.step(ctx, ef, e.askKnowledge(ctx, ef, a))
		case conversation.Changed:
			ef.transitions = append(ef.transitions, a.Transition)
			if a.To == conversation.WaitingHuman {
				e.logFor(ef.conv).WithField("cause", a.Cause).Info("handing off to a human")
				if a.From != conversation.Human {
					e.route(ctx, ef, ev)
				}
			}
		case conversation.Say:
			e.say(ef, a)
		case conversation.Note:
			ef.messages = append(ef.messages, store.Message{ConversationID: ef.conv.ID, Role: a.Role, Text: a.Text, Private: a.Private, Author: authorOf(a.Author)})
		case conversation.HandOffNatively:
			if a.Text != "" {
				ef.messages = append(ef.messages, store.Message{ConversationID: ef.conv.ID, Role: conversation.RoleBot, Text: a.Text})
			}
			ef.outbox = append(ef.outbox, store.OutboxEntry{
				ConversationID: ef.conv.ID, Instance: ef.conv.Channel, Payload: store.NativeHandoff{
					Ref: ef.conv.Ref, User: ef.conv.User, Text: a.Text, Reason: a.Reason, Context: ef.conv.Context,
					Department: e.deskDepartment(ef.conv.Handoff),
				},
			})
		case conversation.OpenDesk:
			if a.Desk == conversation.ConsoleDesk {
				continue // the console's queue is the conversations waiting
			}
			transcript, summary := e.handoffTranscript(ef, a.Reason)
			ef.outbox = append(ef.outbox, store.OutboxEntry{
				ConversationID: ef.conv.ID, Instance: a.Desk, Payload: store.OpenHandoff{
					User: ef.conv.User, Channel: ef.conv.Channel, Reason: a.Reason, Summary: summary, Transcript: transcript,
					Department: e.deskDepartment(ef.conv.Handoff),
				},
			})
		case conversation.RelayToDesk:
			if ef.conv.Handoff.Desk == conversation.ConsoleDesk {
				continue // the console shows the transcript itself
			}
			ef.outbox = append(ef.outbox, store.OutboxEntry{
				ConversationID: ef.conv.ID, Instance: ef.conv.Handoff.Desk, Payload: store.RelayToDesk{User: ef.conv.User, Text: a.Text},
			})
		case conversation.CloseDesk:
			if ef.conv.Handoff.Desk == conversation.ConsoleDesk {
				continue
			}
			// The mapping is dropped by the deliverer once the desk
			// confirmed the close; until then late desk events still find
			// the conversation.
			ef.outbox = append(ef.outbox, store.OutboxEntry{
				ConversationID: ef.conv.ID, Instance: ef.conv.Handoff.Desk, Payload: store.CloseHandoff{Reason: a.Reason},
			})
		case conversation.ForgetDesk:
			ef.unmapDesk = true
		case conversation.StartQueueTimer:
			ef.timers = append(ef.timers, a)
		case conversation.Assigned:
			ef.assignments = append(ef.assignments, a)
			e.logFor(ef.conv).WithFields(logrus.Fields{"from": a.From.ID, "to": a.To.ID}).Info("conversation assigned")
		case conversation.Refused:
			ef.refusal = a.Reason
			if _, rating := ev.(conversation.Rated); rating {
				e.logFor(ef.conv).WithField("reason", a.Reason).Info("rating ignored")
			}
		case conversation.AskRating:
			ef.rateAsks = append(ef.rateAsks, a.Request)
			if a.Text != "" {
				e.say(ef, conversation.Say{Role: conversation.RoleBot, Text: a.Text, Choices: a.Choices})
			}
		case conversation.RecordRating:
			ef.rated = append(ef.rated, a)
			note := fmt.Sprintf("The visitor rated the conversation %d/5.", a.Score)
			if a.Comment != "" {
				note += " “" + a.Comment + "”"
			}
			ef.messages = append(ef.messages, store.Message{ConversationID: ef.conv.ID, Role: conversation.RoleSystem, Text: note, Private: true})
		case conversation.OpenTicket:
			e.openTicket(ef, a)
		case conversation.Escalated:
			ef.escalations = append(ef.escalations, a)
		default:
			panic(fmt.Sprintf("engine: unhandled action %T", a))
		}
	}
}

// say writes a message from the bot or an operator and queues it for the
// visitor's channel.
func (e *Engine) say(ef *effects, a conversation.Say) {
	ef.messages = append(ef.messages, store.Message{
		ConversationID: ef.conv.ID, Role: a.Role, Text: a.Text, Author: authorOf(a.Author), Sources: a.Sources,
	})
	if transcriptOnly(ef.conv.Channel) {
		return
	}
	ef.outbox = append(ef.outbox, store.OutboxEntry{
		ConversationID: ef.conv.ID, Instance: ef.conv.Channel,
		Payload: store.SendText{Ref: ef.conv.Ref, User: ef.conv.User, Text: a.Text, Role: a.Role, Context: e.takeContext(ef), Choices: a.Choices},
	})
}

// authorOf is a message's author as stored: nil when nobody is named.
func authorOf(op conversation.Operator) *conversation.Operator {
	if op == (conversation.Operator{}) {
		return nil
	}
	return &op
}

// adoptContext takes the context of a channel's own events about its
// visitor (the store does not write it at ingest), in order, so replies to
// them use the fresh values and the commit keeps them for later ones. Desk
// events keep theirs: they describe the desk's conversation, not the
// visitor's.
func (e *Engine) adoptContext(ef *effects, items []store.InboxItem) {
	for _, it := range items {
		if it.Channel != ef.conv.Channel || len(it.Event.Context) == 0 {
			continue
		}
		if ef.context == nil {
			ef.context = map[string]string{}
		}
		maps.Copy(ef.context, it.Event.Context)
	}
	if len(ef.context) == 0 {
		return
	}
	// A new map: ef.conv.Context may be shared with the loaded record.
	merged := maps.Clone(ef.conv.Context)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, ef.context)
	ef.conv.Context = merged
}

// takeContext is the context for the next outbound text: single-use values
// go to this one only.
func (e *Engine) takeContext(ef *effects) map[string]string {
	out := ef.conv.Context
	var rest map[string]string
	for k, v := range ef.conv.Context {
		if !strings.HasPrefix(k, sdk.OnceContextPrefix) {
			continue
		}
		if ef.consumed == nil {
			ef.consumed = map[string]string{}
		}
		ef.consumed[k] = v
		if rest == nil {
			rest = maps.Clone(ef.conv.Context)
		}
		delete(rest, k)
	}
	if rest != nil {
		ef.conv.Context = rest
	}
	return out
}

// handoffTranscript is the transcript and a short summary for the desk,
// bounded in bytes (see boundTranscript).
func (e *Engine) handoffTranscript(ef *effects, reason string) ([]sdk.TranscriptEntry, string) {
	history, err := e.st.LastMessages(ef.conv.ID, deskTranscriptLines)
	if err != nil {
		e.logFor(ef.conv).WithError(err).Warn("read transcript for the desk")
	}
	var out []sdk.TranscriptEntry
	lastVisitor := ""
	now := e.st.Now()
	for _, m := range append(history, ef.messages...) {
		if m.Private {
			continue
		}
		at := m.CreatedAt
		if at.IsZero() {
			at = now
		}
		out = append(out, sdk.TranscriptEntry{Role: string(m.Role), Text: m.Text, Time: at})
		if m.Role == conversation.RoleVisitor {
			lastVisitor = m.Text
		}
	}
	return boundTranscript(out, deskTranscriptBytes), HandoffSummary(ef.conv.User, ef.conv.Channel, reason, lastVisitor)
}

// HandoffSummary is the one-line summary a person gets with a handoff:
// who, on which channel, why, and the visitor's last words.
func HandoffSummary(user sdk.User, channel, reason, lastVisitor string) string {
	name := truncate(displayName(user), summaryNameRunes)
	summary := fmt.Sprintf("%s on %s needs a human (%s)", name, channel, truncate(reason, summaryReasonRunes))
	if lastVisitor != "" {
		summary += ". Last message: " + truncate(lastVisitor, 200)
	}
	return summary
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// messageText is what a visitor message says, attachments included.
func messageText(text string, attachments []sdk.Attachment) string {
	for _, a := range attachments {
		label := "[" + a.Type
		if a.Name != "" {
			label += ": " + a.Name
		}
		text = strings.TrimSpace(text + " " + label + "]")
	}
	return text
}

func (e *Engine) logFor(c store.Conversation) logrus.FieldLogger {
	return e.log.WithFields(logrus.Fields{"conversation_id": c.ID, "channel": c.Channel})
}

// emitHandoff records handoff.requested for a transition that handed the
// conversation to the people (not one back to the queue).
func emitHandoff(tx *store.Tx, c *store.Conversation, t conversation.Transition) error {
	if t.To != conversation.WaitingHuman || t.From == conversation.Human || c.Handoff == nil {
		return nil
	}
	h := c.Handoff
	ev := events.HandoffRequested{Cause: h.Cause, Reason: h.Reason, Desk: h.Desk, Native: h.Native}
	if r := h.Route; r != nil {
		p := r.Priority
		ev.Department, ev.Priority, ev.Tags, ev.RoutedBy = r.Department, &p, r.Tags, r.By
	}
	if !h.Deadline.IsZero() {
		deadline := h.Deadline.UTC()
		ev.Deadline = &deadline
	}
	_, err := store.EmitTx(tx, c.Subject(), ev)
	return err
}

// commit stores the effects and removes their inbox items in one
// transaction, then hands new outbox entries to the deliverer and arms the
// queue timers.
func (e *Engine) commit(ctx context.Context, ef *effects) error {
	if ef.failed != nil {
		return fmt.Errorf("conversation %s: %w", ef.conv.ID, ef.failed)
	}
	err := e.st.Update(ctx, func(tx *store.Tx) error { return e.write(tx, ef) })
	if err != nil {
		return fmt.Errorf("commit conversation %s: %w", ef.conv.ID, err)
	}
	e.committed(ef)
	return nil
}

// write stores the effects and removes their inbox items in tx, on the
// conversation's record as tx reads it; once tx is durable the new outbox
// entries go to the deliverer.
func (e *Engine) write(tx *store.Tx, ef *effects) error {
	fresh, err := store.GetConversationTx(tx, ef.conv.ID)
	if err != nil {
		return err
	}
	return e.writeOn(tx, ef, fresh)
}

// writeOn is write for a caller that has just read the record in tx.
func (e *Engine) writeOn(tx *store.Tx, ef *effects, fresh store.Conversation) error {
	if changesRecord(ef, &fresh) {
		fresh.Status = ef.conv.Status
		if len(ef.context) > 0 {
			if fresh.Context == nil {
				fresh.Context = map[string]string{}
			}
			maps.Copy(fresh.Context, ef.context)
		}
		for k, v := range ef.consumed {
			// A newer event may have brought a new value meanwhile.
			if fresh.Context[k] == v {
				delete(fresh.Context, k)
			}
		}
		fresh.UpdatedAt = e.st.Now()
		if err := store.PutConversationTx(tx, &fresh); err != nil {
			return err
		}
	}
	// State changes first, then the lines said about them: the events
	// are recorded in this order.
	for _, t := range ef.transitions {
		if err := store.AddTransitionTx(tx, ef.conv.ID, t); err != nil {
			return err
		}
		if err := emitHandoff(tx, &fresh, t); err != nil {
			return err
		}
	}
	for i := range ef.tickets {
		t := ef.tickets[i]
		if err := store.CreateTicketTx(tx, &t); err != nil {
			return err
		}
	}
	for _, a := range ef.assignments {
		ev := events.ConversationAssigned{From: events.OperatorOf(a.From), To: events.OperatorOf(a.To)}
		if _, err := store.EmitTx(tx, fresh.Subject(), ev); err != nil {
			return err
		}
	}
	for _, a := range ef.escalations {
		ev := events.HandoffServiceLevelBreached{Department: a.Department, Previous: a.From, Priority: a.To}
		if h := fresh.Handoff; h != nil {
			ev.WaitingSince = h.RequestedAt.UTC()
		}
		if _, err := store.EmitTx(tx, fresh.Subject(), ev); err != nil {
			return err
		}
	}
	for _, m := range ef.messages {
		if err := e.st.AppendMessageTx(tx, &m); err != nil {
			return err
		}
	}
	if ef.unmapDesk {
		if err := store.UnmapDeskTx(tx, ef.conv.ID); err != nil {
			return err
		}
	}
	if err := e.commitFeedback(tx, &fresh, ef); err != nil {
		return err
	}
	now := e.st.Now()
	added := make([]store.OutboxEntry, 0, len(ef.outbox))
	for _, o := range ef.outbox {
		o.CreatedAt, o.NextAttempt = now, now
		if err := store.PutOutboxTx(tx, &o); err != nil {
			return err
		}
		added = append(added, o)
	}
	for _, seq := range ef.done {
		if err := store.DeleteInbox(tx, seq); err != nil {
			return err
		}
	}
	if len(added) > 0 {
		tx.OnCommit(func() { e.deliver.add(added) })
	}
	return nil
}

// changesRecord reports whether the effects change the conversation's
// record as tx read it (fresh): its status or its context. A line relayed
// to the people, or a bot answer that leaves the state as it was, changes
// neither, and the record is then not written again: its page is one fewer
// to copy and flush in the commit. The conversation's activity time is its
// record's or its last line's, whichever is later (store.ActivityTimes), so
// it needs no rewrite for a line.
func changesRecord(ef *effects, fresh *store.Conversation) bool {
	for k, v := range ef.context {
		if old, ok := fresh.Context[k]; !ok || old != v {
			return true
		}
	}
	for k, v := range ef.consumed {
		if fresh.Context[k] == v {
			return true
		}
	}
	// Exact comparison: a difference it sees that changes nothing (a time
	// read back in another location) costs only a write.
	return !reflect.DeepEqual(fresh.Status, ef.conv.Status)
}

// committed does what follows a durable commit of the effects: metrics and
// queue timers.
func (e *Engine) committed(ef *effects) {
	e.cfg.Metrics.Transitions(ef.transitions)
	for _, t := range ef.transitions {
		if h := ef.conv.Handoff; t.From == conversation.WaitingHuman && t.To == conversation.Human && h != nil {
			e.cfg.Metrics.ObserveQueueWait(e.departmentOf(h), t.At.Sub(h.RequestedAt))
		}
	}
	for _, a := range ef.escalations {
		e.cfg.Metrics.ServiceLevelBreach(a.Department)
	}
	for _, t := range ef.timers {
		e.timers.add(ef.conv.ID, t.At)
	}
}

// commitFeedback stores, in the commit of the step, what the visitor told
// the team: rating questions and answers (csat.submitted), and questions
// the knowledge base had no answer to (kb.unanswered).
func (e *Engine) commitFeedback(tx *store.Tx, c *store.Conversation, ef *effects) error {
	for _, r := range ef.rateAsks {
		if err := store.AskRatingTx(tx, c, r); err != nil {
			return err
		}
	}
	for _, r := range ef.rated {
		_, err := store.RateTx(tx, c, r.Request, r.Score, r.Comment)
		if errors.Is(err, store.ErrAlreadyRated) {
			// The rules take one answer per question; a record says this
			// handoff was rated before (by an older release): keep it.
			e.logFor(*c).Info("rating ignored: the handoff was already rated")
			continue
		}
		if err != nil {
			return err
		}
	}
	for _, g := range ef.gaps {
		if err := store.RecordKBGapTx(tx, g.question, g.reason, g.score); err != nil {
			return err
		}
		if _, err := store.EmitTx(tx, c.Subject(), events.KBUnanswered{Question: g.question, Reason: g.reason, Score: g.score}); err != nil {
			return err
		}
	}
	return nil
}
