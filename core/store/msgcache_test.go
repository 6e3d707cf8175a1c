package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/switchboard-chat/switchboard/sdk"
)

func TestMessageCloneSharesNothing(t *testing.T) {
	checkClone(t, Message.clone)
}

// The last lines come from the cache and the store alike, and what a
// reader changes in what it got is not seen by the next reader.
func TestLastMessagesReadThroughTheCache(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	for i, text := range []string{"one", "two", "three"} {
		if _, err := s.CommitEvents(ctx, "tg", []sdk.Event{msg(string(rune('a'+i)), "chat1", text)}); err != nil {
			t.Fatal(err)
		}
	}
	conv, err := s.ConversationByRef("tg", "chat1")
	if err != nil {
		t.Fatal(err)
	}
	texts := func() []string {
		t.Helper()
		ms, err := s.LastMessages(conv.ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := range ms {
			out = append(out, ms[i].Text)
			ms[i].Text = "changed by a reader"
			ms[i].Attachments = append(ms[i].Attachments, sdk.Attachment{Name: "x"})
		}
		return out
	}
	for range 2 { // written (cached at append), then read (cached at read)
		if got := texts(); !reflect.DeepEqual(got, []string{"two", "three"}) {
			t.Fatalf("last messages %v, want two three", got)
		}
	}
	s.msgs = newMsgCache() // as after a restart: decoded from the store
	if got := texts(); !reflect.DeepEqual(got, []string{"two", "three"}) {
		t.Fatalf("last messages without the cache %v, want two three", got)
	}
}
