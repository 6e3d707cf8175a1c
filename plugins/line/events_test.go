package main

import (
	"context"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// wrap puts event objects into a webhook body.
func wrap(events ...string) string {
	body := `{"destination":"Uxxxxxxxxxx","events":[`
	for i, e := range events {
		if i > 0 {
			body += ","
		}
		body += e
	}
	return body + "]}"
}

// Event objects in the shapes of LINE's reference examples.
const (
	textEvent     = `{"type":"message","message":{"type":"text","id":"14353798921116","text":"Hello, world","quoteToken":"q3Plxr4AgKd"},"timestamp":1625665242211,"source":{"type":"user","userId":"U80696558e1aa831"},"replyToken":"757913772c4646b784d4b7ce46d12671","mode":"active","webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR","deliveryContext":{"isRedelivery":false}}`
	followEvent   = `{"type":"follow","timestamp":1625665242214,"source":{"type":"user","userId":"Ufc729a925b3abef"},"replyToken":"bb173f4d9cf64aed9d408ab4e36339ad","mode":"active","webhookEventId":"01FZ74ASS536FW97EX38NKCZQK","deliveryContext":{"isRedelivery":false},"follow":{"isUnblocked":false}}`
	unfollowEvent = `{"type":"unfollow","timestamp":1625665242215,"source":{"type":"user","userId":"Ubbd4f124aee5113"},"mode":"active","webhookEventId":"01FZ74B5Y0F4TNKA5SCAVKPEDM","deliveryContext":{"isRedelivery":false}}`
	imageEvent    = `{"type":"message","message":{"type":"image","id":"354718705033693859","quoteToken":"q3Plxr4AgKd","contentProvider":{"type":"line"},"imageSet":{"id":"E005","index":1,"total":2}},"timestamp":1627356924513,"source":{"type":"user","userId":"U4af4980629"},"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3Z1","deliveryContext":{"isRedelivery":false},"replyToken":"7840b71058e24a5d91f9b5726c7512c9","mode":"active"}`
	fileEvent     = `{"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA","type":"message","mode":"active","timestamp":1462629479859,"source":{"type":"user","userId":"U4af4980629"},"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3Z2","deliveryContext":{"isRedelivery":false},"message":{"id":"325708","type":"file","fileName":"file.txt","fileSize":2138}}`
	videoEvent    = `{"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA","type":"message","mode":"active","timestamp":1462629479859,"source":{"type":"user","userId":"U4af4980629"},"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3Z3","deliveryContext":{"isRedelivery":false},"message":{"id":"325709","type":"video","duration":60000,"contentProvider":{"type":"external","originalContentUrl":"https://example.com/original.mp4","previewImageUrl":"https://example.com/preview.jpg"}}}`
	groupEvent    = `{"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA","type":"message","mode":"active","timestamp":1462629479859,"source":{"type":"group","groupId":"Ca56f94637c","userId":"U4af4980629"},"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3Z4","deliveryContext":{"isRedelivery":false},"message":{"id":"444573844083572737","type":"text","quoteToken":"q3Plxr4AgKd","text":"@All Good Morning!! (love)"}}`
	roomEvent     = `{"replyToken":"r1","type":"message","mode":"active","timestamp":1462629479859,"source":{"type":"room","roomId":"Ra8dbf4673c","userId":"U4af4980629"},"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3Z5","deliveryContext":{"isRedelivery":false},"message":{"id":"1","type":"text","quoteToken":"q","text":"hi room"}}`
	stickerEvent  = `{"type":"message","message":{"type":"sticker","id":"1501597916","quoteToken":"q","stickerId":"52002738","packageId":"11537","stickerResourceType":"ANIMATION"},"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3Z6","deliveryContext":{"isRedelivery":false},"timestamp":1625665242211,"source":{"type":"user","userId":"U4af4980629"},"replyToken":"rs","mode":"active"}`
	locationEvent = `{"type":"message","message":{"id":"325710","type":"location","title":"my location","address":"1-3 Kioicho, Chiyoda-ku, Tokyo","latitude":35.67966,"longitude":139.73669},"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3Z7","deliveryContext":{"isRedelivery":false},"timestamp":1625665242211,"source":{"type":"user","userId":"U4af4980629"},"replyToken":"rl","mode":"active"}`
	redelivered   = `{"type":"message","message":{"type":"text","id":"14353798921116","text":"Hello, world","quoteToken":"q3Plxr4AgKd"},"timestamp":1625665242211,"source":{"type":"user","userId":"U80696558e1aa831"},"replyToken":"757913772c4646b784d4b7ce46d12671","mode":"active","webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR","deliveryContext":{"isRedelivery":true}}`
	editEvent     = `{"type":"messageEdited","replyToken":"950e63e8f46542ab89f645b4c2a1180a","message":{"type":"text","id":"610830548529053697","quoteToken":"XyiyoB3R1BA","text":"Edited message"},"webhookEventId":"01KPW6071XGPXPAF4XCN96XEAN","deliveryContext":{"isRedelivery":false},"timestamp":1776914799524,"source":{"type":"user","userId":"U4af4980629"},"mode":"active"}`
	standbyEvent  = `{"type":"message","message":{"type":"text","id":"1","text":"module has it","quoteToken":"q"},"timestamp":1625665242211,"source":{"type":"user","userId":"U4af4980629"},"mode":"standby","webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3Z8","deliveryContext":{"isRedelivery":false}}`
	postbackEvent = `{"replyToken":"b60d432864f44d079f6d8efe86cf404b","type":"postback","mode":"active","source":{"userId":"U91eeaf62d","type":"user"},"timestamp":1513669370317,"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3Z9","deliveryContext":{"isRedelivery":false},"postback":{"data":"storeId=12345"}}`
	joinEvent     = `{"replyToken":"0f3779fba3b349968c5d07db31eab56f","type":"join","mode":"active","timestamp":1462629479859,"source":{"type":"group","groupId":"C4af4980629"},"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZA","deliveryContext":{"isRedelivery":false}}`
	unsendEvent   = `{"type":"unsend","mode":"active","timestamp":1462629479859,"source":{"type":"group","groupId":"Ca56f94637c","userId":"U4af4980629"},"webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZB","deliveryContext":{"isRedelivery":false},"unsend":{"messageId":"325708"}}`
)

func TestWebhookEvents(t *testing.T) {
	c := configured(t, "http://127.0.0.1:1", nil)
	userCtx := func(token string, at int64, redelivery string) map[string]string {
		m := map[string]string{ctxSourceType: "user", ctxReplyToken: token, ctxReplyTokenAt: "", ctxRedelivery: redelivery}
		if token != "" {
			m[ctxReplyTokenAt] = itoa(at)
		}
		return m
	}
	tests := []struct {
		name string
		body string
		want []sdk.Event
	}{
		{"text", wrap(textEvent), []sdk.Event{{
			ID: "01FZ74A0TDDPYRVKNK77XKC3ZR", Kind: sdk.KindMessage, Conversation: "U80696558e1aa831",
			User: sdk.User{ID: "U80696558e1aa831"}, Text: "Hello, world", Time: ms(1625665242211),
			Context: userCtx("757913772c4646b784d4b7ce46d12671", 1625665242211, "false"),
		}}},
		{"image", wrap(imageEvent), []sdk.Event{{
			ID: "01FZ74A0TDDPYRVKNK77XKC3Z1", Kind: sdk.KindMessage, Conversation: "U4af4980629", User: sdk.User{ID: "U4af4980629"},
			Attachments: []sdk.Attachment{{Type: "image", ID: "354718705033693859"}}, Time: ms(1627356924513),
			Context: userCtx("7840b71058e24a5d91f9b5726c7512c9", 1627356924513, "false"),
		}}},
		{"file", wrap(fileEvent), []sdk.Event{{
			ID: "01FZ74A0TDDPYRVKNK77XKC3Z2", Kind: sdk.KindMessage, Conversation: "U4af4980629", User: sdk.User{ID: "U4af4980629"},
			Attachments: []sdk.Attachment{{Type: "file", ID: "325708", Name: "file.txt", Size: 2138}}, Time: ms(1462629479859),
			Context: userCtx("nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", 1462629479859, "false"),
		}}},
		{"external video", wrap(videoEvent), []sdk.Event{{
			ID: "01FZ74A0TDDPYRVKNK77XKC3Z3", Kind: sdk.KindMessage, Conversation: "U4af4980629", User: sdk.User{ID: "U4af4980629"},
			Attachments: []sdk.Attachment{{Type: "video", ID: "325709", URL: "https://example.com/original.mp4"}}, Time: ms(1462629479859),
			Context: userCtx("nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", 1462629479859, "false"),
		}}},
		{"follow", wrap(followEvent), []sdk.Event{{
			ID: "01FZ74ASS536FW97EX38NKCZQK", Kind: sdk.KindFollow, Conversation: "Ufc729a925b3abef", User: sdk.User{ID: "Ufc729a925b3abef"},
			Time: ms(1625665242214), Context: userCtx("bb173f4d9cf64aed9d408ab4e36339ad", 1625665242214, "false"),
		}}},
		{"unfollow clears the reply token", wrap(unfollowEvent), []sdk.Event{{
			ID: "01FZ74B5Y0F4TNKA5SCAVKPEDM", Kind: sdk.KindUnfollow, Conversation: "Ubbd4f124aee5113", User: sdk.User{ID: "Ubbd4f124aee5113"},
			Time: ms(1625665242215), Context: userCtx("", 0, "false"),
		}}},
		{"group message", wrap(groupEvent), []sdk.Event{{
			ID: "01FZ74A0TDDPYRVKNK77XKC3Z4", Kind: sdk.KindMessage, Conversation: "Ca56f94637c", User: sdk.User{ID: "U4af4980629"},
			Text: "@All Good Morning!! (love)", Time: ms(1462629479859),
			Context: map[string]string{ctxSourceType: "group", ctxReplyToken: "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", ctxReplyTokenAt: "1462629479859", ctxRedelivery: "false"},
		}}},
		{"room message", wrap(roomEvent), []sdk.Event{{
			ID: "01FZ74A0TDDPYRVKNK77XKC3Z5", Kind: sdk.KindMessage, Conversation: "Ra8dbf4673c", User: sdk.User{ID: "U4af4980629"},
			Text: "hi room", Time: ms(1462629479859),
			Context: map[string]string{ctxSourceType: "room", ctxReplyToken: "r1", ctxReplyTokenAt: "1462629479859", ctxRedelivery: "false"},
		}}},
		{"sticker is unsupported", wrap(stickerEvent), []sdk.Event{{
			ID: "01FZ74A0TDDPYRVKNK77XKC3Z6", Kind: sdk.KindUnsupported, Conversation: "U4af4980629", User: sdk.User{ID: "U4af4980629"},
			Time: ms(1625665242211), Context: userCtx("rs", 1625665242211, "false"),
		}}},
		{"location as text", wrap(locationEvent), []sdk.Event{{
			ID: "01FZ74A0TDDPYRVKNK77XKC3Z7", Kind: sdk.KindMessage, Conversation: "U4af4980629", User: sdk.User{ID: "U4af4980629"},
			Text: "[location] my location 1-3 Kioicho, Chiyoda-ku, Tokyo (35.679660, 139.736690)", Time: ms(1625665242211),
			Context: userCtx("rl", 1625665242211, "false"),
		}}},
		{"edited text", wrap(editEvent), []sdk.Event{{
			ID: "01KPW6071XGPXPAF4XCN96XEAN", Kind: sdk.KindMessage, Conversation: "U4af4980629", User: sdk.User{ID: "U4af4980629"},
			Text: "[edited] Edited message", Time: ms(1776914799524), Context: userCtx("950e63e8f46542ab89f645b4c2a1180a", 1776914799524, "false"),
		}}},
		{"redelivery keeps the ID", wrap(redelivered), []sdk.Event{{
			ID: "01FZ74A0TDDPYRVKNK77XKC3ZR", Kind: sdk.KindMessage, Conversation: "U80696558e1aa831",
			User: sdk.User{ID: "U80696558e1aa831"}, Text: "Hello, world", Time: ms(1625665242211),
			Context: userCtx("757913772c4646b784d4b7ce46d12671", 1625665242211, "true"),
		}}},
		{"empty events: connectivity check", `{"destination":"xxxxxxxxxx","events":[]}`, nil},
		{"postback carries its data", wrap(postbackEvent), []sdk.Event{{
			ID: "01FZ74A0TDDPYRVKNK77XKC3Z9", Kind: sdk.KindPostback, Conversation: "U91eeaf62d", User: sdk.User{ID: "U91eeaf62d"},
			Text: "storeId=12345", Time: ms(1513669370317), Context: userCtx("b60d432864f44d079f6d8efe86cf404b", 1513669370317, "false"),
		}}},
		{"ignored: standby, join, unsend, postback without data", wrap(standbyEvent, joinEvent, unsendEvent,
			`{"type":"postback","mode":"active","source":{"userId":"U1","type":"user"},"timestamp":1,"webhookEventId":"pb0","postback":{}}`), nil},
		{"ignored: event without webhookEventId or source", wrap(`{"type":"follow","timestamp":1}`, `{"type":"follow","webhookEventId":"x"}`, `"not an object"`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.HandleWebhook(context.Background(), signed(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
			if len(resp.Events) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(resp.Events, tt.want) {
				t.Errorf("events\n got %+v\nwant %+v", resp.Events, tt.want)
			}
		})
	}
}

func TestWebhookSeveralEvents(t *testing.T) {
	c := configured(t, "http://127.0.0.1:1", nil)
	resp, err := c.HandleWebhook(context.Background(), signed(wrap(textEvent, followEvent, postbackEvent, unfollowEvent)))
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("status %d, err %v", resp.Status, err)
	}
	var got []string
	for _, e := range resp.Events {
		got = append(got, string(e.Kind)+" "+e.Conversation)
	}
	want := []string{"message U80696558e1aa831", "follow Ufc729a925b3abef", "postback U91eeaf62d", "unfollow Ubbd4f124aee5113"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
