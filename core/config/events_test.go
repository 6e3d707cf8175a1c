package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const goodSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestWebhookSubscriptionsAndEventSettings(t *testing.T) {
	cfg, err := loadString(t, `
[events]
retention = "7d"
pause_after = "0s"

[[webhooks]]
url = "https://crm.example.com/switchboard"
events = ["conversation.created", "handoff.requested"]
secret = "`+goodSecret+`"

[[webhooks]]
url = "http://127.0.0.1:9000/hook"
secret = "`+goodSecret+`"
previous_secret = "`+goodSecret+`"
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Webhook{
		{URL: "https://crm.example.com/switchboard", Events: []string{"conversation.created", "handoff.requested"}, Secret: goodSecret},
		{URL: "http://127.0.0.1:9000/hook", Secret: goodSecret, PreviousSecret: goodSecret},
	}
	if !reflect.DeepEqual(cfg.Webhooks, want) {
		t.Errorf("webhooks %+v", cfg.Webhooks)
	}
	if e := cfg.Events; e.Retention != 7*24*time.Hour || e.PauseAfter != 0 || e.RetryFor != 24*time.Hour || e.WebhookTimeout != 15*time.Second {
		t.Errorf("events %+v", e)
	}
}

func TestBadWebhookSubscriptionsNameTheirKeys(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		key     string
		message string
	}{
		{"not an array", "[webhooks]\nurl = \"https://a.example\"\n", "webhooks", "expected an array of tables"},
		{"unknown key", "[[webhooks]]\nurl = \"https://a.example\"\nsecret = \"" + goodSecret + "\"\nsecrets = 1\n", "webhooks[0].secrets", `did you mean "secret"`},
		{"bad url", "[[webhooks]]\nurl = \"ftp://a.example\"\nsecret = \"" + goodSecret + "\"\n", "webhooks[0].url", "not an http(s) URL"},
		{"same url twice", "[[webhooks]]\nurl = \"https://a.example\"\nsecret = \"" + goodSecret + "\"\n[[webhooks]]\nurl = \"https://a.example\"\nsecret = \"" + goodSecret + "\"\n",
			"webhooks[1].url", "the same URL as webhooks[0]"},
		{"unknown event", "[[webhooks]]\nurl = \"https://a.example\"\nevents = [\"message.created\", \"message.deleted\"]\nsecret = \"" + goodSecret + "\"\n",
			"webhooks[0].events[1]", `unknown event type "message.deleted"`},
		{"no secret", "[[webhooks]]\nurl = \"https://a.example\"\n", "webhooks[0].secret", "required"},
		{"secret without prefix", "[[webhooks]]\nurl = \"https://a.example\"\nsecret = \"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n", "webhooks[0].secret", `must start with "whsec_"`},
		{"short secret", "[[webhooks]]\nurl = \"https://a.example\"\nsecret = \"whsec_c2hvcnQ=\"\n", "webhooks[0].secret", "holds 5 bytes"},
		{"bad previous secret", "[[webhooks]]\nurl = \"https://a.example\"\nsecret = \"" + goodSecret + "\"\nprevious_secret = \"old\"\n", "webhooks[0].previous_secret", "whsec_"},
		{"short retention", "[events]\nretention = \"10m\"\n", "events.retention", "at least 1h"},
		{"no retries", "[events]\nretry_for = \"0s\"\n", "events.retry_for", "greater than 0"},
		{"long timeout", "[events]\nwebhook_timeout = \"10m\"\n", "events.webhook_timeout", "between 1s and 5m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(t, tc.content)
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Key != tc.key || !strings.Contains(ps[0].Message, tc.message) {
				t.Fatalf("problems %v, want one for %s containing %q", ps, tc.key, tc.message)
			}
			if strings.Contains(ps[0].Message, "MfKQ9r8GKYqr") {
				t.Fatalf("the message quotes the secret: %s", ps[0].Message)
			}
		})
	}
}
