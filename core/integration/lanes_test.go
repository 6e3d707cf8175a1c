package integration

import (
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// With the visitor's channel refusing connections, a handoff still reaches
// the desk at once (deliveries are ordered per conversation and
// destination, not across destinations), and the visitor's messages are
// delivered in order once the channel is back.
func TestADownChannelDoesNotHoldTheDeskBack(t *testing.T) {
	desk := newFakeDesk(t)
	// A port with nothing behind it: the echo channel's replies are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	replyAddr := ln.Addr().String()
	ln.Close()
	// No model: every conversation goes straight to the desk.
	d := startDaemon(t, deskConfig(desk.URL)+echoChannel("http://"+replyAddr+"/replies"))

	start := time.Now()
	postWebhook(t, d.URL, "demo", `{"id":"v1","chat":"room-1","user":"u1","name":"Ann","text":"my parcel is lost"}`)
	for desk.openedCount() == 0 {
		if time.Since(start) > 15*time.Second {
			t.Fatal("the desk did not get the handoff while the visitor's channel was down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the desk had the handoff %v after the visitor's message", time.Since(start).Round(time.Millisecond))
	convID := desk.opened[0]["conversation_id"].(string)

	// The operator answers while the channel is still down.
	deskEvent(t, d, `{"id":"op1","type":"operator_joined","ref":"T-1","operator":"Bob"}`)
	deskEvent(t, d, `{"id":"op2","type":"operator_message","ref":"T-1","operator":"Bob","text":"Hi Ann, Bob here."}`)
	waitState(t, d, convID, "human")

	// The channel comes back.
	var (
		mu   sync.Mutex
		got  []string
		back = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body map[string]string
			json.NewDecoder(r.Body).Decode(&body)
			mu.Lock()
			got = append(got, body["text"])
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		})}
	)
	ln, err = net.Listen("tcp", replyAddr)
	if err != nil {
		t.Fatalf("take the reply port back: %v", err)
	}
	go back.Serve(ln)
	t.Cleanup(func() { back.Close() })

	want := []string{"echo: I'm connecting you with a colleague, one moment please.", "echo: Hi Ann, Bob here."}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the visitor got %q once the channel was back, want %q", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("the visitor got %q, want %q in this order", got, want)
	}
}
