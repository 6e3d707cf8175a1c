package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/line/linetest"
	tt "github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
)

// ratingQuestion is [csat] question's default, as the visitor reads it.
const ratingQuestion = "How would you rate the help you got?"

// csatFigures is the csat part of /v1/stats.
type csatFigures struct {
	Requests     int         `json:"requests"`
	Ratings      int         `json:"ratings"`
	ResponseRate float64     `json:"response_rate"`
	Average      *float64    `json:"average"`
	Scores       map[int]int `json:"scores"`
	ByOperator   []struct {
		Operator struct {
			Name string `json:"name"`
		} `json:"operator"`
		Requests int      `json:"requests"`
		Ratings  int      `json:"ratings"`
		Average  *float64 `json:"average"`
	} `json:"by_operator"`
}

func csatStats(t *testing.T, d *daemon) csatFigures {
	t.Helper()
	var stats struct {
		CSAT csatFigures `json:"csat"`
	}
	if code := d.do("GET", "/v1/stats", nil, &stats); code != 200 {
		t.Fatalf("/v1/stats: %d", code)
	}
	return stats.CSAT
}

// firstEvent reads the event stream from its start until an event of type
// typ and returns its data.
func firstEvent(t *testing.T, d *daemon, typ string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", d.URL+"/v1/events?last_event_id=0&type="+typ, nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		value, ok := strings.CutPrefix(lines.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(value), &ev); err == nil && ev.Type == typ {
			return ev.Data
		}
	}
	t.Fatalf("no %s event on the stream", typ)
	return nil
}

// servedByBob hands the conversation opened by the first visitor line to
// the fake desk, where Bob joins, answers and closes it.
func servedByBob(t *testing.T, d *daemon, desk *fakeDesk, closeID string) (convID string) {
	t.Helper()
	eventually(t, "the handoff on the desk", func() bool { return desk.openedCount() == 1 })
	desk.mu.Lock()
	convID = desk.opened[0]["conversation_id"].(string)
	desk.mu.Unlock()
	for _, body := range []string{
		`{"id":"` + closeID + `-1","type":"operator_joined","ref":"T-1","operator":"Bob"}`,
		`{"id":"` + closeID + `-2","type":"operator_message","ref":"T-1","operator":"Bob","text":"Bob here, it is sorted."}`,
	} {
		if code := deskEvent(t, d, body); code != 200 {
			t.Fatalf("desk event: %d", code)
		}
	}
	waitState(t, d, convID, "human")
	if code := deskEvent(t, d, `{"id":"`+closeID+`-3","type":"closed","ref":"T-1"}`); code != 200 {
		t.Fatalf("desk close: %d", code)
	}
	return convID
}

// After the desk closes a Telegram conversation Bob served, the visitor
// gets the question with five star buttons; pressing one is answered
// (answerCallbackQuery, carried out by the fake from the webhook's
// response, as Telegram does) and thanked, and stored once however often
// the button is pressed or the update redelivered.
func TestCSATOnTelegram(t *testing.T) {
	fake := tt.NewServer(t, tgToken)
	desk := newFakeDesk(t)
	d := startDaemon(t, llmConfig(echoModel(t))+deskConfig(desk.URL)+telegramChannel(fake.URL(), "webhook"))
	ann := tt.Visitor(5550101, "Ann")
	post := func(u tt.Update) {
		t.Helper()
		if code, err := fake.Post(d.URL+"/webhooks/tg", tgSecret, u); err != nil || code != 200 {
			t.Fatalf("webhook: %d %v", code, err)
		}
	}

	post(tt.TextUpdate(fake.NextUpdateID(), ann, "I want a human"))
	convID := servedByBob(t, d, desk, "tg")

	var question tt.SentMessage
	eventually(t, "the rating question", func() bool {
		for _, m := range fake.Sent(ann.ID) {
			if strings.HasPrefix(m.Text, ratingQuestion) {
				question = m
				return true
			}
		}
		return false
	})
	if m := question.Markup; m == nil || len(m.InlineKeyboard) != 1 || len(m.InlineKeyboard[0]) != 5 {
		t.Fatalf("question markup %+v, want one row of five buttons", question.Markup)
	}
	for i, b := range question.Markup.InlineKeyboard[0] {
		if want := "rating:" + string(rune('1'+i)); b.CallbackData != want || b.Text != strings.Repeat("★", i+1) {
			t.Errorf("button %d: %+v, want %s", i, b, want)
		}
	}

	press := fake.PressButton(ann, question, "rating:4")
	post(press)
	eventually(t, "the thanks", func() bool {
		return strings.Contains(strings.Join(sentTexts(fake.Sent(ann.ID)), "\n"), "Thank you for your rating!")
	})
	if a := fake.CallbackAnswers(); len(a) != 1 || a[0].QueryID != press.CallbackQuery.ID {
		t.Errorf("callback answers %+v, want the press answered once", a)
	}

	// Redelivered, pressed again, a forged score: nothing more is stored.
	post(press)
	post(fake.PressButton(ann, question, "rating:1"))
	post(fake.PressButton(ann, question, "rating:9"))
	post(tt.TextUpdate(fake.NextUpdateID(), ann, "2")) // once rated, a 2 is a line for the bot
	eventually(t, "the bot's answer to 2", func() bool {
		return strings.Contains(strings.Join(sentTexts(fake.Sent(ann.ID)), "\n"), "You said: 2")
	})
	if n := strings.Count(strings.Join(sentTexts(fake.Sent(ann.ID)), "\n"), "Thank you for your rating!"); n != 1 {
		t.Errorf("thanked %d times, want once", n)
	}

	got := csatStats(t, d)
	if got.Requests != 1 || got.Ratings != 1 || got.ResponseRate != 1 || got.Average == nil || *got.Average != 4 || got.Scores[4] != 1 {
		t.Errorf("stats %+v, want one question answered 4", got)
	}
	if len(got.ByOperator) != 1 || got.ByOperator[0].Operator.Name != "Bob" || got.ByOperator[0].Ratings != 1 {
		t.Errorf("by operator %+v, want Bob's one rating", got.ByOperator)
	}
	metrics := scrape(t, d)
	for _, want := range []string{
		`switchboard_csat_requests_total{operator="Bob"} 1`,
		`switchboard_csat_score_sum{operator="Bob"} 4`,
		`switchboard_csat_score_count{operator="Bob"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var stored struct {
		Ratings []struct {
			Score    *int `json:"score"`
			Operator struct {
				Name string `json:"name"`
			} `json:"operator"`
			RatedAt *time.Time `json:"rated_at"`
		} `json:"ratings"`
	}
	if code := d.do("GET", "/v1/conversations/"+convID+"/ratings", nil, &stored); code != 200 || len(stored.Ratings) != 1 ||
		stored.Ratings[0].Score == nil || *stored.Ratings[0].Score != 4 || stored.Ratings[0].Operator.Name != "Bob" || stored.Ratings[0].RatedAt == nil {
		t.Errorf("stored ratings: %d %+v", code, stored)
	}
	ev := firstEvent(t, d, "csat.submitted")
	op, _ := ev["operator"].(map[string]any)
	if ev["conversation_id"] != convID || ev["score"] != float64(4) || op["name"] != "Bob" || ev["conversation_seq"] == nil {
		t.Errorf("csat.submitted %v", ev)
	}
}

// On LINE the question carries quick replies with postback actions; the
// postback's rating is thanked with the Reply API and counted once; a
// typed 1-5 right after the question rates a later handoff.
func TestCSATOnLINE(t *testing.T) {
	fake := linetest.New(lineToken)
	base := fake.Start(t)
	desk := newFakeDesk(t)
	d := startDaemon(t, llmConfig(echoModel(t))+deskConfig(desk.URL)+lineChannel(base, ""))
	send := func(e linetest.Event) {
		t.Helper()
		e.ID, e.UserID = linetest.NewEventID(), lineUser
		if e.ReplyToken == "" {
			e.ReplyToken = fake.NewReplyToken(lineUser)
		}
		if code := postLine(t, d, linetest.Body(e)); code != 200 {
			t.Fatalf("LINE webhook: %d", code)
		}
	}

	send(linetest.Event{Text: "I want a human"})
	servedByBob(t, d, desk, "line")

	var question linetest.Delivery
	eventually(t, "the rating question", func() bool {
		for _, m := range fake.Delivered() {
			if m.To == lineUser && strings.HasPrefix(m.Text, ratingQuestion) {
				question = m
				return true
			}
		}
		return false
	})
	if q := question.QuickReply; q == nil || len(q.Items) != 5 || q.Items[2].Action.Type != "postback" ||
		q.Items[2].Action.Data != "rating:3" || q.Items[2].Action.DisplayText != "★★★" {
		t.Fatalf("quick replies %+v, want five postback stars", question.QuickReply)
	}

	send(linetest.Event{Type: "postback", Data: "rating:2"})
	eventually(t, "the thanks", func() bool {
		for _, m := range fake.Delivered() {
			if m.Text == "Thank you for your rating!" {
				if m.Via != linetest.EndpointReply {
					t.Errorf("thanks sent by %s, want a reply to the postback", m.Via)
				}
				return true
			}
		}
		return false
	})
	send(linetest.Event{Type: "postback", Data: "rating:5"}) // a second tap
	send(linetest.Event{Type: "postback", Data: "something else"})

	// A second handoff, rated by typing.
	send(linetest.Event{Text: "human again please"})
	eventually(t, "the second handoff", func() bool { return desk.openedCount() == 2 })
	for _, body := range []string{
		`{"id":"l2-1","type":"operator_joined","ref":"T-2","operator":"Cleo"}`,
		`{"id":"l2-2","type":"closed","ref":"T-2"}`,
	} {
		if code := deskEvent(t, d, body); code != 200 {
			t.Fatalf("desk event: %d", code)
		}
	}
	eventually(t, "the second question", func() bool {
		n := 0
		for _, m := range fake.DeliveredTexts(lineUser) {
			if strings.HasPrefix(m, ratingQuestion) {
				n++
			}
		}
		return n == 2
	})
	send(linetest.Event{Text: "5"})
	// The taps came before the typed 5 and are handled in order: once it
	// counts, they have been decided.
	eventually(t, "two ratings", func() bool { return csatStats(t, d).Ratings == 2 })
	got := csatStats(t, d)
	if got.Requests != 2 || got.Ratings != 2 || got.Average == nil || *got.Average != 3.5 || got.Scores[2] != 1 || got.Scores[5] != 1 {
		t.Errorf("stats %+v, want two questions answered 2 and 5", got)
	}
	names := map[string]int{}
	for _, o := range got.ByOperator {
		names[o.Operator.Name] = o.Ratings
	}
	if names["Bob"] != 1 || names["Cleo"] != 1 {
		t.Errorf("by operator %+v", got.ByOperator)
	}
}
