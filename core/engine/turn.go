package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Handoff causes, stored with every transition.
const (
	CauseTool     = "tool"
	CauseKeyword  = "keyword"
	CauseFailures = "failures"
	CauseLLMDown  = "llm_down"
	CauseBridge   = "no_model"
	CauseAPI      = "api"
	CauseOperator = "operator"
	CauseVisitor  = "visitor"
	CauseTimeout  = "queue_timeout"
	CauseMissed   = "missed"
	CauseClosed   = "closed"
)

// apiChannel is the built-in REST channel: its replies live in the
// transcript only, there is nothing to deliver.
const apiChannel = "api"

// transferTool is the tool every model turn gets.
var transferTool = sdk.Tool{
	Name:        "transfer_to_human",
	Description: "Hand the conversation to a human colleague. Use it when the customer asks for a person, when you cannot help, or when the request needs a human decision.",
	Parameters: json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string",` +
		`"description":"Why a human is needed, in one sentence for the colleague."}},"required":["reason"]}`),
}

// effects is what handling some inbox items changes, committed at once.
type effects struct {
	conv        store.Conversation
	messages    []store.Message
	outbox      []store.OutboxEntry
	transitions []store.Transition
	unmapDesk   bool
	done        []uint64
	// context is merged into the conversation's context (a channel's own
	// event about its visitor, e.g. the request id of a failed transfer).
	context map[string]string
	// consumed are single-use context values given to an outbound; they
	// are removed from the conversation when the effects commit.
	consumed map[string]string
}

// adoptContext takes the context of a channel's own events about its
// visitor (the store does not write it at ingest), in order, so replies to
// them use the fresh values and the commit keeps them for later ones. Desk
// events keep theirs: they describe the desk's conversation, not the
// visitor's.
func (e *Engine) adoptContext(ef *effects, items ...store.InboxItem) {
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

func (e *Engine) logFor(c store.Conversation) logrus.FieldLogger {
	return e.log.WithFields(logrus.Fields{"conversation_id": c.ID, "channel": c.Channel})
}

// process handles a batch of one conversation's inbox items in order and
// returns how many of them (from the front) are done: their effects are
// committed and they left the inbox. Consecutive visitor messages form one
// group: one model turn answers them all.
func (e *Engine) process(ctx context.Context, convID string, batch []store.InboxItem) (int, error) {
	conv, err := e.st.Conversation(convID)
	if errors.Is(err, store.ErrNotFound) {
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
		ef := &effects{conv: conv}
		for _, it := range batch[i:j] {
			ef.done = append(ef.done, it.Seq)
		}
		if isVisitorMessage(batch[i]) {
			e.adoptContext(ef, batch[i:j]...)
			e.onVisitorMessages(ctx, ef, batch[i:j])
		} else {
			e.adoptContext(ef, batch[i])
			e.onEvent(ef, batch[i])
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

func isVisitorMessage(it store.InboxItem) bool {
	return it.Channel != "" && it.ConversationID != "" && it.Event.Kind == sdk.KindMessage
}

// messageText is what a visitor message says, attachments included.
func messageText(ev sdk.Event) string {
	text := ev.Text
	for _, a := range ev.Attachments {
		label := "[" + a.Type
		if a.Name != "" {
			label += ": " + a.Name
		}
		text = strings.TrimSpace(text + " " + label + "]")
	}
	return text
}

// onVisitorMessages handles a group of visitor messages by state.
func (e *Engine) onVisitorMessages(ctx context.Context, ef *effects, items []store.InboxItem) {
	switch ef.conv.State {
	case store.StateWaitingHuman, store.StateHuman:
		last := items[len(items)-1].Event
		cancel := ef.conv.State == store.StateWaitingHuman && e.cancels.exact(last.Text)
		relay := items
		if cancel {
			relay = items[:len(items)-1]
		}
		for _, it := range relay {
			e.relay(ef, messageText(it.Event))
		}
		if cancel {
			e.closeDesk(ef, "the visitor went back to the bot")
			e.transition(ef, store.StateBot, CauseVisitor, "")
			e.reply(ef, e.cfg.CancelMessage)
		}
		return
	case store.StateClosed:
		e.transition(ef, store.StateBot, CauseVisitor, "reopened by a new message")
	}
	for _, it := range items {
		if e.keywords.match(it.Event.Text) {
			e.handoff(ef, CauseKeyword, "the visitor asked for a human")
			return
		}
	}
	if e.models == nil {
		e.handoff(ef, CauseBridge, "")
		return
	}
	asked := make(map[uint64]bool, len(items))
	for _, it := range items {
		asked[it.MessageID] = true
	}
	e.botTurn(ctx, ef, asked)
}

// botTurn asks the model and applies its answer.
func (e *Engine) botTurn(ctx context.Context, ef *effects, asked map[uint64]bool) {
	text, reason, err := e.askModel(ctx, ef.conv, asked)
	log := e.logFor(ef.conv)
	switch {
	case ctx.Err() != nil:
		return
	case err != nil && isModelDown(err):
		log.WithError(err).Warn("model unavailable; handing off")
		e.handoff(ef, CauseLLMDown, err.Error())
	case err == nil && reason != "":
		e.handoff(ef, CauseTool, reason)
	case err == nil && strings.TrimSpace(text) != "":
		ef.conv.Failures = 0
		e.reply(ef, strings.TrimSpace(text))
	default:
		ef.conv.Failures++
		if err != nil {
			log.WithError(err).WithField("failures", ef.conv.Failures).Warn("model turn failed")
		} else {
			log.WithField("failures", ef.conv.Failures).Warn("model gave an empty answer")
		}
		if ef.conv.Failures >= e.cfg.MaxBotFailures {
			e.handoff(ef, CauseFailures, fmt.Sprintf("%d failed bot turns in a row", ef.conv.Failures))
			return
		}
		e.reply(ef, e.cfg.FallbackMessage)
	}
}

func isModelDown(err error) bool {
	switch sdk.KindOf(err) {
	case sdk.Unavailable, sdk.ModelMissing:
		return true
	}
	return errors.Is(err, sdk.ErrPluginUnavailable) || strings.Contains(err.Error(), sdk.ErrPluginUnavailable.Error())
}

// askModel runs one model turn over the conversation's recent transcript.
// The visitor messages being answered (asked) come last, after any answer
// the bot wrote while they were arriving, so the model sees the exchange
// in the order it must reply to. It returns the answer text, or the reason
// of a transfer_to_human call.
func (e *Engine) askModel(ctx context.Context, conv store.Conversation, asked map[uint64]bool) (text, transferReason string, err error) {
	llm, err := e.models.LLM()
	if err != nil {
		return "", "", err
	}
	history, err := e.st.LastMessages(conv.ID, e.cfg.HistoryMessages)
	if err != nil {
		return "", "", err
	}
	req := sdk.ChatRequest{Tools: []sdk.Tool{transferTool}}
	if e.cfg.SystemPrompt != "" {
		req.Messages = append(req.Messages, sdk.ChatMessage{Role: sdk.RoleSystem, Content: e.cfg.SystemPrompt})
	}
	ordered := make([]store.Message, 0, len(history))
	var pending []store.Message
	for _, m := range history {
		if asked[m.ID] {
			pending = append(pending, m)
		} else {
			ordered = append(ordered, m)
		}
	}
	for _, m := range append(ordered, pending...) {
		switch m.Role {
		case store.RoleVisitor:
			req.Messages = append(req.Messages, sdk.ChatMessage{Role: sdk.RoleUser, Content: messageText(sdk.Event{Text: m.Text, Attachments: m.Attachments})})
		case store.RoleBot, store.RoleOperator:
			req.Messages = append(req.Messages, sdk.ChatMessage{Role: sdk.RoleAssistant, Content: m.Text})
		}
	}

	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
	defer func() { <-e.sem }()

	stopTyping := e.showTyping(ctx, conv)
	defer stopTyping()

	turn := e.cfg.Metrics.StartLLMTurn()
	defer turn.Done()
	var b strings.Builder
	var calls []sdk.ToolCall
	err = llm.Chat(ctx, req, sdk.ChatStreamFunc(func(c sdk.ChatChunk) error {
		if c.Text != "" || len(c.ToolCalls) > 0 {
			turn.FirstToken()
		}
		b.WriteString(c.Text)
		calls = append(calls, c.ToolCalls...)
		return nil
	}))
	if err != nil {
		return "", "", err
	}
	for _, c := range calls {
		if c.Name != transferTool.Name {
			continue
		}
		var args struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(c.Arguments, &args)
		if args.Reason == "" {
			args.Reason = "the assistant asked for a human"
		}
		return "", args.Reason, nil
	}
	return b.String(), "", nil
}

// showTyping keeps a typing indicator up while the model works, where the
// channel has one. It is best effort and never retried.
func (e *Engine) showTyping(ctx context.Context, conv store.Conversation) (stop func()) {
	caps, ok := e.channels.Capabilities(conv.Channel)
	if !ok || !caps.Typing {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		tick := time.NewTicker(4 * time.Second)
		defer tick.Stop()
		for {
			if ch, ok, err := e.channels.Channel(conv.Channel); ok && err == nil {
				sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
				_, _ = ch.Send(sctx, sdk.Outbound{Kind: sdk.OutTyping, Conversation: conv.Ref, User: conv.User, Context: conv.Context})
				scancel()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return cancel
}

// onEvent handles one non-message event.
func (e *Engine) onEvent(ef *effects, it store.InboxItem) {
	ev := it.Event
	switch ev.Kind {
	case sdk.KindUnsupported:
		if ef.conv.State == store.StateBot || ef.conv.State == store.StateClosed {
			e.reply(ef, e.cfg.UnsupportedMessage)
		} else {
			e.relay(ef, "(the visitor sent something that cannot be shown as text)")
		}
	case sdk.KindFollow:
		if ef.conv.State == store.StateBot && e.cfg.GreetingMessage != "" {
			e.reply(ef, e.cfg.GreetingMessage)
		}
	case sdk.KindUnfollow:
		e.system(ef, "The visitor left the chat.")
	case sdk.KindOperatorJoined:
		if ef.conv.Handoff != nil && ef.conv.Handoff.JoinedAt.IsZero() {
			h := *ef.conv.Handoff
			h.JoinedAt, h.Operator = it.ReceivedAt, ev.User.Name
			ef.conv.Handoff = &h
		}
		if ef.conv.State == store.StateWaitingHuman {
			e.transition(ef, store.StateHuman, CauseOperator, ev.User.Name)
		}
		e.system(ef, joinedText(ev.User.Name))
	case sdk.KindOperatorMessage:
		if ef.conv.State == store.StateWaitingHuman {
			if ef.conv.Handoff != nil && ef.conv.Handoff.JoinedAt.IsZero() {
				h := *ef.conv.Handoff
				h.JoinedAt, h.Operator = it.ReceivedAt, ev.User.Name
				ef.conv.Handoff = &h
			}
			e.transition(ef, store.StateHuman, CauseOperator, ev.User.Name)
		}
		if native(ef.conv) {
			// The operator talks to the visitor inside the channel itself.
			ef.messages = append(ef.messages, store.Message{ConversationID: ef.conv.ID, Role: store.RoleOperator, Text: ev.Text})
			return
		}
		e.say(ef, store.RoleOperator, ev.Text)
	case sdk.KindClosed, sdk.KindMissed:
		if ef.conv.State != store.StateWaitingHuman && ef.conv.State != store.StateHuman {
			return
		}
		ef.unmapDesk = true
		if ev.Kind == sdk.KindMissed {
			e.transition(ef, store.StateBot, CauseMissed, ev.Text)
			e.reply(ef, e.cfg.MissedMessage)
			return
		}
		to := store.StateClosed
		if e.cfg.ReturnToBot {
			to = store.StateBot
		}
		e.transition(ef, to, CauseClosed, ev.Text)
		if !native(ef.conv) { // a native chat was ended by the channel itself
			e.reply(ef, e.cfg.ClosedMessage)
		}
	case kindQueueTimeout:
		h := ef.conv.Handoff
		if ef.conv.State != store.StateWaitingHuman || h == nil || h.Deadline.IsZero() || time.Now().Before(h.Deadline) {
			return // stale timer: an operator joined, or a newer handoff
		}
		e.closeDesk(ef, "no operator joined in time")
		e.transition(ef, store.StateBot, CauseTimeout, "")
		e.reply(ef, e.cfg.TimeoutMessage)
	case kindAPIHandoff:
		if ef.conv.State == store.StateBot || ef.conv.State == store.StateClosed {
			e.handoff(ef, CauseAPI, ev.Text)
		}
	case kindAPIClose:
		if ef.conv.State == store.StateClosed {
			return
		}
		if ef.conv.State == store.StateWaitingHuman || ef.conv.State == store.StateHuman {
			e.closeDesk(ef, "closed through the API")
		}
		e.transition(ef, store.StateClosed, CauseAPI, "")
	default:
		e.log.WithFields(logrus.Fields{"conversation_id": ef.conv.ID, "kind": ev.Kind}).Debug("ignoring event")
	}
}

// native reports whether the conversation's handoff happened inside its own
// channel (no desk in between).
func native(c store.Conversation) bool { return c.Handoff != nil && c.Handoff.Native }

func joinedText(name string) string {
	if name == "" {
		return "An operator joined the conversation."
	}
	return name + " joined the conversation."
}

// transition moves the conversation to state and records why.
func (e *Engine) transition(ef *effects, to, cause, reason string) {
	if ef.conv.State == to {
		return
	}
	ef.transitions = append(ef.transitions, store.Transition{From: ef.conv.State, To: to, Cause: cause, Reason: reason, At: e.st.Now()})
	ef.conv.State = to
	if to == store.StateBot {
		ef.conv.Failures = 0
	}
}

// reply writes a bot message to the transcript and queues it for the
// visitor.
func (e *Engine) reply(ef *effects, text string) { e.say(ef, store.RoleBot, text) }

// say writes a message from the bot or an operator and queues it for the
// visitor's channel.
func (e *Engine) say(ef *effects, role, text string) {
	if text == "" {
		return
	}
	ef.messages = append(ef.messages, store.Message{ConversationID: ef.conv.ID, Role: role, Text: text})
	if ef.conv.Channel == apiChannel {
		return
	}
	ef.outbox = append(ef.outbox, store.OutboxEntry{
		ConversationID: ef.conv.ID, Instance: ef.conv.Channel,
		Payload: store.SendText{Ref: ef.conv.Ref, User: ef.conv.User, Text: text, Role: role, Context: e.takeContext(ef)},
	})
}

// takeContext is the context for the next outbound text: single-use values
// go to this one only.
func (e *Engine) takeContext(ef *effects) map[string]string {
	out := ef.conv.Context
	for k, v := range ef.conv.Context {
		if !strings.HasPrefix(k, sdk.OnceContextPrefix) {
			continue
		}
		if ef.consumed == nil {
			ef.consumed = map[string]string{}
		}
		ef.consumed[k] = v
		rest := maps.Clone(ef.conv.Context)
		for k := range rest {
			if strings.HasPrefix(k, sdk.OnceContextPrefix) {
				delete(rest, k)
			}
		}
		ef.conv.Context = rest
	}
	return out
}

// system writes a system note to the transcript.
func (e *Engine) system(ef *effects, text string) {
	ef.messages = append(ef.messages, store.Message{ConversationID: ef.conv.ID, Role: store.RoleSystem, Text: text})
}

// relay passes a visitor message to the desk of the current handoff.
func (e *Engine) relay(ef *effects, text string) {
	h := ef.conv.Handoff
	if h == nil || h.Desk == "" || text == "" {
		return // native handoffs see the visitor directly; no desk: nowhere to go
	}
	ef.outbox = append(ef.outbox, store.OutboxEntry{
		ConversationID: ef.conv.ID, Instance: h.Desk, Payload: store.RelayToDesk{User: ef.conv.User, Text: text},
	})
}

// closeDesk ends the desk side of the current handoff, if there is one.
func (e *Engine) closeDesk(ef *effects, reason string) {
	h := ef.conv.Handoff
	if h == nil || h.Desk == "" {
		return
	}
	// The mapping is dropped by the deliverer once the desk confirmed the
	// close; until then late desk events still find the conversation.
	ef.outbox = append(ef.outbox, store.OutboxEntry{
		ConversationID: ef.conv.ID, Instance: h.Desk, Payload: store.CloseHandoff{Reason: reason},
	})
}

// handoff moves the conversation to the humans: natively inside its own
// channel when the channel can, else on the configured desk, else (no
// desk) with the fallback message, recorded for staff to pick up.
func (e *Engine) handoff(ef *effects, cause, reason string) {
	now := e.st.Now()
	h := &store.Handoff{Cause: cause, Reason: reason, RequestedAt: now, Deadline: now.Add(e.cfg.QueueTimeout)}
	caps, _ := e.channels.Capabilities(ef.conv.Channel)
	e.transition(ef, store.StateWaitingHuman, cause, reason)
	ef.conv.Failures = 0
	ef.conv.Handoff = h
	e.logFor(ef.conv).WithFields(logrus.Fields{"cause": cause}).Info("handing off to a human")
	switch {
	case caps.NativeHandoff:
		h.Native = true
		ef.messages = append(ef.messages, store.Message{ConversationID: ef.conv.ID, Role: store.RoleBot, Text: e.cfg.HandoffMessage})
		ef.outbox = append(ef.outbox, store.OutboxEntry{
			ConversationID: ef.conv.ID, Instance: ef.conv.Channel, Payload: store.NativeHandoff{
				Ref: ef.conv.Ref, User: ef.conv.User, Text: e.cfg.HandoffMessage, Reason: reasonOrCause(reason, cause), Context: ef.conv.Context,
			},
		})
	case e.cfg.Desk != "":
		h.Desk = e.cfg.Desk
		e.reply(ef, e.cfg.HandoffMessage)
		transcript, summary := e.handoffTranscript(ef, cause, reason)
		ef.outbox = append(ef.outbox, store.OutboxEntry{
			ConversationID: ef.conv.ID, Instance: e.cfg.Desk, Payload: store.OpenHandoff{
				User: ef.conv.User, Channel: ef.conv.Channel, Reason: reasonOrCause(reason, cause),
				Summary: summary, Transcript: transcript,
			},
		})
	default:
		e.reply(ef, e.cfg.FallbackMessage)
	}
}

func reasonOrCause(reason, cause string) string {
	if reason != "" {
		return reason
	}
	return "handoff (" + cause + ")"
}

// handoffTranscript is the transcript and a short summary for the desk.
func (e *Engine) handoffTranscript(ef *effects, cause, reason string) ([]sdk.TranscriptEntry, string) {
	history, err := e.st.LastMessages(ef.conv.ID, 50)
	if err != nil {
		e.logFor(ef.conv).WithError(err).Warn("read transcript for the desk")
	}
	var out []sdk.TranscriptEntry
	lastVisitor := ""
	for _, m := range append(history, ef.messages...) {
		at := m.CreatedAt
		if at.IsZero() {
			at = e.st.Now()
		}
		out = append(out, sdk.TranscriptEntry{Role: m.Role, Text: m.Text, Time: at})
		if m.Role == store.RoleVisitor {
			lastVisitor = m.Text
		}
	}
	name := ef.conv.User.Name
	if name == "" {
		name = ef.conv.User.ID
	}
	summary := fmt.Sprintf("%s on %s needs a human (%s)", name, ef.conv.Channel, reasonOrCause(reason, cause))
	if lastVisitor != "" {
		summary += ". Last message: " + truncate(lastVisitor, 200)
	}
	return out, summary
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// commit stores the effects and removes their inbox items in one
// transaction, then hands new outbox entries to the deliverer.
func (e *Engine) commit(ctx context.Context, ef *effects) error {
	var added []store.OutboxEntry
	err := e.st.Update(ctx, func(tx *store.Tx) error {
		added = added[:0]
		fresh, err := store.GetConversationTx(tx, ef.conv.ID)
		if err != nil {
			return err
		}
		fresh.State, fresh.Failures, fresh.Handoff = ef.conv.State, ef.conv.Failures, ef.conv.Handoff
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
		for _, m := range ef.messages {
			if err := e.st.AppendMessageTx(tx, &m); err != nil {
				return err
			}
		}
		for _, t := range ef.transitions {
			if err := store.AddTransitionTx(tx, ef.conv.ID, t); err != nil {
				return err
			}
		}
		if ef.unmapDesk {
			if err := store.UnmapDeskTx(tx, ef.conv.ID); err != nil {
				return err
			}
		}
		for _, o := range ef.outbox {
			o.CreatedAt, o.NextAttempt = e.st.Now(), e.st.Now()
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
		entries := added
		tx.OnCommit(func() { e.deliver.add(entries) })
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit conversation %s: %w", ef.conv.ID, err)
	}
	e.cfg.Metrics.Transitions(ef.transitions)
	if h := ef.conv.Handoff; ef.conv.State == store.StateWaitingHuman && h != nil && !h.Deadline.IsZero() {
		e.timers.add(ef.conv.ID, h.Deadline)
	}
	return nil
}
