package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/ollama/ollamatest"
	tt "github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
)

const (
	tgToken  = "4242:integration-TOKEN_x"
	tgSecret = "it-secret_1"
)

// telegramChannel is a [channels.tg] instance of the telegram plugin
// against the fake Bot API at apiBase.
func telegramChannel(apiBase, mode string) string {
	cfg := fmt.Sprintf(`
[channels.tg]
plugin = "telegram"
[channels.tg.options]
token = %q
api_base = %q
mode = %q
`, tgToken, apiBase, mode)
	if mode == "webhook" {
		cfg += fmt.Sprintf("secret_token = %q\n", tgSecret)
	}
	return cfg
}

// echoModel answers "You said: <last visitor line>".
func echoModel(t *testing.T) string {
	fake := ollamatest.New(model)
	fake.Reply = func(r ollamatest.ChatRequest) ollamatest.Response {
		return ollamatest.Text("You said: " + r.LastUser())
	}
	return fake.Start(t)
}

func postTelegram(t *testing.T, d *daemon, u tt.Update) {
	t.Helper()
	code, err := tt.PostUpdate(d.URL+"/webhooks/tg", tgSecret, u)
	if err != nil || code != 200 {
		t.Fatalf("webhook: %d %v", code, err)
	}
}

func sentTexts(msgs []tt.SentMessage) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return out
}

// A Telegram update is answered on the visitor's chat, once even when
// Telegram redelivers it; a rate-limited reply waits for retry_after and
// still arrives exactly once; /start is greeted and a sticker gets the
// polite "text only" answer.
func TestTelegramWebhookReplies(t *testing.T) {
	fake := tt.NewServer(t, tgToken)
	model := ollamatest.New(model)
	model.Reply = func(r ollamatest.ChatRequest) ollamatest.Response {
		res := ollamatest.Text("You said: " + r.LastUser())
		if r.LastUser() == "and my refund?" {
			res.Delay = 2 * time.Second // long enough for the typing indicator
		}
		return res
	}
	d := startDaemon(t, llmConfig(model.Start(t))+telegramChannel(fake.URL(), "webhook"))
	ann := tt.Visitor(5550001, "Ann")

	hello := tt.TextUpdate(fake.NextUpdateID(), ann, "where is my order?")
	postTelegram(t, d, hello)
	got := fake.WaitSent(t, ann.ID, 1, 15*time.Second)
	if got[0].Text != "You said: where is my order?" || got[0].ParseMode != "" {
		t.Fatalf("sent %+v", got[0])
	}

	postTelegram(t, d, hello) // Telegram's redelivery of the same update
	time.Sleep(700 * time.Millisecond)
	if n := len(fake.Sent(ann.ID)); n != 1 {
		t.Fatalf("%d replies after a redelivered update, want 1: %q", n, sentTexts(fake.Sent(ann.ID)))
	}

	fake.FailNext(tt.MethodSendMessage, 1, tt.Failure{Status: 429, RetryAfter: 2})
	start := time.Now()
	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), ann, "and my refund?"))
	got = fake.WaitSent(t, ann.ID, 2, 15*time.Second)
	if waited := got[1].Time.Sub(start); waited < 2*time.Second {
		t.Errorf("rate-limited reply arrived after %v, before retry_after 2s", waited)
	}
	if got[1].Text != "You said: and my refund?" {
		t.Errorf("second reply %q", got[1].Text)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(fake.Sent(ann.ID)); n != 2 {
		t.Fatalf("%d replies, want 2 (the rate-limited one exactly once): %q", n, sentTexts(fake.Sent(ann.ID)))
	}

	bob := tt.Visitor(5550002, "Bob")
	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), bob, "/start"))
	if got := fake.WaitSent(t, bob.ID, 1, 15*time.Second); got[0].Text != "Hello! How can I help you today?" {
		t.Errorf("greeting %q", got[0].Text)
	}
	sticker := tt.Update{UpdateID: fake.NextUpdateID(), Message: &tt.Message{
		MessageID: 2, From: &bob, Date: time.Now().Unix(), Chat: tt.PrivateChat(bob),
		Sticker: &tt.Sticker{FileID: "st", FileUniqueID: "st", Type: "regular", Width: 512, Height: 512},
	}}
	postTelegram(t, d, sticker)
	if got := fake.WaitSent(t, bob.ID, 2, 15*time.Second); !strings.Contains(got[1].Text, "text") {
		t.Errorf("answer to a sticker %q", got[1].Text)
	}
	if len(fake.Actions(ann.ID)) == 0 {
		t.Error("no typing indicator was shown while the model worked")
	}
}

// A Telegram visitor asking for a human reaches the desk with the
// transcript, and the operator's reply arrives in Telegram.
func TestTelegramHandoffToDesk(t *testing.T) {
	fake := tt.NewServer(t, tgToken)
	desk := newFakeDesk(t)
	d := startDaemon(t, llmConfig(echoModel(t))+deskConfig(desk.URL)+telegramChannel(fake.URL(), "webhook"))
	ann := tt.Visitor(5550003, "Ann")

	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), ann, "my parcel is damaged"))
	fake.WaitSent(t, ann.ID, 1, 15*time.Second)
	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), ann, "I want a human"))
	deadline := time.Now().Add(15 * time.Second)
	for desk.openedCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if desk.openedCount() != 1 {
		t.Fatal("the desk did not get the handoff")
	}
	desk.mu.Lock()
	opened := desk.opened[0]
	desk.mu.Unlock()
	tr, _ := json.Marshal(opened["transcript"])
	for _, want := range []string{"my parcel is damaged", "You said: my parcel is damaged", "I want a human"} {
		if !strings.Contains(string(tr), want) {
			t.Errorf("desk transcript lacks %q: %s", want, tr)
		}
	}
	if opened["channel"] != "tg" {
		t.Errorf("handoff channel %v", opened["channel"])
	}
	convID := opened["conversation_id"].(string)

	deskEvent(t, d, `{"id":"tg-op1","type":"operator_joined","ref":"T-1","operator":"Bob"}`)
	deskEvent(t, d, `{"id":"tg-op2","type":"operator_message","ref":"T-1","operator":"Bob","text":"Hi Ann, Bob here. Sorry about the parcel."}`)
	waitState(t, d, convID, "human")
	deadline = time.Now().Add(15 * time.Second)
	for {
		texts := sentTexts(fake.Sent(ann.ID))
		if strings.Contains(strings.Join(texts, "\n"), "Hi Ann, Bob here. Sorry about the parcel.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Telegram got %q", texts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// In polling mode an update queued at Telegram is answered, and a daemon
// restart neither loses nor repeats anything.
func TestTelegramPolling(t *testing.T) {
	fake := tt.NewServer(t, tgToken)
	fake.SetWebhook("https://old-deployment.example.com/hook") // polling must remove it
	d := startDaemon(t, llmConfig(echoModel(t))+telegramChannel(fake.URL(), "polling"))
	ann := tt.Visitor(5550004, "Ann")

	fake.Enqueue(tt.TextUpdate(0, ann, "hello"))
	fake.WaitSent(t, ann.ID, 1, 15*time.Second)
	if fake.Webhook().URL != "" {
		t.Error("the webhook is still set")
	}

	// The next getUpdates calls fail, so Telegram never hears that the
	// next update was taken: the restarted plugin reads it again.
	fake.FailNext(tt.MethodGetUpdates, 1000, tt.InternalError)
	fake.Enqueue(tt.TextUpdate(0, ann, "hello by polling")) // answers the long poll already waiting
	got := fake.WaitSent(t, ann.ID, 2, 15*time.Second)
	if got[1].Text != "You said: hello by polling" {
		t.Fatalf("reply %q", got[1].Text)
	}
	if fake.Pending() != 1 {
		t.Fatalf("%d updates unconfirmed at Telegram, want 1", fake.Pending())
	}
	d.stop()
	fake.ClearFailures()
	d.start()
	deadline := time.Now().Add(15 * time.Second)
	for fake.Pending() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if fake.Pending() != 0 {
		t.Fatal("the restarted daemon did not read the unconfirmed update again")
	}
	fake.Enqueue(tt.TextUpdate(0, ann, "after restart"))
	fake.WaitSent(t, ann.ID, 3, 15*time.Second)
	time.Sleep(700 * time.Millisecond)
	want := []string{"You said: hello", "You said: hello by polling", "You said: after restart"}
	if texts := sentTexts(fake.Sent(ann.ID)); strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q (one per update)", texts, want)
	}
}
