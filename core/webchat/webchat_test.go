package webchat

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/store"
)

func TestTokensReachOnlyTheirOwnConversation(t *testing.T) {
	e := newEnv(t)
	a, b := e.session("{}"), e.session("{}")
	if a.conv == b.conv || a.token == b.token {
		t.Fatal("two sessions share a conversation or a token")
	}
	if !strings.HasPrefix(a.token, tokenPrefix) || len(a.token) < 40 {
		t.Errorf("token %q: want %s and 256 random bits", a.token, tokenPrefix)
	}
	if r := e.send(b, "b-1", "b's secret"); r.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.status, r.raw)
	}
	// Resuming gives the same conversation and token.
	r := e.request("POST", "/w/v1/session", "", `{"visitor_token":"`+a.token+`"}`)
	if r.status != 200 || r.body["conversation_id"] != a.conv || r.body["visitor_token"] != a.token || r.body["state"] != "bot" {
		t.Errorf("resume: %d %s", r.status, r.raw)
	}
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"own conversation", "GET", "/w/v1/messages?conversation_id=" + a.conv, a.token, "", 200},
		{"another's messages", "GET", "/w/v1/messages?conversation_id=" + b.conv, a.token, "", 404},
		{"another's events", "GET", "/w/v1/events?conversation_id=" + b.conv, a.token, "", 404},
		{"post into another's", "POST", "/w/v1/messages?conversation_id=" + b.conv, a.token, `{"client_id":"x","text":"hi"}`, 404},
		{"hand off another's", "POST", "/w/v1/handoff?conversation_id=" + b.conv, a.token, "", 404},
		{"rate another's", "POST", "/w/v1/rating?conversation_id=" + b.conv, a.token, `{"score":5}`, 404},
		{"resume into another's", "POST", "/w/v1/session", "", `{"visitor_token":"` + a.token + `","conversation_id":"` + b.conv + `"}`, 404},
		{"a conversation without its token", "POST", "/w/v1/session", "", `{"conversation_id":"` + b.conv + `"}`, 404},
		{"no token", "GET", "/w/v1/messages", "", "", 401},
		{"unknown token", "GET", "/w/v1/messages", "wv_" + strings.Repeat("A", 43), "", 401},
		{"conversation id as token", "GET", "/w/v1/messages", b.conv, "", 401},
		{"resume an unknown token", "POST", "/w/v1/session", "", `{"visitor_token":"wv_nope"}`, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.request(tc.method, tc.path, tc.token, tc.body)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.raw, tc.status)
			}
			if tc.status >= 400 && r.errorCode() == "" {
				t.Errorf("error without a code: %s", r.raw)
			}
			if strings.Contains(r.raw, "b's secret") {
				t.Errorf("b's message leaked: %s", r.raw)
			}
		})
	}
	if got := e.visitorLines(b.conv); !slices.Equal(got, []string{"b's secret"}) {
		t.Errorf("b's lines changed: %q", got)
	}
	if got := e.transcript(a.conv); len(got) != 0 {
		t.Errorf("a's transcript: %+v", got)
	}
}

func TestTheSameClientIDIsStoredOnce(t *testing.T) {
	e := newEnv(t)
	v := e.session("{}")
	first := e.send(v, "msg-1", "where is my parcel?")
	if first.status != http.StatusAccepted || first.body["id"] == "" || first.body["seq"] == nil {
		t.Fatalf("send: %d %s", first.status, first.raw)
	}
	// A retry, and two more at once.
	var wg sync.WaitGroup
	answers := make([]response, 3)
	for i := range answers {
		wg.Go(func() { answers[i] = e.send(v, "msg-1", "where is my parcel?") })
	}
	wg.Wait()
	for _, r := range answers {
		if r.status != http.StatusAccepted || r.body["id"] != first.body["id"] || r.body["seq"] != first.body["seq"] {
			t.Errorf("resend answered %d %s, want 202 with %s", r.status, r.raw, first.raw)
		}
	}
	if got := e.visitorLines(v.conv); len(got) != 1 {
		t.Errorf("visitor messages stored: %q, want 1", got)
	}
	// The same client_id in another conversation is another message.
	other := e.session("{}")
	if r := e.send(other, "msg-1", "hello"); r.status != http.StatusAccepted || r.body["id"] == first.body["id"] {
		t.Errorf("another visitor's msg-1: %d %s", r.status, r.raw)
	}
}

func TestBadInputGetsAClearErrorAndStoresNothing(t *testing.T) {
	e := newEnv(t)
	v := e.session("{}")
	long := strings.Repeat("长", 51) // the test limit is 50 characters
	for _, tc := range []struct {
		name, path, body string
		status           int
		code, message    string
	}{
		{"malformed JSON", "/w/v1/messages", `{"client_id":"a","text":`, 400, "bad_request", "malformed JSON"},
		{"unknown field", "/w/v1/messages", `{"client_id":"a","text":"hi","html":true}`, 400, "bad_request", "unknown field"},
		{"no client id", "/w/v1/messages", `{"text":"hi"}`, 400, "bad_request", "client_id"},
		{"client id with a space", "/w/v1/messages", `{"client_id":"a b","text":"hi"}`, 400, "bad_request", "client_id"},
		{"client id too long", "/w/v1/messages", `{"client_id":"` + strings.Repeat("a", 65) + `","text":"hi"}`, 400, "bad_request", "client_id"},
		{"empty text", "/w/v1/messages", `{"client_id":"a","text":"  \n "}`, 400, "bad_request", `"text" is required`},
		{"too long", "/w/v1/messages", `{"client_id":"a","text":"` + long + `"}`, 400, "too_long", "51 characters; at most 50"},
		{"body too large", "/w/v1/messages", `{"client_id":"a","text":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 413, "too_large", "exceeds"},
		{"score 0", "/w/v1/rating", `{"score":0}`, 400, "bad_request", "1 to 5"},
		{"score 6", "/w/v1/rating", `{"score":6,"comment":"great"}`, 400, "bad_request", "1 to 5"},
		{"long comment", "/w/v1/rating", `{"score":4,"comment":"` + strings.Repeat("c", 1001) + `"}`, 400, "too_long", "at most 1000"},
		{"handoff with a body that is not JSON", "/w/v1/handoff", `please`, 400, "bad_request", "malformed"},
		{"typing that is not a boolean", "/w/v1/typing", `{"typing":"yes"}`, 400, "bad_request", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.request("POST", tc.path, v.token, tc.body)
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
			if msg := r.body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q does not say %q", msg, tc.message)
			}
		})
	}
	if got := e.transcript(v.conv); len(got) != 0 {
		t.Errorf("bad input stored %+v", got)
	}
	if c, _ := e.st.Conversation(v.conv); c.State != conversation.Bot {
		t.Errorf("bad input changed the state to %s", c.State)
	}
	if inbox, _ := e.st.Inbox(0, 0); len(inbox) != 0 {
		t.Errorf("bad input reached the inbox: %+v", inbox)
	}
	// The limit is in characters, not bytes.
	if r := e.send(v, "ok", strings.Repeat("长", 50)); r.status != http.StatusAccepted {
		t.Errorf("a message at the limit: %d %s", r.status, r.raw)
	}
}

func TestResumeAfterADisconnectGetsExactlyWhatWasMissed(t *testing.T) {
	e := newEnv(t)
	v := e.session("{}")
	s := e.open(v, "")
	if ev := s.next(); ev.typ != eventState || ev.data["state"] != "bot" {
		t.Fatalf("first event %s %v, want the state", ev.typ, ev.data)
	}
	e.send(v, "c1", "hello")
	// No model: the engine hands the chat to the console's queue.
	seen := messages(s.until(isState("waiting_human")))
	if len(seen) != 2 || seen[0].data["text"] != "hello" || !strings.Contains(seen[1].data["text"].(string), "connecting you") {
		t.Fatalf("before the disconnect: %v", seen)
	}
	last := seen[len(seen)-1].id
	s.close()

	// Three messages while the visitor is away, and an operator's
	// private note among them.
	var want []string
	for i, text := range []string{"are you there?", "hello??"} {
		if r := e.send(v, fmt.Sprintf("c%d", i+2), text); r.status != http.StatusAccepted {
			t.Fatal(r.raw)
		}
		want = append(want, text)
	}
	if _, err := e.st.AppendMessage(context.Background(), store.Message{ConversationID: v.conv, Role: conversation.RoleOperator, Text: "VIP, be nice", Private: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AppendMessage(context.Background(), store.Message{ConversationID: v.conv, Role: conversation.RoleOperator, Text: "Hi, Bob here", Author: &conversation.Operator{ID: "op1", Name: "Bob"}}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "Hi, Bob here")

	again := e.open(v, last)
	got := again.until(func(ev event) bool { return ev.typ == eventState })
	var texts []string
	prev := seen[len(seen)-1].seq()
	for _, ev := range messages(got) {
		texts = append(texts, ev.data["text"].(string))
		if ev.seq() <= prev || ev.data["seq"] != float64(ev.seq()) {
			t.Errorf("event id %s after %d, seq %v: want increasing ids equal to seq", ev.id, prev, ev.data["seq"])
		}
		prev = ev.seq()
	}
	if !slices.Equal(texts, want) {
		t.Fatalf("after reconnecting: %q, want exactly %q", texts, want)
	}
	if m := messages(got)[2].data; m["author"] != "Bob" || m["role"] != "operator" {
		t.Errorf("operator line %v: want its author", m)
	}
	// The list API agrees, and never shows the note either.
	r := e.request("GET", "/w/v1/messages?after_seq="+last, v.token, "")
	var listed []string
	for _, m := range r.body["messages"].([]any) {
		listed = append(listed, m.(map[string]any)["text"].(string))
	}
	if !slices.Equal(listed, want) {
		t.Errorf("GET messages after %s: %q, want %q", last, listed, want)
	}
	if strings.Contains(e.request("GET", "/w/v1/messages", v.token, "").raw, "VIP") {
		t.Error("the private note is listed")
	}
	if r := e.request("GET", "/w/v1/events", v.token, "", "Last-Event-ID: soon"); r.status != 400 {
		t.Errorf("a bad Last-Event-ID: %d, want 400", r.status)
	}
}

func TestStreamCarriesStateTypingAndThinking(t *testing.T) {
	release := make(chan struct{})
	e := newEnv(t, withModel(&fakeModel{text: "Your parcel ships today.", release: release}))
	v := e.session("{}")
	s := e.open(v, "")
	s.next() // state
	e.send(v, "c1", "where is my parcel?")
	// The visitor's own line, and the bot thinking (in either order: the
	// notice travels apart from the transcript).
	var echoed, thinking bool
	for _, ev := range []event{s.next(), s.next()} {
		echoed = echoed || (ev.typ == eventMessage && ev.data["client_id"] == "c1" && ev.data["role"] == "visitor")
		thinking = thinking || (ev.typ == eventTyping && ev.data["from"] == "bot" && ev.data["typing"] == true)
	}
	if !echoed || !thinking {
		t.Fatalf("after sending: echoed %v, thinking %v; want both", echoed, thinking)
	}
	// The visitor's own typing goes to the operators only; an operator's
	// comes to the visitor.
	if r := e.request("POST", "/w/v1/typing", v.token, `{"typing":true}`); r.status != http.StatusNoContent {
		t.Fatalf("typing: %d %s", r.status, r.raw)
	}
	e.hub.Publish(live.Signal{Kind: live.Typing, ConversationID: v.conv, From: live.FromOperator, Data: true})
	for _, ev := range s.until(func(ev event) bool { return ev.typ == eventTyping && ev.data["from"] == "operator" }) {
		if ev.typ != eventTyping || ev.data["from"] != "bot" && ev.data["from"] != "operator" {
			t.Errorf("got %s %v: want only typing notices of the bot and the operator (not the visitor's own)", ev.typ, ev.data)
		}
	}
	close(release)
	// The answer, and the end of the thinking (in either order: the
	// notice travels apart from the transcript).
	var answered, stopped bool
	rest := s.until(func(ev event) bool {
		answered = answered || (ev.typ == eventMessage && ev.data["role"] == "bot" && ev.data["text"] == "Your parcel ships today.")
		stopped = stopped || (ev.typ == eventTyping && ev.data["from"] == "bot" && ev.data["typing"] == false)
		return answered && stopped
	})
	if n := len(messages(rest)); n != 1 {
		t.Errorf("after the turn: %v, want one message", rest)
	}
}

func TestTalkToAPersonShowsTheLineAndTheOperator(t *testing.T) {
	e := newEnv(t, withModel(&fakeModel{text: "ok"}))
	var vs []visitor
	for range 3 {
		v := e.session("{}")
		if r := e.request("POST", "/w/v1/handoff", v.token, ""); r.status != 200 || r.body["state"] != "waiting_human" {
			t.Fatalf("handoff: %d %s", r.status, r.raw)
		}
		vs = append(vs, v)
	}
	trs, _ := e.st.Transitions(vs[0].conv)
	if len(trs) != 1 || trs[0].Cause != conversation.CauseVisitor || trs[0].To != conversation.WaitingHuman {
		t.Errorf("transitions %+v: want one to waiting_human, cause visitor", trs)
	}
	third := e.open(vs[2], "")
	if evs := third.until(func(ev event) bool { return ev.typ == eventState }); evs[len(evs)-1].data["position"] != float64(3) {
		t.Fatalf("third in line: %v", evs)
	}
	// The first is taken by an operator: the third moves up, and the
	// first sees who serves them.
	first := e.open(vs[0], "")
	first.until(func(ev event) bool { return ev.typ == eventState })
	ann := conversation.Operator{ID: "op-ann", Name: "Ann"}
	if _, err := e.eng.Do(context.Background(), vs[0].conv, conversation.Claimed{Operator: ann}); err != nil {
		t.Fatal(err)
	}
	if evs := third.until(func(ev event) bool { return ev.typ == eventState }); evs[len(evs)-1].data["position"] != float64(2) {
		t.Errorf("after the first was taken: %v, want position 2", evs)
	}
	evs := first.until(isState("human"))
	if st := evs[len(evs)-1].data; st["operator"] != "Ann" {
		t.Errorf("served: %v, want operator Ann", st)
	}
	// Asking again while waiting changes nothing.
	if r := e.request("POST", "/w/v1/handoff", vs[1].token, "{}"); r.status != 200 || r.body["state"] != "waiting_human" || r.body["position"] != float64(1) {
		t.Errorf("second request: %s", r.raw)
	}
}

func TestRatingAfterTheOperatorClosed(t *testing.T) {
	e := newEnv(t)
	v := e.session("{}")
	ctx := context.Background()
	bob := conversation.Operator{ID: "op-bob", Name: "Bob"}
	rate := func(body string) response { return e.request("POST", "/w/v1/rating", v.token, body) }
	if r := rate(`{"score":5}`); r.status != http.StatusConflict || r.errorCode() != "not_ratable" {
		t.Fatalf("rating a chat nobody served: %d %s", r.status, r.raw)
	}
	e.request("POST", "/w/v1/handoff", v.token, "")
	if _, err := e.eng.Do(ctx, v.conv, conversation.Claimed{Operator: bob}); err != nil {
		t.Fatal(err)
	}
	if r := rate(`{"score":5}`); r.status != http.StatusConflict {
		t.Fatalf("rating while being served: %d %s", r.status, r.raw)
	}
	s := e.open(v, "")
	if evs := s.until(func(ev event) bool { return ev.typ == eventState }); evs[len(evs)-1].data["can_rate"] != false {
		t.Errorf("state while served: %v", evs)
	}
	if _, err := e.eng.Do(ctx, v.conv, conversation.OperatorClosed{Operator: bob}); err != nil {
		t.Fatal(err)
	}
	evs := s.until(func(ev event) bool { return ev.typ == eventState && ev.data["can_rate"] == true })
	if st := evs[len(evs)-1].data; st["operator"] != "Bob" || st["state"] != "bot" {
		t.Errorf("after the close: %v, want Bob to rate, back with the bot", st)
	}
	r := rate(`{"score":4,"comment":"  Quick and kind  "}`)
	if r.status != http.StatusCreated || r.body["score"] != float64(4) || r.body["comment"] != "Quick and kind" || r.body["operator"] != "Bob" {
		t.Fatalf("rating: %d %s", r.status, r.raw)
	}
	evs = s.until(func(ev event) bool { return ev.typ == eventState })
	if ev := evs[len(evs)-1]; ev.data["can_rate"] != false {
		t.Errorf("after rating: %v, want can_rate false", ev.data)
	}
	if r := rate(`{"score":0}`); r.status != http.StatusBadRequest {
		t.Errorf("score 0: %d %s", r.status, r.raw)
	}
	if r := rate(`{"score":1}`); r.status != http.StatusConflict || r.errorCode() != "already_rated" {
		t.Errorf("second rating: %d %s", r.status, r.raw)
	}
	got, _ := e.st.Ratings(v.conv)
	if len(got) != 1 || got[0].Score != 4 || got[0].Operator != bob {
		t.Errorf("stored %+v", got)
	}
}

func TestRateLimits(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.RatePerVisitor, c.RatePerAddress = 12, 40 }))
	v := e.session("{}")
	// A burst of 4 (a third of 12), then one every 5 s.
	for i := range 4 {
		if r := e.send(v, fmt.Sprint("b", i), "hi"); r.status != http.StatusAccepted {
			t.Fatalf("message %d of the burst: %d %s", i, r.status, r.raw)
		}
	}
	r := e.send(v, "b4", "hi")
	if r.status != http.StatusTooManyRequests || r.errorCode() != "rate_limited" || r.header.Get("Retry-After") != "5" {
		t.Fatalf("over the limit: %d %s (Retry-After %q), want 429 and 5 s", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if got := e.visitorLines(v.conv); len(got) != 4 {
		t.Errorf("visitor messages stored: %q, want 4", got)
	}
	e.clock.advance(5 * time.Second)
	if r := e.send(v, "b4", "hi"); r.status != http.StatusAccepted {
		t.Errorf("after waiting: %d %s", r.status, r.raw)
	}
	// Another visitor has a bucket of their own.
	w := e.session("{}")
	if r := e.send(w, "w0", "hi"); r.status != http.StatusAccepted {
		t.Errorf("another visitor: %d %s", r.status, r.raw)
	}
}

func TestRateLimitPerAddress(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.RatePerAddress = 12 }))
	// Four new chats from one address use up its burst.
	var vs []visitor
	for range 4 {
		vs = append(vs, e.session("{}"))
	}
	if r := e.request("POST", "/w/v1/session", "", "{}"); r.status != http.StatusTooManyRequests {
		t.Fatalf("fifth new chat from the address: %d %s", r.status, r.raw)
	}
	if r := e.send(vs[0], "m", "hi"); r.status != http.StatusTooManyRequests || !strings.Contains(r.raw, "address") {
		t.Fatalf("message from the address: %d %s", r.status, r.raw)
	}
	// Resuming is not a new chat.
	if r := e.request("POST", "/w/v1/session", "", `{"visitor_token":"`+vs[1].token+`"}`); r.status != 200 {
		t.Errorf("resume: %d %s", r.status, r.raw)
	}
	e.clock.advance(5 * time.Second)
	if r := e.send(vs[2], "m", "hi"); r.status != http.StatusAccepted {
		t.Errorf("after waiting: %d %s", r.status, r.raw)
	}
}

func TestCORSIsLimitedToTheAllowedSites(t *testing.T) {
	e := newEnv(t)
	v := e.session("{}")
	self := strings.Replace(e.URL, "127.0.0.1", "127.0.0.1", 1)
	for _, tc := range []struct {
		name, method, origin string
		status               int
		allowOrigin          string
	}{
		{"no origin", "GET", "", 200, ""},
		{"the daemon's own page", "GET", self, 200, ""},
		{"an allowed site", "GET", "https://shop.example.com", 200, "https://shop.example.com"},
		{"another site", "GET", "https://evil.example.net", 403, ""},
		{"an allowed site's preflight", "OPTIONS", "https://shop.example.com", 204, "https://shop.example.com"},
		{"another site's preflight", "OPTIONS", "https://evil.example.net", 403, ""},
		{"same host, other port", "GET", "https://shop.example.com:8443", 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.origin != "" {
				hdr = append(hdr, "Origin: "+tc.origin)
			}
			if tc.method == "OPTIONS" {
				hdr = append(hdr, "Access-Control-Request-Method: GET", "Access-Control-Request-Headers: authorization,last-event-id")
			}
			r := e.request(tc.method, "/w/v1/messages", v.token, "", hdr...)
			if r.status != tc.status || r.header.Get("Access-Control-Allow-Origin") != tc.allowOrigin {
				t.Fatalf("%d, Access-Control-Allow-Origin %q; want %d %q (%s)", r.status, r.header.Get("Access-Control-Allow-Origin"), tc.status, tc.allowOrigin, r.raw)
			}
			if tc.status == 403 && r.errorCode() != "origin_not_allowed" {
				t.Errorf("refusal %s", r.raw)
			}
			if tc.method == "OPTIONS" && tc.status == 204 {
				for _, h := range []string{"Authorization", "Content-Type", "Last-Event-ID"} {
					if !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), h) {
						t.Errorf("preflight does not allow %s: %q", h, r.header.Get("Access-Control-Allow-Headers"))
					}
				}
			}
			if tc.origin != "" && tc.origin != self && !slices.Contains(r.header.Values("Vary"), "Origin") {
				t.Errorf("no Vary: Origin")
			}
		})
	}
	// A refused site changes nothing.
	body := `{"client_id":"x","text":"from evil"}`
	if r := e.request("POST", "/w/v1/messages", v.token, body, "Origin: https://evil.example.net"); r.status != 403 {
		t.Fatalf("post from another site: %d", r.status)
	}
	if n := len(e.transcript(v.conv)); n != 0 {
		t.Errorf("a refused site's message was stored")
	}

	any := newEnv(t, withConfig(func(c *Config) { c.AllowedOrigins = []string{"*"} }))
	w := any.session("{}")
	if r := any.request("GET", "/w/v1/messages", w.token, "", "Origin: https://anyone.example"); r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://anyone.example" {
		t.Errorf(`with "*": %d %q`, r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
}

func TestIdentifiedVisitors(t *testing.T) {
	e := newEnv(t)
	sign := func(id string) string {
		m := hmac.New(sha256.New, []byte("0123456789abcdef-secret"))
		m.Write([]byte(id))
		return hex.EncodeToString(m.Sum(nil))
	}
	body := func(id, hash string) string {
		b, _ := json.Marshal(map[string]string{"identifier": id, "identifier_hash": hash, "name": "Ann Lee"})
		return string(b)
	}
	laptop := e.session(body("ann@example.com", sign("ann@example.com")))
	phone := e.session(body("ann@example.com", sign("ann@example.com")))
	if laptop.conv != phone.conv || laptop.token == phone.token {
		t.Fatalf("devices: %+v %+v, want one conversation, two tokens", laptop, phone)
	}
	c, _ := e.st.Conversation(laptop.conv)
	if c.User.ID != "ann@example.com" || c.User.Name != "Ann Lee" {
		t.Errorf("user %+v", c.User)
	}
	// An anonymous visitor who signs in on the same browser gets their
	// own chat.
	anon := e.session("{}")
	b, _ := json.Marshal(map[string]string{"visitor_token": anon.token, "identifier": "ann@example.com", "identifier_hash": sign("ann@example.com")})
	if r := e.request("POST", "/w/v1/session", "", string(b)); r.body["conversation_id"] != laptop.conv || r.body["visitor_token"] == anon.token {
		t.Errorf("signing in: %s", r.raw)
	}
	for _, tc := range []struct{ name, body string }{
		{"wrong hash", body("ann@example.com", sign("bob@example.com"))},
		{"hash not hex", body("ann@example.com", "zz")},
		{"hash without identifier", body("", sign(""))},
		{"identifier without hash", body("ann@example.com", "")},
	} {
		if r := e.request("POST", "/w/v1/session", "", tc.body); r.status != 401 || r.errorCode() != "bad_identity" {
			t.Errorf("%s: %d %s", tc.name, r.status, r.raw)
		}
	}
	closed := newEnv(t, withConfig(func(c *Config) { c.IdentitySecret = "" }))
	if r := closed.request("POST", "/w/v1/session", "", body("ann@example.com", sign("ann@example.com"))); r.status != 401 || !strings.Contains(r.raw, "identity_secret") {
		t.Errorf("without a secret: %d %s", r.status, r.raw)
	}
}

func TestPagesAndWidgetScript(t *testing.T) {
	e := newEnv(t, withConfig(func(c *Config) { c.Title = `ACME <script>alert(1)</script>` }))
	page := e.request("GET", "/w/", "", "")
	csp := page.header.Get("Content-Security-Policy")
	if page.status != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		!strings.Contains(csp, "frame-ancestors 'self' https://shop.example.com") {
		t.Errorf("page %d, CSP %q", page.status, csp)
	}
	if page.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("page without nosniff")
	}
	if strings.Contains(page.raw, "<script>alert") || !strings.Contains(page.raw, "ACME &lt;script&gt;") {
		t.Errorf("the title is not escaped in the page: %s", page.raw)
	}
	if strings.Contains(strings.ToLower(page.raw), "<script>") || strings.Contains(page.raw, "style=") {
		t.Errorf("the page has inline script or style: %s", page.raw)
	}
	if r := e.request("GET", "/w/v1/config", "", ""); r.body["title"] != `ACME <script>alert(1)</script>` || r.body["max_message_chars"] != float64(50) {
		t.Errorf("config %s", r.raw)
	}

	// What a site's visitor downloads for the widget: the script, and its
	// style sheet when the chat opens.
	const budget = 40 << 10
	total := 0
	for _, path := range []string{"/w/widget.js", "/w/widget.css"} {
		req, _ := http.NewRequest("GET", e.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		gz, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s not gzipped", path)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		t.Logf("%s: %d bytes, %d gzipped", path, len(plain), len(gz))
		total += len(gz)
		if resp.Header.Get("ETag") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s headers %v", path, resp.Header)
		}
		again := e.request("GET", path, "", "", "If-None-Match: "+resp.Header.Get("ETag"))
		if again.status != http.StatusNotModified {
			t.Errorf("%s revalidation: %d", path, again.status)
		}
	}
	if total > budget {
		t.Errorf("the widget is %d bytes gzipped, over the %d budget", total, budget)
	}
	if r := e.request("GET", "/w/nothing.js", "", ""); r.status != 404 {
		t.Errorf("unknown asset: %d", r.status)
	}
}

func TestStreamsOverHTTP2(t *testing.T) {
	// HTTP/2 cannot hand a connection over: the stream runs in the handler.
	e := newEnv(t, overHTTP2)
	v := e.session("{}")
	s := e.open(v, "")
	if s.proto != 2 {
		t.Fatalf("the stream runs on HTTP/%d, want 2", s.proto)
	}
	s.next()
	e.send(v, "c1", "hello over h2")
	if evs := messages(s.until(isState("waiting_human"))); len(evs) != 2 || evs[0].data["text"] != "hello over h2" {
		t.Fatalf("events %v", evs)
	}
	again := e.open(v, "")
	if evs := messages(again.until(isState("waiting_human"))); len(evs) != 2 {
		t.Fatalf("a second stream replays %v", evs)
	}
}

func TestANewStreamEndsTheOldestBeyondTheLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []option
	}{{"HTTP/1.1", nil}, {"HTTP/2", []option{overHTTP2}}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			v := e.session("{}")
			var streams []*stream
			for range maxStreamsPerConversation {
				s := e.open(v, "")
				s.next()
				streams = append(streams, s)
			}
			newest := e.open(v, "")
			newest.next()
			select {
			case <-streams[0].done:
			case <-time.After(10 * time.Second):
				t.Fatal("the oldest stream is still open")
			}
			// The others still get what happens.
			e.send(v, "c1", "still here")
			for _, s := range append(streams[1:], newest) {
				if ev := s.next(); ev.data["text"] != "still here" {
					t.Fatalf("got %v", ev)
				}
			}
		})
	}
}

func TestShutdownEndsTheStreams(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []option
	}{{"HTTP/1.1", nil}, {"HTTP/2", []option{overHTTP2}}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			s := e.open(e.session("{}"), "")
			s.next()
			e.stop()
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the stream outlived the server's shutdown")
			}
		})
	}
}

// The line is the console's order (highest priority first, then oldest)
// and each place comes with a wait estimated from the line's recent time
// to an operator.
func TestLineFollowsPriorityWithAnEstimate(t *testing.T) {
	e := newEnv(t, withModel(&fakeModel{text: "ok"}))
	var vs []visitor
	for range 3 {
		v := e.session("{}")
		if r := e.request("POST", "/w/v1/handoff", v.token, ""); r.status != 200 {
			t.Fatalf("handoff: %d %s", r.status, r.raw)
		}
		vs = append(vs, v)
	}
	edit := func(id string, f func(h *conversation.Handoff)) {
		t.Helper()
		err := e.st.Update(context.Background(), func(tx *store.Tx) error {
			c, err := store.GetConversationTx(tx, id)
			if err != nil {
				return err
			}
			f(c.Handoff)
			return store.PutConversationTx(tx, &c)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The first was served after six minutes; the third is urgent.
	if _, err := e.eng.Do(context.Background(), vs[0].conv, conversation.Claimed{Operator: conversation.Operator{ID: "op-ann", Name: "Ann"}}); err != nil {
		t.Fatal(err)
	}
	edit(vs[0].conv, func(h *conversation.Handoff) {
		h.RequestedAt = h.JoinedAt.Add(-6 * time.Minute)
		h.Route = &conversation.Route{Department: "general", Priority: conversation.PriorityNormal, By: "default"}
	})
	edit(vs[2].conv, func(h *conversation.Handoff) {
		h.Route = &conversation.Route{Department: "general", Priority: conversation.PriorityUrgent, By: "default"}
	})
	edit(vs[1].conv, func(h *conversation.Handoff) {
		h.Route = &conversation.Route{Department: "general", Priority: conversation.PriorityNormal, By: "default"}
	})
	for i, want := range map[int][2]float64{2: {1, 6}, 1: {2, 12}} {
		s := e.open(vs[i], "")
		s.until(func(ev event) bool {
			return ev.typ == eventState && ev.data["position"] == want[0] && ev.data["wait_minutes"] == want[1]
		})
	}
}
