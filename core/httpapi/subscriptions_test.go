package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/core/webhooks"
)

func TestWebhookSubscriptionsOverTheAPI(t *testing.T) {
	srv, st, _ := newEventServer(t, store.Options{})
	reader := store.NewKeySecret()
	if err := st.CreateAPIKey(context.Background(), &store.APIKey{Name: "reader", Hash: store.HashKey(reader), Scopes: []string{store.ScopeRead}}); err != nil {
		t.Fatal(err)
	}
	if status, _ := call(t, srv, "GET", "/v1/webhooks", reader, ""); status != http.StatusForbidden {
		t.Fatalf("without the admin scope: %d", status)
	}

	for _, tc := range []struct {
		name, body, message string
	}{
		{"no url", `{}`, `"url" is required`},
		{"bad url", `{"url":"mailto:a@b.c"}`, "url: "},
		{"unknown event", `{"url":"https://a.example","events":["conversation.deleted"]}`, `events: unknown event type "conversation.deleted"`},
		{"bad secret", `{"url":"https://a.example","secret":"hunter2"}`, "secret: "},
		{"unknown field", `{"url":"https://a.example","filter":"x"}`, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, srv, "POST", "/v1/webhooks", "k1", tc.body)
			msg, _ := body["error"].(map[string]any)["message"].(string)
			if status != http.StatusBadRequest || !strings.Contains(msg, tc.message) {
				t.Fatalf("%d %v, want 400 with %q", status, body, tc.message)
			}
		})
	}
	if ws, _ := st.Webhooks(); len(ws) != 0 {
		t.Fatalf("bad requests created %+v", ws)
	}

	status, created := call(t, srv, "POST", "/v1/webhooks", "k1", `{"url":"https://crm.example/in","events":["handoff.requested"],"description":"CRM"}`)
	secret, _ := created["secret"].(string)
	if _, err := webhooks.ParseSecret(secret); status != http.StatusCreated || err != nil || created["state"] != "active" || created["source"] != "api" {
		t.Fatalf("create: %d %v (%v)", status, created, err)
	}
	id := created["id"].(string)
	_, got := call(t, srv, "GET", "/v1/webhooks/"+id, "k1", "")
	_, list := call(t, srv, "GET", "/v1/webhooks", "k1", "")
	for _, v := range []map[string]any{got, list["webhooks"].([]any)[0].(map[string]any)} {
		if v["id"] != id || v["secret"] != nil || v["url"] != "https://crm.example/in" {
			t.Fatalf("shown as %v: the secret is shown once, at creation", v)
		}
	}

	status, patched := call(t, srv, "PATCH", "/v1/webhooks/"+id, "k1", `{"events":[],"state":"paused"}`)
	if status != http.StatusOK || patched["state"] != "paused" || len(patched["events"].([]any)) != 0 {
		t.Fatalf("patch: %d %v", status, patched)
	}
	if status, _ := call(t, srv, "PATCH", "/v1/webhooks/"+id, "k1", `{"state":"asleep"}`); status != http.StatusBadRequest {
		t.Fatalf("bad state: %d", status)
	}

	status, rotated := call(t, srv, "POST", "/v1/webhooks/"+id+"/rotate", "k1", `{"keep_previous":"2h"}`)
	until, _ := time.Parse(time.RFC3339, rotated["previous_secret_until"].(string))
	if status != http.StatusOK || rotated["secret"] == secret || rotated["rotating"] != true || time.Until(until) < 119*time.Minute {
		t.Fatalf("rotate: %d %v", status, rotated)
	}
	sub, _ := st.Webhook(id)
	if got := sub.Secrets(time.Now()); len(got) != 2 || got[0] != rotated["secret"] || got[1] != secret {
		t.Fatal("during the rotation the new and the old secret must sign")
	}
	if got := sub.Secrets(time.Now().Add(3 * time.Hour)); len(got) != 1 {
		t.Fatal("after keep_previous only the new secret signs")
	}

	if status, _ := call(t, srv, "DELETE", "/v1/webhooks/"+id, "k1", ""); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	if status, _ := call(t, srv, "GET", "/v1/webhooks/"+id, "k1", ""); status != http.StatusNotFound {
		t.Fatalf("after delete: %d", status)
	}
	audit, _ := st.Audit(0, 100)
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "webhook.create webhook.update webhook.rotate webhook.delete" {
		t.Fatalf("audit: %s", got)
	}
}

func TestConfigWebhooksChangeOnlyTheirStateHere(t *testing.T) {
	srv, st, _ := newEventServer(t, store.Options{})
	if err := st.SyncConfigWebhooks(context.Background(), []store.Webhook{{URL: "https://a.example/hook", Secret: webhooks.NewSecret()}}); err != nil {
		t.Fatal(err)
	}
	id := store.ConfigWebhookID("https://a.example/hook")
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"PATCH", "/v1/webhooks/" + id, `{"url":"https://b.example"}`, http.StatusConflict},
		{"DELETE", "/v1/webhooks/" + id, "", http.StatusConflict},
		{"POST", "/v1/webhooks/" + id + "/rotate", "", http.StatusConflict},
		{"PATCH", "/v1/webhooks/" + id, `{"state":"disabled"}`, http.StatusOK},
	} {
		if status, body := call(t, srv, tc.method, tc.path, "k1", tc.body); status != tc.status {
			t.Fatalf("%s %s: %d %v, want %d", tc.method, tc.path, status, body, tc.status)
		}
	}
	if sub, _ := st.Webhook(id); sub.State != store.WebhookDisabled || sub.URL != "https://a.example/hook" {
		t.Fatalf("after the requests: %+v", sub)
	}
}

func TestWebhookDeliveriesAreShownAndSentAgain(t *testing.T) {
	now := time.Now()
	srv, st, _ := newEventServer(t, store.Options{Now: func() time.Time { return now }})
	_, created := call(t, srv, "POST", "/v1/webhooks", "k1", `{"url":"https://crm.example/in","events":["conversation.created"]}`)
	id := created["id"].(string)
	say(t, st, "tg", "a", "1", "hello")
	pending, _ := st.Outbox()
	entry := pending[0]
	ev := entry.Payload.(store.WebhookEvent)
	err := st.Update(context.Background(), func(tx *store.Tx) error {
		if err := store.RecordWebhookAttemptTx(tx, id, store.WebhookAttempt{
			Delivery: entry.ID(), EventID: ev.EventID, EventSeq: ev.EventSeq, Type: ev.Type, Attempt: 1, Status: 503,
			Outcome: "retrying", Error: "the receiver answered 503", Duration: 1500 * time.Millisecond, At: now, NextAttempt: now.Add(time.Minute),
		}); err != nil {
			return err
		}
		if err := store.RecordWebhookAttemptTx(tx, id, store.WebhookAttempt{
			Delivery: entry.ID(), EventID: ev.EventID, EventSeq: ev.EventSeq, Type: ev.Type, Attempt: 2, Status: 200,
			Outcome: "delivered", Duration: 20 * time.Millisecond, At: now.Add(time.Minute),
		}); err != nil {
			return err
		}
		return store.DeleteOutboxTx(tx, entry.Seq)
	})
	if err != nil {
		t.Fatal(err)
	}

	status, list := call(t, srv, "GET", "/v1/webhooks/"+id+"/deliveries", "k1", "")
	ds := list["deliveries"].([]any)
	if status != http.StatusOK || len(ds) != 2 {
		t.Fatalf("deliveries: %d %v", status, list)
	}
	newest, oldest := ds[0].(map[string]any), ds[1].(map[string]any)
	if newest["outcome"] != "delivered" || newest["status"] != 200.0 || oldest["status"] != 503.0 ||
		oldest["error"] != "the receiver answered 503" || oldest["duration_ms"] != 1500.0 || oldest["next_attempt_at"] == nil ||
		oldest["delivery_id"] != entry.ID() || oldest["event_id"] != ev.EventID {
		t.Fatalf("deliveries %v", ds)
	}

	status, body := call(t, srv, "POST", "/v1/webhooks/"+id+"/deliveries/"+entry.ID()+"/retry", "k1", "")
	if status != http.StatusAccepted || body["delivery_id"] == entry.ID() {
		t.Fatalf("retry: %d %v", status, body)
	}
	if again, _ := st.Outbox(); len(again) != 1 || again[0].Payload.(store.WebhookEvent).EventID != ev.EventID {
		t.Fatalf("queued again: %+v", again)
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/v1/webhooks/" + id + "/deliveries/o999/retry", http.StatusNotFound},
		{"/v1/webhooks/" + id + "/deliveries/x1/retry", http.StatusBadRequest},
		{"/v1/webhooks/wh_nope/deliveries/" + entry.ID() + "/retry", http.StatusNotFound},
	} {
		if status, body := call(t, srv, "POST", tc.path, "k1", ""); status != tc.status {
			t.Fatalf("%s: %d %v, want %d", tc.path, status, body, tc.status)
		}
	}
	now = now.Add(100 * time.Hour)
	st.PurgeEvents(context.Background(), now.Add(-72*time.Hour))
	// The attempts went with the events; a delivery still pending can be
	// hurried, the others are gone.
	if status, _ := call(t, srv, "POST", "/v1/webhooks/"+id+"/deliveries/"+entry.ID()+"/retry", "k1", ""); status != http.StatusNotFound {
		t.Fatalf("after the purge: %d", status)
	}
	call(t, srv, "PATCH", "/v1/webhooks/"+id, "k1", `{"state":"paused"}`)
	if status, _ := call(t, srv, "POST", "/v1/webhooks/"+id+"/deliveries/"+body["delivery_id"].(string)+"/retry", "k1", ""); status != http.StatusConflict {
		t.Fatalf("paused: %d", status)
	}
}
