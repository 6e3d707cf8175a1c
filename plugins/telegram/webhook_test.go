package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	tt "github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
	"github.com/switchboard-chat/switchboard/sdk"
)

func TestWebhookParsing(t *testing.T) {
	ann := tt.User{ID: 777, FirstName: "Ann", LastName: "Lee", Username: "annlee"}
	nick := tt.User{ID: 778, Username: "nick_only"}
	private := tt.PrivateChat(ann)
	group := tt.GroupChat(-100200300, "Support group")
	bot := tt.User{ID: botID, IsBot: true, FirstName: "Bot", Username: botName}
	msg := func(chat tt.Chat, from tt.User, text string) *tt.Message {
		m := tt.TextMessage(42, chat, from, text)
		m.Date = 1700000000
		return m
	}
	withPhoto := msg(private, ann, "")
	withPhoto.Caption = "my receipt"
	withPhoto.Photo = []tt.PhotoSize{
		{FileID: "small", FileUniqueID: "u1", Width: 90, Height: 90, FileSize: 1000},
		{FileID: "large", FileUniqueID: "u2", Width: 1280, Height: 1280, FileSize: 90000},
	}
	withDoc := msg(private, ann, "")
	withDoc.Document = &tt.Document{FileID: "doc1", FileUniqueID: "d1", FileName: "invoice.pdf", MimeType: "application/pdf", FileSize: 12345}
	withSticker := msg(private, ann, "")
	withSticker.Sticker = &tt.Sticker{FileID: "st1", FileUniqueID: "s1", Type: "regular", Width: 512, Height: 512, Emoji: "👍"}
	withVoice := msg(private, ann, "")
	withVoice.Voice = &tt.Voice{FileID: "v1", FileUniqueID: "v1", Duration: 3}
	joined := msg(group, ann, "")
	joined.NewChatMembers = []tt.User{nick}
	replyToBot := msg(group, ann, "and the second one?")
	replyToBot.ReplyToMessage = &tt.Message{MessageID: 41, From: &bot, Chat: group, Date: 1699999999, Text: "Your first order shipped."}
	replyToOther := msg(group, ann, "sure")
	replyToOther.ReplyToMessage = &tt.Message{MessageID: 40, From: &nick, Chat: group, Date: 1699999999, Text: "hi"}
	textMention := msg(group, ann, "Bot, help")
	textMention.Entities = []tt.MessageEntity{{Type: "text_mention", Offset: 0, Length: 3, User: &bot}}
	topic := msg(group, ann, "@"+botName+" hi from a topic")
	topic.IsTopicMessage, topic.MessageThreadID = true, 9
	anonymous := msg(group, tt.User{ID: 1087968824, IsBot: true, FirstName: "Group", Username: "GroupAnonymousBot"}, "@"+botName+" admin here")
	anonymous.SenderChat = &group

	privCtx := map[string]string{"chat_type": "private", "message_id": "42"}
	groupCtx := map[string]string{"chat_type": "supergroup", "message_id": "42"}
	annUser := sdk.User{ID: "777", Name: "Ann Lee"}
	tests := []struct {
		name   string
		update tt.Update
		want   []sdk.Event // Time is not compared
	}{
		{"text", tt.Update{UpdateID: 1, Message: msg(private, ann, "where is my order?")},
			[]sdk.Event{{ID: "1", Kind: sdk.KindMessage, Conversation: "777", User: annUser, Text: "where is my order?", Context: privCtx}}},
		{"username when no name", tt.Update{UpdateID: 2, Message: msg(tt.PrivateChat(nick), nick, "hi")},
			[]sdk.Event{{ID: "2", Kind: sdk.KindMessage, Conversation: "778", User: sdk.User{ID: "778", Name: "nick_only"}, Text: "hi", Context: privCtx}}},
		{"/start", tt.Update{UpdateID: 3, Message: msg(private, ann, "/start")},
			[]sdk.Event{{ID: "3", Kind: sdk.KindFollow, Conversation: "777", User: annUser, Context: privCtx}}},
		{"/start with payload", tt.Update{UpdateID: 4, Message: msg(private, ann, "/start promo-42")},
			[]sdk.Event{{ID: "4", Kind: sdk.KindFollow, Conversation: "777", User: annUser,
				Context: map[string]string{"chat_type": "private", "message_id": "42", "start_payload": "promo-42"}}}},
		{"other command is a message", tt.Update{UpdateID: 5, Message: msg(private, ann, "/help")},
			[]sdk.Event{{ID: "5", Kind: sdk.KindMessage, Conversation: "777", User: annUser, Text: "/help", Context: privCtx}}},
		{"photo with caption", tt.Update{UpdateID: 6, Message: withPhoto},
			[]sdk.Event{{ID: "6", Kind: sdk.KindMessage, Conversation: "777", User: annUser, Text: "my receipt", Context: privCtx,
				Attachments: []sdk.Attachment{{Type: "photo", ID: "large", MIMEType: "image/jpeg", Size: 90000}}}}},
		{"document", tt.Update{UpdateID: 7, Message: withDoc},
			[]sdk.Event{{ID: "7", Kind: sdk.KindMessage, Conversation: "777", User: annUser, Context: privCtx,
				Attachments: []sdk.Attachment{{Type: "document", ID: "doc1", Name: "invoice.pdf", MIMEType: "application/pdf", Size: 12345}}}}},
		{"sticker is unsupported", tt.Update{UpdateID: 8, Message: withSticker},
			[]sdk.Event{{ID: "8", Kind: sdk.KindUnsupported, Conversation: "777", User: annUser, Context: privCtx}}},
		{"voice is unsupported", tt.Update{UpdateID: 9, Message: withVoice},
			[]sdk.Event{{ID: "9", Kind: sdk.KindUnsupported, Conversation: "777", User: annUser, Context: privCtx}}},
		{"edited message is ignored", tt.Update{UpdateID: 10, EditedMessage: msg(private, ann, "fixed typo")}, nil},
		{"button press without its message is ignored", tt.Update{UpdateID: 11, CallbackQuery: &tt.CallbackQuery{ID: "cq", From: ann, ChatInstance: "x", Data: "yes"}}, nil},
		{"button press is a postback", tt.Update{UpdateID: 28, CallbackQuery: &tt.CallbackQuery{ID: "cq2", From: ann, ChatInstance: "x", Data: "rating:4",
			Message: &tt.Message{MessageID: 50, From: &bot, Chat: private, Date: 1700000000, Text: "Rate us"}}},
			[]sdk.Event{{ID: "28", Kind: sdk.KindPostback, Conversation: "777", User: annUser, Text: "rating:4", Context: map[string]string{"chat_type": "private"}}}},
		{"channel post is ignored", tt.Update{UpdateID: 12, ChannelPost: msg(tt.Chat{ID: -1001, Type: "channel"}, ann, "news")}, nil},
		{"group without mention", tt.Update{UpdateID: 13, Message: msg(group, ann, "anyone here?")}, nil},
		{"group mentioning someone else", tt.Update{UpdateID: 14, Message: msg(group, ann, "@nick_only hi")}, nil},
		{"group bare /start", tt.Update{UpdateID: 15, Message: msg(group, ann, "/start")}, nil},
		{"group service message", tt.Update{UpdateID: 16, Message: joined}, nil},
		{"group with mention", tt.Update{UpdateID: 17, Message: msg(group, ann, "@"+botName+" where is my order?")},
			[]sdk.Event{{ID: "17", Kind: sdk.KindMessage, Conversation: "-100200300", User: annUser, Text: "where is my order?", Context: groupCtx}}},
		{"group mention any case, mid-text", tt.Update{UpdateID: 18, Message: msg(group, ann, "hello @Switchboard_Test_Bot 👋 there")},
			[]sdk.Event{{ID: "18", Kind: sdk.KindMessage, Conversation: "-100200300", User: annUser, Text: "hello 👋 there", Context: groupCtx}}},
		{"group reply to the bot", tt.Update{UpdateID: 19, Message: replyToBot},
			[]sdk.Event{{ID: "19", Kind: sdk.KindMessage, Conversation: "-100200300", User: annUser, Text: "and the second one?", Context: groupCtx}}},
		{"group reply to someone else", tt.Update{UpdateID: 20, Message: replyToOther}, nil},
		{"group text_mention", tt.Update{UpdateID: 21, Message: textMention},
			[]sdk.Event{{ID: "21", Kind: sdk.KindMessage, Conversation: "-100200300", User: annUser, Text: "Bot, help", Context: groupCtx}}},
		{"group /start@bot", tt.Update{UpdateID: 22, Message: msg(group, ann, "/start@"+botName)},
			[]sdk.Event{{ID: "22", Kind: sdk.KindFollow, Conversation: "-100200300", User: annUser, Context: groupCtx}}},
		{"group topic", tt.Update{UpdateID: 23, Message: topic},
			[]sdk.Event{{ID: "23", Kind: sdk.KindMessage, Conversation: "-100200300", User: annUser, Text: "hi from a topic",
				Context: map[string]string{"chat_type": "supergroup", "message_id": "42", "thread_id": "9"}}}},
		{"anonymous admin", tt.Update{UpdateID: 24, Message: anonymous},
			[]sdk.Event{{ID: "24", Kind: sdk.KindMessage, Conversation: "-100200300", User: sdk.User{ID: "-100200300", Name: "Support group"}, Text: "admin here", Context: groupCtx}}},
		{"user blocked the bot", tt.Update{UpdateID: 25, MyChatMember: &tt.ChatMemberUpdated{Chat: private, From: ann, Date: 1700000000,
			OldChatMember: tt.ChatMember{Status: "member", User: bot}, NewChatMember: tt.ChatMember{Status: "kicked", User: bot}}},
			[]sdk.Event{{ID: "25", Kind: sdk.KindUnfollow, Conversation: "777", User: annUser, Context: map[string]string{"chat_type": "private"}}}},
		{"bot added to a group", tt.Update{UpdateID: 26, MyChatMember: &tt.ChatMemberUpdated{Chat: group, From: ann,
			OldChatMember: tt.ChatMember{Status: "left", User: bot}, NewChatMember: tt.ChatMember{Status: "member", User: bot}}}, nil},
		{"whitespace only", tt.Update{UpdateID: 27, Message: msg(private, ann, "  \n ")}, nil},
	}
	fake := tt.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.HandleWebhook(context.Background(), hook(testSecret, tc.update.JSON()))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d %s", resp.Status, resp.Body)
			}
			for i := range resp.Events {
				if resp.Events[i].Time.IsZero() && tc.update.Message != nil && tc.update.Message.Date != 0 {
					t.Errorf("event %d has no time", i)
				}
				resp.Events[i].Time = time.Time{}
			}
			if !reflect.DeepEqual(resp.Events, tc.want) {
				t.Errorf("events\n got %+v\nwant %+v", resp.Events, tc.want)
			}
		})
	}
}

// A button press is answered in the webhook's response, which Telegram
// carries out once the daemon has committed the event.
func TestButtonPressIsAnsweredInTheResponse(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	ann := tt.Visitor(777, "Ann")
	press := fake.PressButton(ann, tt.SentMessage{ChatID: 777, MessageID: 5, Text: "Rate us", Time: time.Now()}, "rating:5")
	resp, err := c.HandleWebhook(context.Background(), hook(testSecret, press.JSON()))
	if err != nil || resp.Status != http.StatusOK || len(resp.Events) != 1 {
		t.Fatalf("%d %v %+v", resp.Status, err, resp.Events)
	}
	var body map[string]string
	if err := json.Unmarshal(resp.Body, &body); err != nil || body["method"] != "answerCallbackQuery" || body["callback_query_id"] != press.CallbackQuery.ID {
		t.Errorf("response body %s, want answerCallbackQuery for %s", resp.Body, press.CallbackQuery.ID)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	plain, _ := c.HandleWebhook(context.Background(), hook(testSecret, tt.TextUpdate(30, ann, "hi").JSON()))
	if bytes.Contains(plain.Body, []byte("method")) {
		t.Errorf("a message is answered with %s", plain.Body)
	}
}

func TestWebhookRefusals(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	good := tt.TextUpdate(1, tt.Visitor(777, "Ann"), "hi").JSON()
	tests := []struct {
		name   string
		req    sdk.WebhookRequest
		status int
	}{
		{"missing secret", hook("", good), 401},
		{"wrong secret", hook("s3cret_Token-2", good), 401},
		{"secret prefix", hook(testSecret[:5], good), 401},
		{"malformed JSON", hook(testSecret, []byte(`{"update_id":1,`)), 400},
		{"empty body", hook(testSecret, nil), 400},
		{"trailing data", hook(testSecret, append(append([]byte{}, good...), '{')), 400},
		{"zero update_id", hook(testSecret, []byte(`{"update_id":0,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"text":"x"}}`)), 400},
		{"GET", sdk.WebhookRequest{Method: "GET", Header: http.Header{tt.SecretHeader: {testSecret}}}, 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.HandleWebhook(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tc.status || len(resp.Events) != 0 {
				t.Fatalf("status %d with %d events, want %d and none", resp.Status, len(resp.Events), tc.status)
			}
		})
	}
	t.Run("polling instance refuses webhooks", func(t *testing.T) {
		p := configured(t, options(fake, map[string]any{"mode": "polling"}))
		resp, _ := p.HandleWebhook(context.Background(), hook(testSecret, good))
		if resp.Status != http.StatusConflict || len(resp.Events) != 0 {
			t.Fatalf("status %d, %d events", resp.Status, len(resp.Events))
		}
	})
}

// A group mention before getMe ever answered: the webhook learns the
// username then, or asks Telegram to redeliver.
func TestGroupMentionBeforeGetMe(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	fake.FailNext(tt.MethodGetMe, 1, tt.InternalError)
	c := configured(t, options(fake, nil))
	if u := c.st.Load().identity().Username; u != "" {
		t.Fatalf("username %q known although getMe failed", u)
	}
	ann := tt.Visitor(777, "Ann")
	up := tt.Update{UpdateID: 9, Message: tt.TextMessage(3, tt.GroupChat(-5, "g"), ann, "@"+botName+" hi")}

	fake.FailNext(tt.MethodGetMe, 1, tt.InternalError)
	resp, _ := c.HandleWebhook(context.Background(), hook(testSecret, up.JSON()))
	if resp.Status != http.StatusServiceUnavailable || len(resp.Events) != 0 {
		t.Fatalf("while getMe fails: status %d, %d events", resp.Status, len(resp.Events))
	}
	resp, _ = c.HandleWebhook(context.Background(), hook(testSecret, up.JSON()))
	if resp.Status != http.StatusOK || len(resp.Events) != 1 || resp.Events[0].Text != "hi" {
		t.Fatalf("after getMe answers: status %d, events %+v", resp.Status, resp.Events)
	}
}
