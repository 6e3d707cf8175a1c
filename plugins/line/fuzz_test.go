package main

import (
	"context"
	"testing"

	"github.com/switchboard-chat/switchboard/plugins/line/linetest"
)

// FuzzWebhook feeds arbitrary bodies, signed and unsigned, to the webhook
// handler: it must never panic, a 4xx must carry no events, and every
// event must have an ID, a kind and a conversation.
func FuzzWebhook(f *testing.F) {
	for _, seed := range []string{
		wrap(textEvent), wrap(followEvent, unfollowEvent), wrap(groupEvent, imageEvent, fileEvent),
		wrap(stickerEvent, locationEvent, editEvent, standbyEvent, postbackEvent),
		`{"destination":"x","events":[]}`, `{"events":null}`, `{"events":[null,1,"x",{}]}`,
		`{"events":[{"type":"message","webhookEventId":"e","source":{"type":"user"}}]}`,
		`{"events":[{"type":"message","webhookEventId":"e","source":{"type":"group","groupId":"C1"},"message":{"type":"image","fileSize":"big"}}]}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	c := newTestChannel()
	if err := configureForFuzz(c); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, sign bool) {
		sig := ""
		if sign {
			sig = linetest.Sign(testSecret, body)
		}
		req := withSignature(string(body), sig)
		resp, err := c.HandleWebhook(context.Background(), req)
		if err != nil {
			t.Fatalf("error %v", err)
		}
		if !sign && resp.Status != 401 {
			t.Fatalf("unsigned body got status %d", resp.Status)
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
