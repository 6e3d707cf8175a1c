package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/crm"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// transferToolName is the name of the tool every model turn gets.
const transferToolName = "transfer_to_human"

// TransferTool is the transfer_to_human tool every model turn gets: a
// reason, and, when there are departments to choose from, the department
// (an enum of their names) and the priority.
func TransferTool(departments []string) sdk.Tool {
	props := map[string]any{
		"reason": map[string]any{"type": "string", "description": "Why a human is needed, in one sentence for the colleague."},
		"priority": map[string]any{"type": "string", "enum": conversation.PriorityNames(),
			"description": "How urgent it is: high or urgent for an angry customer, a payment problem or an outage; normal otherwise."},
	}
	if len(departments) > 1 {
		props["department"] = map[string]any{"type": "string", "enum": departments,
			"description": "The team that should take the conversation."}
	}
	params, _ := json.Marshal(map[string]any{"type": "object", "properties": props, "required": []string{"reason"}})
	return sdk.Tool{
		Name:        transferToolName,
		Description: "Hand the conversation to a human colleague. Use it when the customer asks for a person, when you cannot help, or when the request needs a human decision.",
		Parameters:  params,
	}
}

// typingEvery is how often the typing indicator is renewed during a model
// turn (platforms show it for about five seconds).
const typingEvery = 4 * time.Second

// typingAfter is how long a model turn runs before the channel's typing
// indicator is shown: a faster answer needs none, and the indicator costs a
// call to the plugin and one to the platform.
const typingAfter = 500 * time.Millisecond

// botTurn asks the model to answer the visitor messages in ef.asked and
// returns the outcome as the event the conversation rules take, or nil when
// ctx ended first.
func (e *Engine) botTurn(ctx context.Context, ef *effects) conversation.Event {
	text, sources, transfer, err := e.askModel(ctx, ef)
	if ctx.Err() != nil {
		return nil // shutting down: the turn runs again after the restart
	}
	log := e.logFor(ef.conv)
	switch {
	case err != nil && isModelDown(err):
		if e.cfg.Knowledge != nil {
			log.WithError(err).Warn("model unavailable; answering from the knowledge base")
		} else {
			log.WithError(err).Warn("model unavailable; handing off")
		}
		return conversation.ModelFailed{Down: true, Err: err.Error()}
	case err != nil:
		log.WithError(err).WithField("failures", ef.conv.Failures+1).Warn("model turn failed")
		return conversation.ModelFailed{Err: err.Error()}
	case transfer != nil:
		if e.cfg.Knowledge != nil {
			ef.gaps = append(ef.gaps, gap{question: ef.question, reason: store.GapHandoff})
		}
		return *transfer
	case strings.TrimSpace(text) == "":
		log.WithField("failures", ef.conv.Failures+1).Warn("model gave an empty answer")
	}
	return conversation.ModelAnswered{Text: text, Sources: sources}
}

// isModelDown reports whether a model error means the backend cannot
// answer at all (down, or without the model), as opposed to one bad turn.
func isModelDown(err error) bool {
	switch sdk.KindOf(err) {
	case sdk.Unavailable, sdk.ModelMissing:
		return true
	}
	return errors.Is(err, sdk.ErrPluginUnavailable)
}

// askModel runs one model turn over the conversation's recent transcript,
// grounded in the knowledge base's passages on the visitor's question
// when there is a knowledge base. The visitor messages being answered come
// last, after any answer the bot wrote while they were arriving, so the
// model sees the exchange in the order it must reply to. It returns the
// answer text and the entries it was given, or the transfer_to_human
// call.
func (e *Engine) askModel(ctx context.Context, ef *effects) (text string, sources []conversation.Source, transfer *conversation.ModelTransferred, err error) {
	conv, asked := ef.conv, ef.asked
	llm, err := e.models.LLM()
	if err != nil {
		return "", nil, nil, err
	}
	history, err := e.st.LastMessages(conv.ID, e.cfg.HistoryMessages)
	if err != nil {
		return "", nil, nil, err
	}
	req := sdk.ChatRequest{Tools: []sdk.Tool{e.transferTool}}
	system := e.cfg.SystemPrompt
	if e.cfg.Knowledge != nil {
		g, err := e.cfg.Knowledge.Ground(ctx, ef.question)
		if err != nil {
			e.logFor(conv).WithError(err).Warn("knowledge base: no passages for this turn")
		} else {
			system = g.SystemPrompt(system)
			for _, s := range g.Sources() {
				sources = append(sources, conversation.Source{ID: s.ID, Title: s.Title})
			}
		}
	}
	if e.cfg.ShareProfile {
		if about := crm.Context(conv.Profile); about != "" {
			system = strings.TrimSpace(system + "\n\n" + about)
		}
	}
	if system != "" {
		req.Messages = append(req.Messages, sdk.ChatMessage{Role: sdk.RoleSystem, Content: system})
	}
	ordered := make([]store.Message, 0, len(history))
	var pending []store.Message
	for _, m := range history {
		if m.Private {
			continue
		}
		if asked[m.ID] {
			pending = append(pending, m)
		} else {
			ordered = append(ordered, m)
		}
	}
	for _, m := range append(ordered, pending...) {
		switch m.Role {
		case conversation.RoleVisitor:
			req.Messages = append(req.Messages, sdk.ChatMessage{Role: sdk.RoleUser, Content: clip(messageText(m.Text, m.Attachments), lineBytes)})
		case conversation.RoleBot, conversation.RoleOperator:
			req.Messages = append(req.Messages, sdk.ChatMessage{Role: sdk.RoleAssistant, Content: clip(m.Text, lineBytes)})
		}
	}

	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return "", nil, nil, ctx.Err()
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
		return "", nil, nil, err
	}
	for _, c := range calls {
		if c.Name != transferToolName {
			continue
		}
		var args struct {
			Reason     string `json:"reason"`
			Department string `json:"department"`
			Priority   string `json:"priority"`
		}
		_ = json.Unmarshal(c.Arguments, &args)
		if args.Reason == "" {
			args.Reason = "the assistant asked for a human"
		}
		return "", nil, &conversation.ModelTransferred{Reason: args.Reason, Hint: conversation.RouteHint{Department: args.Department, Priority: args.Priority}}, nil
	}
	return b.String(), sources, nil, nil
}

// showTyping keeps a typing indicator up while the model works, where the
// channel has one (from typingAfter into the turn on), and tells
// Config.Thinking at once. It is best effort and never retried.
func (e *Engine) showTyping(ctx context.Context, conv store.Conversation) (stop func()) {
	caps, ok := e.channels.Capabilities(conv.Channel)
	native := ok && caps.Typing
	thinking := e.thinking(conv.ID)
	if !native && thinking == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		if thinking != nil {
			thinking(true)
		}
		if native {
			select {
			case <-ctx.Done():
				return
			case <-time.After(typingAfter):
			}
		}
		tick := time.NewTicker(typingEvery)
		defer tick.Stop()
		for renewal := false; ; renewal = true {
			if thinking != nil && renewal {
				thinking(true)
			}
			if ch, ok, err := e.channels.Channel(conv.Channel); native && ok && err == nil {
				sctx, scancel := context.WithTimeout(ctx, typingEvery-time.Second)
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
	return func() {
		cancel()
		if thinking != nil {
			thinking(false)
		}
	}
}

// thinking reports a conversation's model turn to Config.Thinking: true
// until the first false, after which it says nothing more (a renewal racing
// the end of the turn is dropped). Nil without Config.Thinking.
func (e *Engine) thinking(convID string) func(on bool) {
	if e.cfg.Thinking == nil {
		return nil
	}
	var mu sync.Mutex
	over := false
	return func(on bool) {
		mu.Lock()
		defer mu.Unlock()
		if !over {
			e.cfg.Thinking(convID, on)
			over = !on
		}
	}
}
