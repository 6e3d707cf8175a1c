package main

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/webhooks"
)

// The example accepts what the daemon's client sends, once per
// webhook-id, and refuses it under another secret.
func TestTheExampleAcceptsSignedDeliveriesOnce(t *testing.T) {
	secret := webhooks.NewSecret()
	var mu sync.Mutex
	var got []Event
	rc := &receiver{secret: secret, seen: map[string]bool{}, handle: func(ev Event) { mu.Lock(); got = append(got, ev); mu.Unlock() }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	c := webhooks.NewClient(5*time.Second, nil, "test")
	body := []byte(`{"type":"conversation.created","timestamp":"2025-03-01T09:00:00Z","data":{"conversation_id":"c_1","conversation_seq":1}}`)
	for _, tc := range []struct {
		secrets []string
		ok      bool
	}{
		{[]string{secret}, true},
		{[]string{webhooks.NewSecret(), secret}, true}, // a rotation
		{[]string{webhooks.NewSecret()}, false},
	} {
		res := c.Post(context.Background(), webhooks.Request{URL: srv.URL, ID: "evt_1", Body: body, Secrets: tc.secrets})
		if (res.Err == nil) != tc.ok {
			t.Fatalf("secrets %d: %+v", len(tc.secrets), res)
		}
	}
	if len(got) != 1 || got[0].Type != "conversation.created" {
		t.Fatalf("handled %+v, want the event once", got)
	}
}
