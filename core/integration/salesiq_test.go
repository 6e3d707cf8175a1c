package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/ollama/ollamatest"
	"github.com/switchboard-chat/switchboard/plugins/salesiq/siqtest"
	tt "github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
)

const siqConv = "11209000000009001"

// siqCallback waits for a callback answering requestID.
func siqCallback(t *testing.T, f *siqtest.Fake, requestID string) siqtest.Callback {
	t.Helper()
	var got siqtest.Callback
	siqtest.WaitFor(t, 15*time.Second, "a callback for "+requestID, func() bool {
		for _, c := range f.Callbacks() {
			if c.RequestID == requestID && c.Kind == "response" {
				got = c
				return true
			}
		}
		return false
	})
	return got
}

// siqPost posts a signed webhook and checks the status.
func siqPost(t *testing.T, f *siqtest.Fake, d *daemon, body []byte, want int) []byte {
	t.Helper()
	start := time.Now()
	status, resp, err := f.Post(d.URL+"/webhooks/siq", body, "")
	if err != nil {
		t.Fatal(err)
	}
	if status != want {
		t.Fatalf("webhook status %d, want %d: %s", status, want, resp)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the webhook took %v; SalesIQ gives up after 5s", took)
	}
	return resp
}

func siqConversationID(t *testing.T, d *daemon) string {
	t.Helper()
	var list struct {
		Conversations []conversation `json:"conversations"`
	}
	d.do("GET", "/v1/conversations?limit=100", nil, &list)
	for _, c := range list.Conversations {
		if c.Channel == "siq" {
			return c.ID
		}
	}
	t.Fatal("no siq conversation")
	return ""
}

func TestSalesIQZobotReplyArrivesOnTheCallback(t *testing.T) {
	fake := ollamatest.New(model)
	fake.Reply = func(ollamatest.ChatRequest) ollamatest.Response { return ollamatest.Text("Your order ships today.") }
	siq := siqtest.New(t)
	d := startDaemon(t, llmConfig(fake.Start(t))+siq.TOML("siq"))

	resp := siqPost(t, siq, d, siqtest.ZobotMessage("req-1", siqConv, "v1", "where is my order?"), 200)
	var answer struct {
		Action string `json:"action"`
	}
	if err := json.Unmarshal(resp, &answer); err != nil || answer.Action != "pending" {
		t.Fatalf("webhook answer %s", resp)
	}
	cb := siqCallback(t, siq, "req-1")
	if cb.Action() != "reply" || len(cb.Replies()) != 1 || cb.Replies()[0] != "Your order ships today." {
		t.Fatalf("callback %+v", cb.Body)
	}
	if req, _ := fake.LastRequest(); req.LastUser() != "where is my order?" {
		t.Errorf("the model got %q", req.LastUser())
	}
}

func TestSalesIQHandoffForwardsToTheDepartment(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		reply func(ollamatest.ChatRequest) ollamatest.Response
		calls int
	}{
		{"keyword", "I want a human", func(ollamatest.ChatRequest) ollamatest.Response { return ollamatest.Text("no") }, 0},
		{"tool call", "refund 5000 please", func(ollamatest.ChatRequest) ollamatest.Response {
			return ollamatest.Call("transfer_to_human", map[string]any{"reason": "refund above my limit"})
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := ollamatest.New(model)
			fake.Reply = tt.reply
			siq := siqtest.New(t)
			d := startDaemon(t, llmConfig(fake.Start(t))+siq.TOML("siq"))

			siqPost(t, siq, d, siqtest.ZobotMessage("req-h", siqConv, "v1", tt.text), 200)
			cb := siqCallback(t, siq, "req-h")
			if cb.Action() != "forward" || cb.Body["department"] != siqtest.DepartmentID || len(cb.Replies()) != 1 {
				t.Fatalf("callback %+v", cb.Body)
			}
			if fake.Calls() != tt.calls {
				t.Errorf("%d model calls, want %d", fake.Calls(), tt.calls)
			}
			id := siqConversationID(t, d)
			waitState(t, d, id, "waiting_human")

			// SalesIQ reports the operator on the visitor's own chat.
			siqPost(t, siq, d, siqtest.AttenderUpdated(siqConv, "Bob"), 200)
			c := waitState(t, d, id, "human")
			if c.Handoff == nil || c.Handoff.Operator != "Bob" {
				t.Errorf("handoff %+v", c.Handoff)
			}
		})
	}
}

func TestSalesIQNoOperatorsIsMissed(t *testing.T) {
	fake := ollamatest.New(model)
	siq := siqtest.New(t)
	d := startDaemon(t, llmConfig(fake.Start(t))+siq.TOML("siq"))
	siqPost(t, siq, d, siqtest.ZobotMessage("req-1", siqConv, "v1", "human please"), 200)
	siqCallback(t, siq, "req-1")
	siqPost(t, siq, d, siqtest.ZobotFailure("fail-1", siqConv, "v1", 1002), 200)
	cb := siqCallback(t, siq, "fail-1")
	if cb.Action() != "reply" || !strings.Contains(cb.Replies()[0], "no colleague is available") {
		t.Fatalf("missed answer %+v", cb.Body)
	}
	waitState(t, d, siqConversationID(t, d), "bot")
}

func TestSalesIQSignatures(t *testing.T) {
	fake := ollamatest.New(model)
	fake.Reply = func(ollamatest.ChatRequest) ollamatest.Response { return ollamatest.Text("hello") }
	siq := siqtest.New(t)
	other := siqtest.NewKey(t)
	cfg := strings.Replace(siq.TOML("siq"), "public_keys = [", "public_keys = ["+`"`+siqtest.PublicKeyDER(other)+`", `, 1)
	d := startDaemon(t, llmConfig(fake.Start(t))+cfg)

	body := siqtest.ZobotMessage("req-bad", siqConv, "v1", "hi")
	for name, sig := range map[string]string{
		"unknown key": siqtest.Sign(siqtest.NewKey(t), body),
		"unsigned":    "-",
		"tampered":    siqtest.Sign(siq.Key, []byte(strings.Replace(string(body), "hi", "ho", 1))),
	} {
		status, _, err := siq.Post(d.URL+"/webhooks/siq", body, sig)
		if err != nil || status != 401 {
			t.Errorf("%s: status %d, err %v", name, status, err)
		}
	}
	// The second of the two configured keys verifies.
	siqPost(t, siq, d, siqtest.ZobotMessage("req-ok", siqConv, "v1", "hi"), 200)
	siqCallback(t, siq, "req-ok")
	if fake.Calls() != 1 {
		t.Errorf("%d model calls: rejected webhooks reached the model", fake.Calls())
	}
	for _, c := range siq.Callbacks() {
		if c.RequestID == "req-bad" {
			t.Errorf("a rejected webhook was answered: %+v", c)
		}
	}
}

// A visitor on another channel (the echo channel standing in for Telegram)
// is handed to SalesIQ as the desk.
func TestSalesIQAsTheDesk(t *testing.T) {
	fake := ollamatest.New(model)
	fake.Reply = func(ollamatest.ChatRequest) ollamatest.Response { return ollamatest.Text("I can help with that.") }
	siq := siqtest.New(t)
	target := newFakeTarget(t)
	d := startDaemon(t, llmConfig(fake.Start(t))+siq.TOML("siq")+echoChannel(target.URL)+"\n[handoff]\ndesk = \"siq\"\n")

	postWebhook(t, d.URL, "demo", `{"id":"v1","chat":"room-9","user":"u9","name":"Ann","text":"hello"}`)
	postWebhook(t, d.URL, "demo", `{"id":"v2","chat":"room-9","user":"u9","name":"Ann","text":"I want a human"}`)
	siqtest.WaitFor(t, 15*time.Second, "the visitor-API conversation", func() bool { return len(siq.Conversations()) == 1 })
	conv := siq.Conversations()[0]
	q := conv.Question()
	for _, want := range []string{"hello", "I can help with that.", "I want a human"} {
		if !strings.Contains(q, want) {
			t.Errorf("question lacks %q: %s", want, q)
		}
	}
	if v, _ := conv.Body["visitor"].(map[string]any); v["user_id"] != "demo:u9" || v["name"] != "Ann" {
		t.Errorf("visitor %v", conv.Body["visitor"])
	}

	siqPost(t, siq, d, siqtest.AttenderUpdated(conv.ID, "Bob"), 200)
	siqPost(t, siq, d, siqtest.OperatorReplied(conv.ID, "m1", "operator", "Bob", "Hi Ann, Bob here."), 200)
	waitEcho := func(text string) {
		t.Helper()
		siqtest.WaitFor(t, 15*time.Second, "the visitor to get "+text, func() bool {
			for _, r := range target.received() {
				if r["text"] == "echo: "+text {
					return true
				}
			}
			return false
		})
	}
	waitEcho("Hi Ann, Bob here.")

	calls := fake.Calls()
	postWebhook(t, d.URL, "demo", `{"id":"v3","chat":"room-9","user":"u9","text":"thanks Bob"}`)
	siqtest.WaitFor(t, 15*time.Second, "the relay", func() bool {
		c := siq.Conversations()[0]
		return len(c.Messages) == 1 && c.Messages[0] == "thanks Bob"
	})
	if fake.Calls() != calls {
		t.Error("the model was asked during the handoff")
	}

	siqPost(t, siq, d, siqtest.Completed(conv.ID), 200)
	waitEcho("Our colleague has ended the conversation. I'm here if you need anything else.")
	var list struct {
		Conversations []conversation `json:"conversations"`
	}
	d.do("GET", "/v1/conversations?limit=100", nil, &list)
	for _, c := range list.Conversations {
		if c.Channel == "demo" {
			waitState(t, d, c.ID, "bot")
		}
	}
}

// Cross-channel: a Telegram visitor asks for a human, SalesIQ gets a
// visitor-API conversation with the transcript, the operator's reply reaches
// Telegram, the visitor's next line is relayed into SalesIQ, and the
// completed chat tells the visitor and returns to the bot.
func TestTelegramVisitorWithSalesIQDesk(t *testing.T) {
	tg := tt.NewServer(t, tgToken)
	siq := siqtest.New(t)
	d := startDaemon(t, llmConfig(echoModel(t))+siq.TOML("siq")+telegramChannel(tg.URL(), "webhook")+"\n[handoff]\ndesk = \"siq\"\n")
	ann := tt.Visitor(5550099, "Ann")

	postTelegram(t, d, tt.TextUpdate(tg.NextUpdateID(), ann, "my parcel is damaged"))
	tg.WaitSent(t, ann.ID, 1, 15*time.Second)
	postTelegram(t, d, tt.TextUpdate(tg.NextUpdateID(), ann, "human"))
	siqtest.WaitFor(t, 15*time.Second, "the visitor-API conversation", func() bool { return len(siq.Conversations()) == 1 })
	conv := siq.Conversations()[0]
	q := conv.Question()
	for _, want := range []string{"my parcel is damaged", "You said: my parcel is damaged", "human"} {
		if !strings.Contains(q, want) {
			t.Errorf("question lacks %q: %s", want, q)
		}
	}
	if v, _ := conv.Body["visitor"].(map[string]any); v["user_id"] != fmt.Sprintf("tg:%d", ann.ID) {
		t.Errorf("visitor %v", conv.Body["visitor"])
	}

	waitTelegram := func(text string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(strings.Join(sentTexts(tg.Sent(ann.ID)), "\n"), text) {
			if time.Now().After(deadline) {
				t.Fatalf("Telegram never got %q: %q", text, sentTexts(tg.Sent(ann.ID)))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	siqPost(t, siq, d, siqtest.OperatorReplied(conv.ID, "m1", "operator", "Bob", "Hi Ann, Bob here."), 200)
	waitTelegram("Hi Ann, Bob here.")

	postTelegram(t, d, tt.TextUpdate(tg.NextUpdateID(), ann, "thanks Bob"))
	siqtest.WaitFor(t, 15*time.Second, "the relay into SalesIQ", func() bool {
		c := siq.Conversations()[0]
		return len(c.Messages) == 1 && c.Messages[0] == "thanks Bob"
	})

	siqPost(t, siq, d, siqtest.Completed(conv.ID), 200)
	waitTelegram("Our colleague has ended the conversation.")
	var list struct {
		Conversations []conversation `json:"conversations"`
	}
	d.do("GET", "/v1/conversations?limit=100", nil, &list)
	for _, c := range list.Conversations {
		if c.Channel == "tg" {
			waitState(t, d, c.ID, "bot")
		}
	}
}

// The model names the department in transfer_to_human (its tool offers
// the configured ones): the Zobot forwards the visitor to that
// department's SalesIQ id.
func TestSalesIQHandoffGoesToTheRoutedDepartment(t *testing.T) {
	fake := ollamatest.New(model)
	var params string
	fake.Reply = func(req ollamatest.ChatRequest) ollamatest.Response {
		if tool, ok := req.Tool("transfer_to_human"); ok {
			params = string(tool.Function.Parameters)
		}
		return ollamatest.Call("transfer_to_human", map[string]any{"reason": "a charge twice", "department": "billing", "priority": "high"})
	}
	siq := siqtest.New(t)
	d := startDaemon(t, llmConfig(fake.Start(t))+siq.TOML("siq")+`
[[departments]]
name = "general"
[[departments]]
name = "billing"
desk_id = "11209000000007777"
`)
	siqPost(t, siq, d, siqtest.ZobotMessage("req-r", siqConv, "v1", "I was charged twice"), 200)
	cb := siqCallback(t, siq, "req-r")
	if cb.Action() != "forward" || cb.Body["department"] != "11209000000007777" {
		t.Fatalf("callback %+v", cb.Body)
	}
	if !strings.Contains(params, `"general"`) || !strings.Contains(params, `"billing"`) {
		t.Errorf("the tool's parameters %s do not offer the departments", params)
	}
	c := waitState(t, d, siqConversationID(t, d), "waiting_human")
	if c.Handoff == nil {
		t.Fatal("no handoff")
	}
}
