package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tt "github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
)

// closedNow is an [hours] section under which the team is out now: it
// works a single hour, on a weekday three days away.
func closedNow() (section, backDay string) {
	day := time.Now().UTC().AddDate(0, 0, 3).Weekday()
	key := strings.ToLower(day.String()[:3])
	return fmt.Sprintf("\n[hours]\ntimezone = \"UTC\"\n%s = [\"09:00-10:00\"]\n", key), day.String()
}

// A Telegram visitor asking for a person outside the opening hours gets a
// ticket and is told its number and when the team is back; a public
// comment on the ticket reaches them in Telegram, a private one never
// does.
func TestTelegramOffHoursTicket(t *testing.T) {
	fake := tt.NewServer(t, tgToken)
	hours, backDay := closedNow()
	d := startDaemon(t, llmConfig(echoModel(t))+telegramChannel(fake.URL(), "webhook")+`
[handoff]
when_unavailable = "ticket"
`+hours)
	ann := tt.Visitor(5550101, "Ann")

	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), ann, "my parcel never came"))
	fake.WaitSent(t, ann.ID, 1, 30*time.Second)
	postTelegram(t, d, tt.TextUpdate(fake.NextUpdateID(), ann, "I want a human"))
	got := fake.WaitSent(t, ann.ID, 2, 30*time.Second)
	told := got[1].Text
	if !strings.Contains(told, "ticket #1") || !strings.Contains(told, backDay) || !strings.Contains(told, "09:00 (UTC)") {
		t.Fatalf("the visitor was told %q, want the ticket number and %s 09:00 (UTC)", told, backDay)
	}

	var list struct {
		Tickets []struct {
			ID             int    `json:"id"`
			Status         string `json:"status"`
			Cause          string `json:"cause"`
			ConversationID string `json:"conversation_id"`
			Requester      struct {
				Channel string `json:"channel"`
				User    struct {
					ID string `json:"id"`
				} `json:"user"`
			} `json:"requester"`
		} `json:"tickets"`
	}
	if code := d.do("GET", "/v1/tickets?status=open", nil, &list); code != 200 || len(list.Tickets) != 1 {
		t.Fatalf("tickets: %d %+v", code, list)
	}
	tk := list.Tickets[0]
	if tk.ID != 1 || tk.Cause != "off_hours" || tk.Requester.Channel != "tg" || tk.Requester.User.ID != fmt.Sprint(ann.ID) || tk.ConversationID == "" {
		t.Errorf("ticket %+v", tk)
	}
	// The bot keeps the conversation meanwhile.
	var conv convState
	d.do("GET", "/v1/conversations/"+tk.ConversationID, nil, &conv)
	if conv.State != "bot" {
		t.Errorf("conversation is %s, want bot", conv.State)
	}

	if code := d.do("POST", "/v1/tickets/1/comments", map[string]any{"text": "customer sounds upset", "public": false}, nil); code != 200 {
		t.Fatalf("private comment: %d", code)
	}
	if code := d.do("POST", "/v1/tickets/1/comments", map[string]any{"text": "Your parcel is on its way again.", "public": true, "author": "Bob"}, nil); code != 200 {
		t.Fatalf("public comment: %d", code)
	}
	got = fake.WaitSent(t, ann.ID, 3, 30*time.Second)
	// The private comment was written first: had it been sent, it would
	// be the third message.
	if got[2].Text != "Your parcel is on its way again." {
		t.Fatalf("Telegram got %q", sentTexts(got))
	}
	if code := d.do("PATCH", "/v1/tickets/1", map[string]any{"status": "solved"}, nil); code != 200 {
		t.Errorf("solve: %d", code)
	}
	for _, m := range fake.Sent(ann.ID) {
		if strings.Contains(m.Text, "upset") {
			t.Errorf("a private comment reached the visitor: %q", m.Text)
		}
	}
}
