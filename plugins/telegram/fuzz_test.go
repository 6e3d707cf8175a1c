package main

import (
	"context"
	"testing"

	tt "github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
)

// FuzzWebhook feeds arbitrary bodies (with the right secret) to the webhook
// parser: it must never panic, a 4xx must carry no events, and every event
// must have an ID, a kind and a conversation.
func FuzzWebhook(f *testing.F) {
	ann := tt.Visitor(777, "Ann")
	group := tt.GroupChat(-100, "g")
	seeds := []tt.Update{
		tt.TextUpdate(1, ann, "hello"),
		tt.TextUpdate(2, ann, "/start promo"),
		{UpdateID: 3, Message: tt.TextMessage(3, group, ann, "@"+botName+" 👋 hi")},
		{UpdateID: 4, EditedMessage: tt.TextMessage(4, tt.PrivateChat(ann), ann, "x")},
	}
	for _, s := range seeds {
		f.Add(s.JSON())
	}
	f.Add([]byte(`{"update_id":5,"message":{"message_id":1,"chat":{"id":-1,"type":"group"},"text":"ab","entities":[{"type":"mention","offset":1,"length":99}]}}`))
	f.Add([]byte(`{"update_id":6,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"photo":[]}}`))
	f.Add([]byte(`{"update_id":`))
	f.Add([]byte(`null`))

	fake := tt.New(testToken).Start(f)
	c := newChannel(nil)
	if err := configure(c, options(fake, nil)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := c.HandleWebhook(context.Background(), hook(testSecret, body))
		if err != nil {
			t.Fatalf("error %v", err)
		}
		if resp.Status >= 400 && len(resp.Events) > 0 {
			t.Fatalf("status %d with %d events", resp.Status, len(resp.Events))
		}
		for _, e := range resp.Events {
			if e.ID == "" || e.Kind == "" || e.Conversation == "" {
				t.Fatalf("incomplete event %+v", e)
			}
		}
	})
}
