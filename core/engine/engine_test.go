package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
)

// recorder is a channel (and desk) that records what it is asked to do.
type recorder struct {
	mu      sync.Mutex
	caps    sdk.Capabilities
	sent    []sdk.Outbound
	opened  []sdk.Handoff
	relayed []string
	closed  []string
	// relays and closes are the desk calls in full.
	relays []relayCall
	closes []closeCall
	// fail returns an error for the n-th call of Send or the desk (1-based,
	// typing not counted), if set.
	fail func(n int) error
	// hang makes every Send wait until its context ends.
	hang bool
	n    int
	// typing counts typing indicators.
	typing int
}

// try counts a call and returns the error fail has for it; r.mu is held.
func (r *recorder) try() error {
	r.n++
	if r.fail != nil {
		return r.fail(r.n)
	}
	return nil
}

func (r *recorder) Configure(context.Context, sdk.ConfigureRequest) (sdk.Capabilities, error) {
	return r.caps, nil
}

func (r *recorder) HandleWebhook(context.Context, sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	return sdk.WebhookResponse{}, nil
}

func (r *recorder) Send(ctx context.Context, out sdk.Outbound) (sdk.SendResult, error) {
	if out.Kind != sdk.OutTyping && r.hang {
		r.mu.Lock()
		r.n++
		r.mu.Unlock()
		<-ctx.Done() // as a plugin whose platform never answers
		return sdk.SendResult{}, sdk.NewError(sdk.Timeout, ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if out.Kind == sdk.OutTyping {
		r.typing++
		return sdk.SendResult{}, nil
	}
	if err := r.try(); err != nil {
		return sdk.SendResult{}, err
	}
	r.sent = append(r.sent, out)
	return sdk.SendResult{}, nil
}

func (r *recorder) OpenHandoff(_ context.Context, h sdk.Handoff) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.try(); err != nil {
		return "", err
	}
	r.opened = append(r.opened, h)
	return "ticket-" + h.ConversationID, nil
}

func (r *recorder) RelayToDesk(_ context.Context, ref string, m sdk.DeskMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.try(); err != nil {
		return err
	}
	r.relayed = append(r.relayed, m.Text)
	r.relays = append(r.relays, relayCall{ref, m})
	return nil
}

func (r *recorder) CloseHandoff(_ context.Context, ref string, c sdk.DeskClose) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.try(); err != nil {
		return err
	}
	r.closed = append(r.closed, ref)
	r.closes = append(r.closes, closeCall{ref, c})
	return nil
}

type relayCall struct {
	Ref string
	Msg sdk.DeskMessage
}

type closeCall struct {
	Ref   string
	Close sdk.DeskClose
}

func (r *recorder) texts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, o := range r.sent {
		out = append(out, o.Text)
	}
	return out
}

type channels map[string]*recorder

func (c channels) Channel(name string) (sdk.Channel, bool, error) {
	r, ok := c[name]
	return r, ok, nil
}

func (c channels) Desk(name string) (sdk.Desk, bool, error) {
	r, ok := c[name]
	if !ok || !r.caps.Desk {
		return nil, false, nil
	}
	return r, true, nil
}

func (c channels) Capabilities(name string) (sdk.Capabilities, bool) {
	r, ok := c[name]
	if !ok {
		return sdk.Capabilities{}, false
	}
	return r.caps, true
}

// model is a scripted LLM.
type model struct {
	mu    sync.Mutex
	calls []sdk.ChatRequest
	turn  func(n int, req sdk.ChatRequest) (string, []sdk.ToolCall, error)
}

func (m *model) LLM() (sdk.LLM, error) { return m, nil }

func (m *model) Configure(context.Context, sdk.ConfigureRequest) (sdk.LLMInfo, error) {
	return sdk.LLMInfo{}, nil
}

func (m *model) Chat(ctx context.Context, req sdk.ChatRequest, s sdk.ChatStream) error {
	m.mu.Lock()
	m.calls = append(m.calls, req)
	n := len(m.calls)
	m.mu.Unlock()
	type result struct {
		text  string
		calls []sdk.ToolCall
		err   error
	}
	done := make(chan result, 1)
	go func() {
		text, calls, err := m.turn(n, req)
		done <- result{text, calls, err}
	}()
	var res result
	select {
	case res = <-done: // like a real backend, a turn ends with its context
	case <-ctx.Done():
		return ctx.Err()
	}
	text, calls := res.text, res.calls
	if res.err != nil {
		return res.err
	}
	for _, w := range strings.SplitAfter(text, " ") {
		if err := s.Send(sdk.ChatChunk{Text: w}); err != nil {
			return err
		}
	}
	return s.Send(sdk.ChatChunk{ToolCalls: calls, Done: true})
}

func (m *model) Embed(context.Context, []string) ([][]float32, error) { return nil, nil }

func (m *model) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

func answer(text string) func(int, sdk.ChatRequest) (string, []sdk.ToolCall, error) {
	return func(int, sdk.ChatRequest) (string, []sdk.ToolCall, error) { return text, nil, nil }
}

func testConfig() Config {
	return Config{
		Rules: conversation.Policy{
			Keywords: []string{"human", "人工"}, CancelKeywords: []string{"bot", "cancel"},
			MaxBotFailures: 2, QueueTimeout: time.Hour, ReturnToBot: true,
			Messages: conversation.Messages{
				Handoff: "connecting you", Fallback: "sorry", Greeting: "hello!", Unsupported: "text only",
				Cancel: "back to bot", Timeout: "nobody came", Closed: "operator left", Missed: "missed you",
			},
		},
		SystemPrompt: "You are a test.", HistoryMessages: 10, Concurrency: 4,
		Delivery: DeliveryConfig{MaxAttempts: 12, MaxAge: 24 * time.Hour, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
	}
}

type harness struct {
	t    *testing.T
	st   *store.Store
	eng  *Engine
	path string
	ch   channels
	llm  *model
	cfg  Config
}

func newHarness(t *testing.T, cfg Config, llm *model) *harness {
	t.Helper()
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "switchboard.db"), cfg: cfg, llm: llm,
		ch: channels{"tg": {caps: sdk.Capabilities{Typing: true}}, "desk": {caps: sdk.Capabilities{Desk: true}}}}
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	st, err := store.Open(h.path, store.Options{NoSync: true})
	if err != nil {
		h.t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	var models Models
	if h.llm != nil {
		models = h.llm
	}
	h.st = st
	h.eng = New(h.cfg, st, h.ch, models, log)
	if err := h.eng.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	if h.eng == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.eng.Stop(ctx)
	h.st.Close()
	h.eng = nil
}

// visitor commits a visitor message on channel tg, chat "42".
func (h *harness) visitor(id, text string) string {
	h.t.Helper()
	res, err := h.st.CommitEvents(context.Background(), "tg", []sdk.Event{{
		ID: id, Kind: sdk.KindMessage, Conversation: "42", User: sdk.User{ID: "42", Name: "Ann"}, Text: text,
	}})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(res.Accepted) == 0 {
		return ""
	}
	return res.Accepted[0].ConversationID
}

func (h *harness) desk(id string, kind sdk.EventKind, ref, text string) {
	h.t.Helper()
	if _, err := h.st.CommitEvents(context.Background(), "desk", []sdk.Event{{
		ID: id, Kind: kind, Conversation: ref, User: sdk.User{ID: "op1", Name: "Bob"}, Text: text,
	}}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	// A bound on waiting, not a timing assertion: generous, since tests
	// share the machine with each other.
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) conv(id string) store.Conversation {
	h.t.Helper()
	c, err := h.st.Conversation(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) transcript(id string) []string {
	msgs, _ := h.st.Messages(id, 0, 0)
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Role)+": "+m.Text)
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// A turn that takes a while shows the channel's typing indicator while it
// runs; the model here answers only once the indicator was sent.
func TestSlowTurnShowsTyping(t *testing.T) {
	var h *harness
	typed := func() int {
		r := h.ch["tg"]
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.typing
	}
	llm := &model{turn: func(int, sdk.ChatRequest) (string, []sdk.ToolCall, error) {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if typed() > 0 {
				return "done thinking", nil, nil
			}
		}
		return "no typing indicator came", nil, nil
	}}
	h = newHarness(t, testConfig(), llm)
	h.visitor("1", "a hard question")
	h.eventually("the answer", func() bool { return len(h.ch["tg"].texts()) == 1 })
	if got := h.ch["tg"].texts(); got[0] != "done thinking" {
		t.Errorf("sent %q", got)
	}
}

func TestModelAnswerIsDelivered(t *testing.T) {
	llm := &model{turn: answer("Your order ships today.")}
	h := newHarness(t, testConfig(), llm)
	id := h.visitor("1", "where is my order?")
	h.eventually("the answer to reach the channel", func() bool { return len(h.ch["tg"].texts()) == 1 })

	if got := h.ch["tg"].texts(); got[0] != "Your order ships today." {
		t.Fatalf("sent %q", got)
	}
	sent := h.ch["tg"].sent[0]
	if sent.Conversation != "42" || sent.ID == "" {
		t.Errorf("outbound %+v", sent)
	}
	want := []string{"visitor: where is my order?", "bot: Your order ships today."}
	if got := h.transcript(id); !equal(got, want) {
		t.Errorf("transcript %q", got)
	}
	req := llm.calls[0]
	if req.Messages[0].Role != sdk.RoleSystem || req.Messages[1].Content != "where is my order?" || req.Tools[0].Name != "transfer_to_human" {
		t.Errorf("model request %+v", req)
	}
	var schema map[string]any
	if err := json.Unmarshal(req.Tools[0].Parameters, &schema); err != nil || schema["required"] == nil {
		t.Errorf("tool schema %s: %v", req.Tools[0].Parameters, err)
	}
}

func TestHandoffCauses(t *testing.T) {
	tests := []struct {
		name      string
		turn      func(int, sdk.ChatRequest) (string, []sdk.ToolCall, error)
		messages  []string
		wantCause conversation.Cause
		wantCalls int
		wantSent  []string
	}{
		{
			name: "tool call",
			turn: func(int, sdk.ChatRequest) (string, []sdk.ToolCall, error) {
				return "", []sdk.ToolCall{{Name: "transfer_to_human", Arguments: json.RawMessage(`{"reason":"refund over limit"}`)}}, nil
			},
			messages: []string{"I want a refund of 5000"}, wantCause: conversation.CauseTool, wantCalls: 1, wantSent: []string{"connecting you"},
		},
		{
			name: "keyword", turn: answer("never asked"), messages: []string{"人工"},
			wantCause: conversation.CauseKeyword, wantCalls: 0, wantSent: []string{"connecting you"},
		},
		{
			name: "two failed turns", turn: answer("   "), messages: []string{"a", "b"},
			wantCause: conversation.CauseFailures, wantCalls: 2, wantSent: []string{"sorry", "connecting you"},
		},
		{
			name: "model down",
			turn: func(int, sdk.ChatRequest) (string, []sdk.ToolCall, error) {
				return "", nil, sdk.Errorf(sdk.Unavailable, "ollama at 127.0.0.1:11434 is unreachable")
			},
			messages: []string{"hi"}, wantCause: conversation.CauseModelDown, wantCalls: 1, wantSent: []string{"connecting you"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			llm := &model{turn: tt.turn}
			cfg := testConfig()
			cfg.Rules.Desk = "desk"
			h := newHarness(t, cfg, llm)
			var id string
			for i, m := range tt.messages {
				id = h.visitor(string(rune('a'+i)), m)
				if i < len(tt.messages)-1 {
					h.eventually("a reply", func() bool { return len(h.ch["tg"].texts()) == i+1 })
				}
			}
			h.eventually("the desk to get the handoff", func() bool {
				h.ch["desk"].mu.Lock()
				defer h.ch["desk"].mu.Unlock()
				return len(h.ch["desk"].opened) == 1
			})
			c := h.conv(id)
			if c.State != conversation.WaitingHuman || c.Handoff == nil || c.Handoff.Cause != tt.wantCause {
				t.Fatalf("conversation %+v handoff %+v", c, c.Handoff)
			}
			if llm.count() != tt.wantCalls {
				t.Errorf("%d model calls, want %d", llm.count(), tt.wantCalls)
			}
			h.eventually("the visitor's messages", func() bool { return len(h.ch["tg"].texts()) == len(tt.wantSent) })
			if got := h.ch["tg"].texts(); !equal(got, tt.wantSent) {
				t.Errorf("visitor got %q, want %q", got, tt.wantSent)
			}
			open := h.ch["desk"].opened[0]
			if open.Channel != "tg" || open.User.Name != "Ann" || len(open.Transcript) == 0 || open.Transcript[0].Text != tt.messages[0] {
				t.Errorf("desk got %+v", open)
			}
			ts, _ := h.st.Transitions(id)
			if len(ts) != 1 || ts[0].From != conversation.Bot || ts[0].To != conversation.WaitingHuman || ts[0].Cause != tt.wantCause {
				t.Errorf("transitions %+v", ts)
			}
		})
	}
}

func TestQuickMessagesGetOneAnswer(t *testing.T) {
	// Fake time: the pauses below wait until every goroutine is idle.
	synctest.Test(t, func(t *testing.T) {
		llm := &model{turn: answer("one answer")}
		cfg := testConfig()
		cfg.GatherWindow = 200 * time.Millisecond
		h := newHarness(t, cfg, llm)
		h.visitor("1", "hi")
		h.visitor("2", "my order")
		id := h.visitor("3", "is late")
		h.eventually("an answer", func() bool { return len(h.ch["tg"].texts()) == 1 })
		time.Sleep(300 * time.Millisecond)
		if llm.count() != 1 {
			t.Fatalf("%d model calls for three quick messages, want 1", llm.count())
		}
		var users []string
		for _, m := range llm.calls[0].Messages {
			if m.Role == sdk.RoleUser {
				users = append(users, m.Content)
			}
		}
		if !equal(users, []string{"hi", "my order", "is late"}) {
			t.Errorf("model saw %q", users)
		}
		if got := h.transcript(id); len(got) != 4 {
			t.Errorf("transcript %q", got)
		}
	})
}

func TestMessagesDuringATurnAreFoldedIntoTheNext(t *testing.T) {
	// Fake time: the pauses below wait until every goroutine is idle.
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		llm := &model{turn: func(n int, req sdk.ChatRequest) (string, []sdk.ToolCall, error) {
			if n == 1 {
				<-release
			}
			return "answer " + string(rune('0'+n)), nil, nil
		}}
		h := newHarness(t, testConfig(), llm)
		h.visitor("1", "first")
		h.eventually("the first turn to start", func() bool { return llm.count() == 1 })
		h.visitor("2", "second")
		h.visitor("3", "third")
		time.Sleep(50 * time.Millisecond)
		close(release)
		h.eventually("two answers", func() bool { return len(h.ch["tg"].texts()) == 2 })
		time.Sleep(100 * time.Millisecond)
		if llm.count() != 2 {
			t.Fatalf("%d model calls, want 2 (the two later messages folded into one turn)", llm.count())
		}
	})
}

func TestDeskRoundTrip(t *testing.T) {
	llm := &model{turn: answer("bot answer")}
	cfg := testConfig()
	cfg.Rules.Desk = "desk"
	h := newHarness(t, cfg, llm)
	id := h.visitor("1", "human please")
	ref := "ticket-" + id
	h.eventually("the desk to open", func() bool {
		_, got, ok := h.st.DeskRef(id)
		return ok && got == ref
	})

	h.visitor("2", "are you there?")
	h.eventually("the relay", func() bool {
		h.ch["desk"].mu.Lock()
		defer h.ch["desk"].mu.Unlock()
		return len(h.ch["desk"].relayed) == 1
	})
	h.desk("d1", sdk.KindOperatorJoined, ref, "")
	h.desk("d2", sdk.KindOperatorMessage, ref, "Hi Ann, Bob here.")
	h.eventually("the operator's message", func() bool { return len(h.ch["tg"].texts()) == 2 })
	if c := h.conv(id); c.State != conversation.Human || c.Handoff.Operator != "Bob" {
		t.Fatalf("after operator joined: %+v", c)
	}
	h.desk("d3", sdk.KindClosed, ref, "")
	h.eventually("the closed message", func() bool { return len(h.ch["tg"].texts()) == 3 })
	if c := h.conv(id); c.State != conversation.Bot {
		t.Fatalf("after close: state %s", c.State)
	}
	if _, _, ok := h.st.DeskRef(id); ok {
		t.Error("desk reference still mapped after close")
	}
	want := []string{"connecting you", "Hi Ann, Bob here.", "operator left"}
	if got := h.ch["tg"].texts(); !equal(got, want) {
		t.Errorf("visitor got %q", got)
	}
	if roles := []string{h.ch["tg"].sent[0].Role, h.ch["tg"].sent[1].Role}; !equal(roles, []string{"bot", "operator"}) {
		t.Errorf("roles %q", roles)
	}
	if llm.count() != 0 {
		t.Errorf("the model was asked %d times during the handoff", llm.count())
	}
	// Back with the bot.
	h.visitor("4", "thanks")
	h.eventually("the bot again", func() bool { return len(h.ch["tg"].texts()) == 4 })
}

func TestCancelAndTimeoutReturnToTheBot(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = "desk"
	cfg.Rules.QueueTimeout = 300 * time.Millisecond
	h := newHarness(t, cfg, &model{turn: answer("ok")})

	id := h.visitor("1", "human")
	h.eventually("handoff", func() bool { return len(h.ch["tg"].texts()) == 1 })
	h.visitor("2", "cancel")
	h.eventually("back to the bot", func() bool { return h.conv(id).State == conversation.Bot })
	h.eventually("the desk close", func() bool {
		h.ch["desk"].mu.Lock()
		defer h.ch["desk"].mu.Unlock()
		return len(h.ch["desk"].closed) == 1
	})

	h.visitor("3", "human again")
	h.eventually("second handoff", func() bool { return h.conv(id).State == conversation.WaitingHuman })
	h.eventually("queue timeout", func() bool { return h.conv(id).State == conversation.Bot })
	ts, _ := h.st.Transitions(id)
	var causes []conversation.Cause
	for _, tr := range ts {
		causes = append(causes, tr.Cause)
	}
	if !slices.Equal(causes, []conversation.Cause{conversation.CauseKeyword, conversation.CauseVisitor, conversation.CauseKeyword, conversation.CauseQueueTimeout}) {
		t.Errorf("causes %q", causes)
	}
	h.eventually("timeout message", func() bool {
		texts := h.ch["tg"].texts()
		return len(texts) > 0 && texts[len(texts)-1] == "nobody came"
	})
}

func TestNoCancelKeywordsMeansNoCancel(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = "desk"
	cfg.Rules.CancelKeywords = []string{} // handoff.cancel_keywords = []
	h := newHarness(t, cfg, &model{turn: answer("ok")})
	id := h.visitor("1", "human")
	h.eventually("handoff", func() bool { return len(h.ch["tg"].texts()) == 1 })
	h.visitor("2", "cancel")
	h.eventually("the line relayed to the desk", func() bool {
		h.ch["desk"].mu.Lock()
		defer h.ch["desk"].mu.Unlock()
		return len(h.ch["desk"].relayed) == 1
	})
	if c := h.conv(id); c.State != conversation.WaitingHuman {
		t.Errorf("state %s after \"cancel\" with no cancel keywords, want %s", c.State, conversation.WaitingHuman)
	}
}

func TestNoModelNoDeskSendsFallback(t *testing.T) {
	h := newHarness(t, testConfig(), nil)
	id := h.visitor("1", "hello?")
	h.eventually("fallback", func() bool { return len(h.ch["tg"].texts()) == 1 })
	if got := h.ch["tg"].texts()[0]; got != "sorry" {
		t.Errorf("sent %q", got)
	}
	c := h.conv(id)
	if c.State != conversation.WaitingHuman || c.Handoff.Cause != conversation.CauseNoModel {
		t.Errorf("conversation %+v", c)
	}
}

func TestDeliveryKeepsOrderThroughRetries(t *testing.T) {
	llm := &model{turn: func(n int, _ sdk.ChatRequest) (string, []sdk.ToolCall, error) {
		return "answer " + string(rune('0'+n)), nil, nil
	}}
	h := newHarness(t, testConfig(), llm)
	h.ch["tg"].fail = func(n int) error {
		if n <= 2 {
			return sdk.RetryAfter(30*time.Millisecond, errors.New("429"))
		}
		return nil
	}
	h.visitor("1", "one")
	h.eventually("first turn", func() bool { return llm.count() == 1 })
	h.visitor("2", "two")
	h.eventually("two deliveries", func() bool { return len(h.ch["tg"].texts()) == 2 })
	if got := h.ch["tg"].texts(); !equal(got, []string{"answer 1", "answer 2"}) {
		t.Fatalf("delivered out of order: %q", got)
	}
}

func TestPermanentFailureBecomesDeadLetter(t *testing.T) {
	h := newHarness(t, testConfig(), &model{turn: answer("hi")})
	h.ch["tg"].fail = func(int) error { return sdk.Errorf(sdk.Blocked, "403 bot was blocked by the user") }
	id := h.visitor("1", "hello")
	h.eventually("a dead letter", func() bool {
		dl, _ := h.st.DeadLetters()
		return len(dl) == 1
	})
	if !h.conv(id).Unreachable {
		t.Error("a blocked visitor is not marked unreachable")
	}
	if out, _ := h.st.Outbox(); len(out) != 0 {
		t.Errorf("outbox still has %d entries", len(out))
	}
}

func TestTurnInterruptedByShutdownRunsAgain(t *testing.T) {
	// Fake time: the pauses below wait until every goroutine is idle.
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		llm := &model{turn: func(n int, _ sdk.ChatRequest) (string, []sdk.ToolCall, error) {
			if n == 1 {
				<-block // the first turn never finishes before the stop
			}
			return "the one answer", nil, nil
		}}
		cfg := testConfig()
		h := newHarness(t, cfg, llm)
		id := h.visitor("1", "question")
		h.eventually("the turn to start", func() bool { return llm.count() == 1 })

		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		h.eng.Stop(ctx) // gives up on the running turn
		cancel()
		close(block)
		h.st.Close()
		h.eng = nil
		if len(h.ch["tg"].texts()) != 0 {
			t.Fatal("an answer was sent by the interrupted turn")
		}

		h.start()
		h.eventually("the answer after restart", func() bool { return len(h.ch["tg"].texts()) == 1 })
		time.Sleep(100 * time.Millisecond)
		if got := h.ch["tg"].texts(); len(got) != 1 {
			t.Fatalf("visitor got %q, want one answer", got)
		}
		if got := h.transcript(id); !equal(got, []string{"visitor: question", "bot: the one answer"}) {
			t.Errorf("transcript %q", got)
		}
	})
}

func TestNativeHandoffStaysInsideTheChannel(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = "desk"
	h := newHarness(t, cfg, &model{turn: answer("bot")})
	h.ch["tg"].caps.NativeHandoff = true
	id := h.visitor("1", "human")
	h.eventually("the native transfer", func() bool {
		h.ch["tg"].mu.Lock()
		defer h.ch["tg"].mu.Unlock()
		return len(h.ch["tg"].sent) == 1
	})
	out := h.ch["tg"].sent[0]
	if out.Kind != sdk.OutHandoff || out.Text != "connecting you" || out.Reason == "" {
		t.Fatalf("transfer %+v", out)
	}
	if n := len(h.ch["desk"].opened); n != 0 {
		t.Fatalf("a native handoff opened %d desk conversations", n)
	}

	// The channel reports on its own chat: an operator writes (the visitor
	// sees it natively), then a later transfer is missed.
	commit := func(evID string, kind sdk.EventKind, ctx map[string]string) {
		if _, err := h.st.CommitEvents(context.Background(), "tg", []sdk.Event{{
			ID: evID, Kind: kind, Conversation: "42", User: sdk.User{Name: "Bob"}, Text: "hello from Bob", Context: ctx,
		}}); err != nil {
			t.Fatal(err)
		}
	}
	commit("op", sdk.KindOperatorMessage, nil)
	h.eventually("the operator message in the transcript", func() bool {
		return strings.Contains(strings.Join(h.transcript(id), "\n"), "operator: hello from Bob")
	})
	commit("miss", sdk.KindMissed, map[string]string{"request_id": "r-9"})
	h.eventually("back to the bot", func() bool { return h.conv(id).State == conversation.Bot })
	h.eventually("the missed message", func() bool { return len(h.ch["tg"].texts()) == 2 })
	h.ch["tg"].mu.Lock()
	defer h.ch["tg"].mu.Unlock()
	missed := h.ch["tg"].sent[1]
	if missed.Text != "missed you" || missed.Context["request_id"] != "r-9" {
		t.Errorf("missed message %+v: want the text with the failure's context", missed)
	}
}

func TestUnknownOutcomeIsRetriedOnlyWhereThePlatformDedups(t *testing.T) {
	for _, idempotent := range []bool{false, true} {
		t.Run(map[bool]string{false: "no dedup", true: "dedup"}[idempotent], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, testConfig(), &model{turn: answer("hi")})
				h.ch["tg"].caps.Idempotent.SendText = idempotent
				h.ch["tg"].fail = func(n int) error {
					if n == 1 {
						return sdk.Errorf(sdk.OutcomeUnknown, "timeout after the request was sent")
					}
					return nil
				}
				h.visitor("1", "hello")
				if idempotent {
					h.eventually("the retry", func() bool { return len(h.ch["tg"].texts()) == 1 })
					return
				}
				h.eventually("the record", func() bool { n, _ := h.st.PossiblyDelivered(); return n == 1 })
				time.Sleep(100 * time.Millisecond)
				if got := h.ch["tg"].texts(); len(got) != 0 {
					t.Fatalf("resent a possibly delivered message: %q", got)
				}
				if out, _ := h.st.Outbox(); len(out) != 0 {
					t.Fatal("the entry is still in the outbox")
				}
			})
		})
	}
}

func TestSingleUseContextGoesToOneOutbound(t *testing.T) {
	h := newHarness(t, testConfig(), &model{turn: answer("first answer")})
	commit := func(id, text, token string) {
		if _, err := h.st.CommitEvents(context.Background(), "tg", []sdk.Event{{
			ID: id, Kind: sdk.KindMessage, Conversation: "42", Text: text,
			Context: map[string]string{"once.reply_token": token, "chat_type": "private"},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	commit("1", "hello", "r1")
	h.eventually("the answer", func() bool { return len(h.ch["tg"].texts()) == 1 })
	conv, _ := h.st.ConversationByRef("tg", "42")
	if _, ok := conv.Context["once.reply_token"]; ok || conv.Context["chat_type"] != "private" {
		t.Fatalf("conversation context after the reply: %v", conv.Context)
	}
	// An answer with no new token gets none.
	h.eng.RequestHandoff(context.Background(), conv.ID, "test")
	h.eventually("the handoff message", func() bool { return len(h.ch["tg"].texts()) == 2 })
	h.ch["tg"].mu.Lock()
	defer h.ch["tg"].mu.Unlock()
	if got := h.ch["tg"].sent[0].Context["once.reply_token"]; got != "r1" {
		t.Errorf("first outbound token %q, want r1", got)
	}
	if got, ok := h.ch["tg"].sent[1].Context["once.reply_token"]; ok {
		t.Errorf("second outbound got the used token %q", got)
	}
}

func TestModelSeesTheAnsweredLinesLast(t *testing.T) {
	release := make(chan struct{})
	llm := &model{turn: func(n int, req sdk.ChatRequest) (string, []sdk.ToolCall, error) {
		if n == 1 {
			<-release
		}
		return "answer " + string(rune('0'+n)), nil, nil
	}}
	h := newHarness(t, testConfig(), llm)
	h.visitor("1", "first")
	h.eventually("the first turn", func() bool { return llm.count() == 1 })
	h.visitor("2", "second") // arrives before the first answer is written
	close(release)
	h.eventually("two answers", func() bool { return len(h.ch["tg"].texts()) == 2 })
	var roles []string
	for _, m := range llm.calls[1].Messages[1:] {
		roles = append(roles, m.Role+":"+m.Content)
	}
	if want := []string{"user:first", "assistant:answer 1", "user:second"}; !equal(roles, want) {
		t.Fatalf("second turn saw %q, want %q", roles, want)
	}
}

func TestTemporaryFailuresEndInADeadLetterAfterMaxAttempts(t *testing.T) {
	cfg := testConfig()
	cfg.Delivery.MaxAttempts = 3
	cfg.Delivery.BaseBackoff = time.Millisecond
	h := newHarness(t, cfg, &model{turn: answer("hi")})
	h.ch["tg"].fail = func(int) error { return sdk.Errorf(sdk.Temporary, "502 bad gateway") }
	h.visitor("1", "hello")
	h.eventually("a dead letter", func() bool { dl, _ := h.st.DeadLetters(); return len(dl) == 1 })
	dl, _ := h.st.DeadLetters()
	if dl[0].Entry.Attempts != 3 || !strings.Contains(dl[0].Error, "gave up after 3 attempts") || !strings.Contains(dl[0].Error, "502") {
		t.Fatalf("dead letter %+v", dl[0])
	}
	h.ch["tg"].mu.Lock()
	n := h.ch["tg"].n
	h.ch["tg"].mu.Unlock()
	if n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestAFloodIsHeldOnDiskNotInMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		llm := &model{turn: func(int, sdk.ChatRequest) (string, []sdk.ToolCall, error) {
			<-release
			return "ok", nil, nil
		}}
		cfg := testConfig()
		cfg.MaxInflight = 20
		cfg.Concurrency = 2
		h := newHarness(t, cfg, llm)
		ctx := context.Background()
		for i := 0; i < 300; i++ {
			if _, err := h.st.CommitEvents(ctx, "tg", []sdk.Event{{
				ID: strconv.Itoa(i), Kind: sdk.KindMessage, Conversation: strconv.Itoa(i % 100), Text: "flood",
			}}); err != nil {
				t.Fatal(err)
			}
		}
		peak := 0
		deadline := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(deadline) {
			peak = max(peak, h.eng.Inflight())
			time.Sleep(5 * time.Millisecond)
		}
		if peak > 20 {
			t.Fatalf("%d events in memory, bound is 20", peak)
		}
		close(release)
		h.eventually("the flood to drain", func() bool {
			items, _ := h.st.Inbox(0, 0)
			return len(items) == 0
		})
		if got := len(h.ch["tg"].texts()); got < 100 {
			t.Errorf("%d answers for 100 conversations", got)
		}
	})
}

func TestLanesAreBoundedAndDeskEventsGoFirst(t *testing.T) {
	var mu sync.Mutex
	running, peak := 0, 0
	release := make(chan struct{})
	llm := &model{turn: func(_ int, req sdk.ChatRequest) (string, []sdk.ToolCall, error) {
		if last := req.Messages[len(req.Messages)-1].Content; last == "human please" {
			return "", nil, nil // the handoff conversation is not held
		}
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		<-release
		mu.Lock()
		running--
		mu.Unlock()
		return "ok", nil, nil
	}}
	cfg := testConfig()
	cfg.Rules.Desk = "desk"
	cfg.Concurrency = 50 // the model would take them all: the lanes bound them
	cfg.MaxLanes = 3
	h := newHarness(t, cfg, llm)
	ctx := context.Background()

	// A conversation handed to the desk before the flood.
	id := h.visitor("h1", "human please")
	ref := "ticket-" + id
	h.eventually("the desk to open", func() bool { _, got, ok := h.st.DeskRef(id); return ok && got == ref })
	// The visitor is told once the desk has it.
	h.eventually("the announcement", func() bool { return slices.Contains(h.ch["tg"].texts(), "connecting you") })
	sentBefore := len(h.ch["tg"].texts())

	for i := range 20 {
		if _, err := h.st.CommitEvents(ctx, "tg", []sdk.Event{{
			ID: "f" + strconv.Itoa(i), Kind: sdk.KindMessage, Conversation: "c" + strconv.Itoa(i), Text: "flood",
		}}); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually("the lanes to fill", func() bool { mu.Lock(); defer mu.Unlock(); return running == 3 })
	h.eventually("the flood to be read", func() bool { return h.eng.Inflight() == 20 })
	h.desk("d1", sdk.KindOperatorMessage, ref, "Bob here")
	h.eventually("the operator's line to be read", func() bool { return h.eng.Inflight() == 21 })
	// The operator's line waits for a free lane, then goes before the 17
	// visitors queued for the bot.
	release <- struct{}{}
	h.eventually("the operator's message", func() bool {
		for _, s := range h.ch["tg"].texts()[sentBefore:] {
			if s == "Bob here" {
				return true
			}
		}
		return false
	})
	if got := len(h.ch["tg"].texts()) - sentBefore; got > 3 {
		t.Errorf("%d answers went out before the operator's line, want it first after a lane freed", got-1)
	}
	close(release)
	h.eventually("the flood to drain", func() bool { return len(h.ch["tg"].texts()) == sentBefore+21 })
	if peak > 3 {
		t.Errorf("%d conversations processed at once, bound is 3", peak)
	}
}

// A known visitor's new context (a fresh reply token, the id of the message
// to answer) reaches the answer to that message and stays with the
// conversation for later ones.
func TestAnswersCarryTheirMessagesContext(t *testing.T) {
	h := newHarness(t, testConfig(), &model{turn: answer("ok")})
	for i, token := range []string{"r1", "r2"} {
		n := strconv.Itoa(i + 1)
		if _, err := h.st.CommitEvents(context.Background(), "tg", []sdk.Event{{
			ID: n, Kind: sdk.KindMessage, Conversation: "42", Text: "line " + n,
			Context: map[string]string{"once.reply_token": token, "message_id": n},
		}}); err != nil {
			t.Fatal(err)
		}
		h.eventually("answer "+n, func() bool { return len(h.ch["tg"].texts()) == i+1 })
		h.ch["tg"].mu.Lock()
		got := h.ch["tg"].sent[i].Context
		h.ch["tg"].mu.Unlock()
		if got["once.reply_token"] != token || got["message_id"] != n {
			t.Errorf("answer %s went with context %v", n, got)
		}
	}
	conv, _ := h.st.ConversationByRef("tg", "42")
	if _, ok := conv.Context["once.reply_token"]; ok || conv.Context["message_id"] != "2" {
		t.Errorf("conversation context %v, want message_id 2 and no used token", conv.Context)
	}
}

func TestConsoleOperatorsServeFromTheQueue(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = conversation.ConsoleDesk
	h := newHarness(t, cfg, nil) // no model: every conversation goes to a person
	ctx := context.Background()
	ann := conversation.Operator{ID: "op-ann", Name: "Ann"}
	bob := conversation.Operator{ID: "op-bob", Name: "Bob"}

	id := h.visitor("1", "my parcel is lost")
	h.eventually("the wait", func() bool { return h.conv(id).State == conversation.WaitingHuman })

	// Two operators claim at once: exactly one gets it.
	errs := make(chan error, 2)
	for _, op := range []conversation.Operator{ann, bob} {
		go func() {
			_, err := h.eng.Do(ctx, id, conversation.Claimed{Operator: op})
			errs <- err
		}()
	}
	var conflicts int
	for range 2 {
		if err := <-errs; errors.Is(err, ErrConflict) {
			conflicts++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	c := h.conv(id)
	if conflicts != 1 || c.State != conversation.Human || c.Handoff.Assignee == "" {
		t.Fatalf("%d conflicts, conversation %s held by %q; want one conflict and one holder", conflicts, c.State, c.Handoff.Assignee)
	}
	holder, other := ann, bob
	if c.Handoff.Assignee == bob.ID {
		holder, other = bob, ann
	}

	if _, err := h.eng.Do(ctx, id, conversation.OperatorMessage{Operator: holder, Text: "VIP customer", Private: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Do(ctx, id, conversation.OperatorMessage{Operator: holder, Text: "Let me check that for you."}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Do(ctx, id, conversation.OperatorMessage{Operator: other, Text: "me too"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("a line from an operator not holding the conversation: %v, want a conflict", err)
	}
	h.eventually("the operator's line", func() bool { return len(h.ch["tg"].texts()) == 2 })
	if got := h.ch["tg"].texts(); !equal(got, []string{"connecting you", "Let me check that for you."}) {
		t.Errorf("visitor got %q: the private note must not be sent", got)
	}
	if c, err := h.eng.Do(ctx, id, conversation.OperatorClosed{Operator: holder}); err != nil || c.State != conversation.Bot {
		t.Fatalf("close: %v, state %s", err, c.State)
	}
	msgs, _ := h.st.Messages(id, 0, 0)
	var private int
	for _, m := range msgs {
		if m.Private {
			private++
		}
		if m.Role == conversation.RoleOperator && (m.Author == nil || *m.Author != holder) {
			t.Errorf("operator line %q stored with author %v, want %v", m.Text, m.Author, holder)
		}
		if m.Role != conversation.RoleOperator && m.Author != nil {
			t.Errorf("%s line %q has an author %v", m.Role, m.Text, m.Author)
		}
	}
	if private != 1 {
		t.Errorf("%d private notes in the transcript, want 1", private)
	}
	h.ch["desk"].mu.Lock()
	defer h.ch["desk"].mu.Unlock()
	if len(h.ch["desk"].opened)+len(h.ch["desk"].relayed)+len(h.ch["desk"].closed) != 0 {
		t.Error("the console desk made calls to a desk plugin")
	}
}

func TestModelTurnsAreReportedAsThinking(t *testing.T) {
	var mu sync.Mutex
	var got []string
	cfg := testConfig()
	cfg.Thinking = func(convID string, on bool) {
		mu.Lock()
		got = append(got, convID+" "+strconv.FormatBool(on))
		mu.Unlock()
	}
	seen := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	release := make(chan struct{})
	llm := &model{turn: func(int, sdk.ChatRequest) (string, []sdk.ToolCall, error) {
		<-release
		return "Done.", nil, nil
	}}
	h := newHarness(t, cfg, llm)
	id := h.visitor("1", "hi")
	h.eventually("the turn to be reported", func() bool { return len(seen()) > 0 })
	if s := seen(); s[0] != id+" true" {
		t.Fatalf("first report %q, want %q", s[0], id+" true")
	}
	close(release)
	h.eventually("the answer", func() bool { return len(h.ch["tg"].texts()) == 1 })
	h.eventually("the end of the turn", func() bool { s := seen(); return s[len(s)-1] == id+" false" })
	s := seen()
	for _, r := range s[:len(s)-1] {
		if r != id+" true" {
			t.Errorf("reports %q: only the last one may say the turn ended", s)
		}
	}
}

func TestOperatorLinesNameTheirAuthor(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.Desk = "desk"
	h := newHarness(t, cfg, nil)
	id := h.visitor("1", "my parcel is lost")
	h.eventually("the handoff", func() bool { _, _, ok := h.st.DeskRef(id); return ok })
	_, ref, _ := h.st.DeskRef(id)
	h.desk("d1", sdk.KindOperatorMessage, ref, "Bob here, let me look.")
	h.eventually("the operator's line", func() bool { return len(h.transcript(id)) >= 3 })
	msgs, _ := h.st.Messages(id, 0, 0)
	for _, m := range msgs {
		var want *conversation.Operator
		if m.Role == conversation.RoleOperator {
			want = &conversation.Operator{ID: "op1", Name: "Bob"}
		}
		if !reflect.DeepEqual(m.Author, want) {
			t.Errorf("%s line %q: author %+v, want %+v", m.Role, m.Text, m.Author, want)
		}
	}
}

func TestTheVisitorIsToldWhatBecameOfTheHandoff(t *testing.T) {
	for _, deskUp := range []bool{true, false} {
		t.Run(map[bool]string{true: "the desk has it", false: "the desk refuses it"}[deskUp], func(t *testing.T) {
			cfg := testConfig()
			cfg.Rules.Desk = "desk"
			h := newHarness(t, cfg, &model{turn: answer("ok")})
			if !deskUp {
				h.ch["desk"].fail = func(int) error { return sdk.Errorf(sdk.Permanent, "400 unknown department") }
			}
			id := h.visitor("1", "human please")
			if deskUp {
				h.eventually("the announcement", func() bool { return len(h.ch["tg"].texts()) == 1 })
				if got := h.ch["tg"].texts(); got[0] != "connecting you" {
					t.Fatalf("visitor got %q", got)
				}
				h.ch["desk"].mu.Lock()
				opened := len(h.ch["desk"].opened)
				h.ch["desk"].mu.Unlock()
				if opened != 1 {
					t.Fatal("the visitor was told before the desk had the handoff")
				}
				return
			}
			h.eventually("the failure", func() bool { return h.conv(id).State == conversation.Bot })
			h.eventually("the visitor told", func() bool { return len(h.ch["tg"].texts()) == 1 })
			if got := h.ch["tg"].texts(); !equal(got, []string{"missed you"}) {
				t.Errorf("visitor got %q, want only the missed message", got)
			}
			ts, _ := h.st.Transitions(id)
			if last := ts[len(ts)-1]; last.Cause != conversation.CauseDeskFailed {
				t.Errorf("last transition %+v", last)
			}
		})
	}
}

// knowledge is a scripted knowledge base: questions it answers, questions
// it is unsure about, and passages that ground model turns.
type knowledge struct {
	answers  map[string]kb.Hit
	suggests map[string][]kb.Suggestion
	passages []kb.Hit
}

func (k *knowledge) Decide(_ context.Context, q string) (kb.Decision, error) {
	if h, ok := k.answers[q]; ok {
		return kb.Decision{Outcome: kb.Answer, Entry: h, Score: 0.9}, nil
	}
	if s, ok := k.suggests[q]; ok {
		return kb.Decision{Outcome: kb.Suggest, Suggestions: s, Score: 0.4}, nil
	}
	return kb.Decision{Outcome: kb.NoMatch, Score: 0.1}, nil
}

func (k *knowledge) Pick(_ context.Context, reply string, offered []kb.Suggestion) (kb.Decision, bool, error) {
	n, err := strconv.Atoi(reply)
	if err != nil || n < 1 || n > len(offered) {
		return kb.Decision{}, false, nil
	}
	for _, h := range k.answers {
		if h.ID == offered[n-1].ID {
			return kb.Decision{Outcome: kb.Answer, Entry: h}, true, nil
		}
	}
	return kb.Decision{}, false, nil
}

func (k *knowledge) Ground(context.Context, string) (kb.Grounding, error) {
	return kb.Grounding{Passages: k.passages}, nil
}

func TestTheKnowledgeBaseAnswersWithoutAModel(t *testing.T) {
	shipping := kb.Hit{ID: "k1", Title: "How long does shipping take?", Text: "Three to five working days."}
	returns := kb.Hit{ID: "k2", Title: "How do I return an item?", Text: "Within 30 days, from your account page."}
	cfg := testConfig()
	cfg.Rules.Desk = "desk"
	cfg.SuggestMessage = "Did you mean:"
	cfg.Knowledge = &knowledge{
		answers:  map[string]kb.Hit{"how long is shipping": shipping, "returns?": returns},
		suggests: map[string][]kb.Suggestion{"my parcel": {{ID: "k1", Question: shipping.Title}, {ID: "k2", Question: returns.Title}}},
	}
	h := newHarness(t, cfg, nil) // no model

	id := h.visitor("1", "how long is shipping")
	h.eventually("the FAQ answer", func() bool { return len(h.ch["tg"].texts()) == 1 })
	if got := h.ch["tg"].texts()[0]; got != shipping.Text {
		t.Fatalf("visitor got %q", got)
	}
	msgs, _ := h.st.Messages(id, 0, 0)
	if last := msgs[len(msgs)-1]; len(last.Sources) != 1 || last.Sources[0].ID != "k1" {
		t.Errorf("the answer's sources %+v", last.Sources)
	}

	h.visitor("2", "my parcel")
	h.eventually("the offer", func() bool { return len(h.ch["tg"].texts()) == 2 })
	h.ch["tg"].mu.Lock()
	offer := h.ch["tg"].sent[1]
	h.ch["tg"].mu.Unlock()
	if offer.Text != "Did you mean:\n1. How long does shipping take?\n2. How do I return an item?" || len(offer.Choices) != 2 ||
		offer.Choices[1].Text != returns.Title {
		t.Fatalf("offer %q with choices %+v", offer.Text, offer.Choices)
	}
	h.visitor("3", "2")
	h.eventually("the picked answer", func() bool { return len(h.ch["tg"].texts()) == 3 })
	if got := h.ch["tg"].texts()[2]; got != returns.Text {
		t.Fatalf("the pick answered %q", got)
	}
	if c := h.conv(id); c.State != conversation.Bot || len(c.Offered) != 0 {
		t.Errorf("after the pick: %s, offers %+v", c.State, c.Offered)
	}

	h.visitor("4", "do you sell gift cards?")
	h.eventually("the handoff", func() bool { return h.conv(id).State == conversation.WaitingHuman })
	if c := h.conv(id); c.Handoff.Cause != conversation.CauseNoModel {
		t.Errorf("handoff cause %s", c.Handoff.Cause)
	}
	gaps, _ := h.st.KBGaps(10)
	if len(gaps) != 1 || gaps[0].Question != "do you sell gift cards?" {
		t.Errorf("knowledge gaps %+v", gaps)
	}
	// The gap is an event too, in the same commit as the handoff.
	evs, _, err := h.st.EventsAfter(0, 100, func(e *events.Event) bool { return e.Type == events.TypeKBUnanswered })
	if err != nil || len(evs) != 1 || evs[0].ConversationID != id ||
		!strings.Contains(string(evs[0].Payload), `"question":"do you sell gift cards?","reason":"low_score"`) {
		t.Errorf("kb.unanswered events %+v %v", evs, err)
	}
}

func TestAModelTurnIsGroundedInTheKnowledgeBase(t *testing.T) {
	llm := &model{turn: answer("Three to five days.")}
	cfg := testConfig()
	cfg.Knowledge = &knowledge{passages: []kb.Hit{{ID: "k1", Title: "Shipping times", Text: "Orders ship in three to five working days."}}}
	h := newHarness(t, cfg, llm)
	id := h.visitor("1", "how long does shipping take?")
	h.eventually("the answer", func() bool { return len(h.ch["tg"].texts()) == 1 })
	system := llm.calls[0].Messages[0]
	if system.Role != sdk.RoleSystem || !strings.Contains(system.Content, "You are a test.") ||
		!strings.Contains(system.Content, "[k1] Shipping times") || !strings.Contains(system.Content, "three to five working days") {
		t.Errorf("system message %q", system.Content)
	}
	msgs, _ := h.st.Messages(id, 0, 0)
	if last := msgs[len(msgs)-1]; len(last.Sources) != 1 || last.Sources[0] != (conversation.Source{ID: "k1", Title: "Shipping times"}) {
		t.Errorf("the answer's sources %+v", last.Sources)
	}
}
