// Command event-receiver is an example receiver of Switchboard's event
// webhooks: it verifies each delivery as the Standard Webhooks
// specification says, answers at once, skips repeats by webhook-id, and
// prints the events. Run it with the subscription's secret:
//
//	SWITCHBOARD_WEBHOOK_SECRET=whsec_… go run ./examples/event-receiver -listen :9000
//
// and subscribe http://<host>:9000/switchboard (in [[webhooks]] or with
// POST /v1/webhooks).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// verify reports whether a delivery is signed with secret and recent.
func verify(secret string, h http.Header, body []byte, now time.Time) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sent, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sent, 0)).Abs() > 5*time.Minute {
		return false // refuse replays of old deliveries
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) { // two during a rotation
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// Event is a delivery's body.
type Event struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// receiver handles deliveries; seen remembers the webhook-ids processed
// (a real receiver keeps them in its database with what they changed).
type receiver struct {
	secret string
	mu     sync.Mutex
	seen   map[string]bool
	handle func(Event)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || !verify(rc.secret, r.Header, body, time.Now()) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("webhook-id")
	rc.mu.Lock()
	repeat := rc.seen[id]
	rc.seen[id] = true
	rc.mu.Unlock()
	if repeat {
		w.WriteHeader(http.StatusNoContent) // delivered before: at least once means sometimes twice
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.handle(ev)
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	secret := os.Getenv("SWITCHBOARD_WEBHOOK_SECRET")
	if !strings.HasPrefix(secret, "whsec_") {
		log.Fatal("set SWITCHBOARD_WEBHOOK_SECRET to the subscription's whsec_… secret")
	}
	rc := &receiver{secret: secret, seen: map[string]bool{}, handle: func(ev Event) {
		log.Printf("%s %s", ev.Type, ev.Data)
	}}
	http.Handle("POST /switchboard", rc)
	log.Printf("receiving Switchboard events on http://%s/switchboard", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
