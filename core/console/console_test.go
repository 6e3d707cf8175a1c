package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/config"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/engine"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/internal/apitest"
	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/routing"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// channel is a visitor channel that records what it is asked to send.
type channel struct {
	mu     sync.Mutex
	sent   []string
	byChat map[string][]string
}

func (c *channel) Configure(context.Context, sdk.ConfigureRequest) (sdk.Capabilities, error) {
	return sdk.Capabilities{}, nil
}

func (c *channel) HandleWebhook(context.Context, sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	return sdk.WebhookResponse{}, nil
}

func (c *channel) Send(_ context.Context, out sdk.Outbound) (sdk.SendResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if out.Kind == sdk.OutText {
		c.sent = append(c.sent, out.Text)
		if c.byChat == nil {
			c.byChat = map[string][]string{}
		}
		c.byChat[out.Conversation] = append(c.byChat[out.Conversation], out.Text)
	}
	return sdk.SendResult{}, nil
}

func (c *channel) texts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sent...)
}

// chat is what one chat was sent.
func (c *channel) chat(ref string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.byChat[ref]...)
}

type channels map[string]*channel

func (cs channels) Channel(name string) (sdk.Channel, bool, error) {
	c, ok := cs[name]
	return c, ok, nil
}

func (cs channels) Capabilities(name string) (sdk.Capabilities, bool) {
	_, ok := cs[name]
	return sdk.Capabilities{}, ok
}

func (cs channels) Desk(string) (sdk.Desk, bool, error) { return nil, false, nil }

// clock is the test's clock: real time (or the instant it was frozen at)
// plus what the test skipped.
type clock struct {
	mu     sync.Mutex
	skip   time.Duration
	frozen time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen.Add(c.skip)
	}
	return time.Now().Add(c.skip)
}

// freeze stops the clock where it is: only add moves it on.
func (c *clock) freeze() {
	c.mu.Lock()
	c.frozen = time.Now()
	c.mu.Unlock()
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.skip += d
	c.mu.Unlock()
}

// env is a console over a real store and engine, without a model: every
// visitor message goes to the console's queue.
type env struct {
	t     *testing.T
	st    *store.Store
	acc   *accounts.Accounts
	con   *Server
	srv   *httptest.Server
	tg    *channel
	clock *clock
	live  *live.Hub
	kb    *kb.KB
}

func newEnv(t *testing.T) *env { return newRoutedEnv(t, nil, Routing{}) }

// newRoutedEnv is newEnv with handoffs classified by table and the
// queue handed out by r.
func newRoutedEnv(t *testing.T, table *routing.Table, r Routing) *env {
	t.Helper()
	e := &env{t: t, tg: &channel{}, clock: &clock{}, live: live.NewHub()}
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	log := logrus.New()
	log.SetOutput(io.Discard)
	eng := engine.New(engine.Config{
		Rules: conversation.Policy{Desk: conversation.ConsoleDesk, MaxBotFailures: 2, ReturnToBot: true,
			Messages: conversation.Messages{Handoff: "connecting you", Fallback: "sorry", Closed: "bye for now", Cancel: "back with the bot"}},
		Concurrency: 1,
		Routing:     table,
	}, st, channels{"tg": e.tg}, nil, log)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.acc = accounts.New(st, e.clock.now)
	if e.kb, err = kb.Open(context.Background(), st, kb.Options{}); err != nil {
		t.Fatal(err)
	}
	e.con, err = New(Config{SessionLifetime: time.Hour, Now: e.clock.now, Routing: r, Knowledge: answers{e.kb}}, st, eng, e.live, e.acc, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go e.con.Run(ctx)
	e.srv = httptest.NewServer(e.con)
	t.Cleanup(func() {
		e.con.Close()
		e.srv.Close()
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		eng.Stop(sctx)
		st.Close()
	})
	return e
}

// answers is the knowledge base answering at the default thresholds.
type answers struct{ *kb.KB }

func (a answers) Decide(ctx context.Context, question string) (kb.Decision, error) {
	c := config.Default().KB
	return a.Answerer(kb.Thresholds{Answer: c.AnswerThreshold, Margin: c.AnswerMargin, Suggest: c.SuggestThreshold}).Decide(ctx, question)
}

// operator creates an account and returns a client signed in as it.
func (e *env) operator(email, name, role string) *client {
	e.t.Helper()
	if _, err := e.acc.Add(context.Background(), accounts.NewOperator{Email: email, Name: name, Role: role, Password: "password of " + name}, nil); err != nil {
		e.t.Fatal(err)
	}
	c := e.client()
	var out struct {
		Operator operatorView `json:"operator"`
	}
	if code := c.do("POST", "/op/v1/login", map[string]string{"email": email, "password": "password of " + name}, &out); code != 200 {
		e.t.Fatalf("login of %s: %d", email, code)
	}
	c.id = out.Operator.ID
	return c
}

// client is a browser: it keeps cookies and sends same-origin headers.
type client struct {
	e    *env
	http *http.Client
	id   string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: apitest.New(e.t, httpapi.OpenAPI()).Transport(nil)}}
}

// request sends a request as the console page would.
func (c *client) request(method, path string, body any, header http.Header) *http.Response {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func (c *client) do(method, path string, body, out any) int {
	c.e.t.Helper()
	resp := c.request(method, path, body, nil)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.e.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// waiting commits a Telegram visitor's message and waits until the
// conversation waits in the console's queue.
func (e *env) waiting(chat, text string) string {
	e.t.Helper()
	res, err := e.st.CommitEvents(context.Background(), "tg", []sdk.Event{{
		ID: store.NewID("e_"), Kind: sdk.KindMessage, Conversation: chat, User: sdk.User{ID: chat, Name: "Visitor " + chat}, Text: text,
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	id := res.Accepted[0].ConversationID
	e.eventually("the conversation waits", func() bool {
		c, err := e.st.Conversation(id)
		return err == nil && c.State == conversation.WaitingHuman
	})
	return id
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestTwoOperatorsClaimingAtOnce(t *testing.T) {
	e := newEnv(t)
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	bob := e.operator("bob@example.com", "Bob", accounts.RoleAgent)
	id := e.waiting("100", "I need help")

	codes := make(chan int, 2)
	var start sync.WaitGroup
	start.Add(1)
	for _, c := range []*client{ann, bob} {
		go func() {
			start.Wait()
			codes <- c.do("POST", "/op/v1/conversations/"+id+"/claim", nil, nil)
		}()
	}
	start.Done()
	got := map[int]int{}
	for range 2 {
		got[<-codes]++
	}
	if got[200] != 1 || got[409] != 1 {
		t.Fatalf("claims answered %v, want exactly one 200 and one 409", got)
	}
	c, _ := e.st.Conversation(id)
	if c.State != conversation.Human || (c.Handoff.Assignee != ann.id && c.Handoff.Assignee != bob.id) {
		t.Fatalf("conversation %s held by %q", c.State, c.Handoff.Assignee)
	}
	holder, other := ann, bob
	if c.Handoff.Assignee == bob.id {
		holder, other = bob, ann
	}
	if code := holder.do("POST", "/op/v1/conversations/"+id+"/claim", nil, nil); code != 200 {
		t.Errorf("the holder claiming again: %d, want 200", code)
	}
	var refusal errorBody
	if code := other.do("POST", "/op/v1/conversations/"+id+"/messages", map[string]any{"text": "me too"}, &refusal); code != 409 || !strings.Contains(refusal.Error.Message, "holds the conversation") {
		t.Errorf("the other operator replying: %d %+v, want 409 naming the holder", code, refusal)
	}
	entries, _ := e.st.Audit(0, 0)
	var claims []string
	for _, en := range entries {
		if en.Action == "conversation.claim" {
			claims = append(claims, en.Result)
		}
	}
	if len(claims) != 3 {
		t.Errorf("audited claims %q, want three (one refused)", claims)
	}
}

func TestRepliesAreSentAndPrivateNotesNever(t *testing.T) {
	e := newEnv(t)
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	id := e.waiting("200", "where is my parcel?")
	base := "/op/v1/conversations/" + id

	if code := ann.do("POST", base+"/messages", map[string]any{"text": "VIP: refund without questions", "private": true}, nil); code != 202 {
		t.Fatalf("private note: %d", code)
	}
	var out struct {
		Conversation ConversationView `json:"conversation"`
	}
	if code := ann.do("POST", base+"/messages", map[string]any{"text": "Hello, I'm Ann. Let me check."}, &out); code != 202 {
		t.Fatalf("reply: %d", code)
	}
	if out.Conversation.State != conversation.Human || out.Conversation.Handoff.Assignee != ann.id {
		t.Errorf("after the first reply the conversation is %s held by %q, want held by Ann", out.Conversation.State, out.Conversation.Handoff.Assignee)
	}
	e.eventually("the reply on Telegram", func() bool { return len(e.tg.texts()) == 2 })
	if code := ann.do("POST", base+"/messages", map[string]any{"text": "second note", "private": true}, nil); code != 202 {
		t.Fatalf("second note: %d", code)
	}
	if code := ann.do("POST", base+"/close", nil, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	e.eventually("the closing line", func() bool { return len(e.tg.texts()) == 3 })
	if got := strings.Join(e.tg.texts(), " | "); got != "connecting you | Hello, I'm Ann. Let me check. | bye for now" {
		t.Errorf("the visitor got %q: notes must never be sent", got)
	}
	var msgs struct {
		Messages []MessageView `json:"messages"`
	}
	ann.do("GET", base+"/messages", nil, &msgs)
	var notes []string
	for _, m := range msgs.Messages {
		if m.Private {
			notes = append(notes, m.Text)
			if m.Author == nil || m.Author.Name != "Ann" {
				t.Errorf("note %q by %v, want Ann", m.Text, m.Author)
			}
		}
	}
	if len(notes) != 2 {
		t.Errorf("notes in the transcript %q, want both", notes)
	}

	for _, tc := range []struct {
		body any
		code int
	}{
		{map[string]any{"text": "  "}, 400},
		{map[string]any{"text": strings.Repeat("é", MaxMessage+1)}, 400},
		{map[string]any{"text": "hi", "extra": 1}, 400},
		{map[string]any{"text": "after close"}, 409}, // back with the bot
	} {
		if code := ann.do("POST", base+"/messages", tc.body, nil); code != tc.code {
			t.Errorf("message %v: %d, want %d", tc.body, code, tc.code)
		}
	}
	if code := ann.do("POST", "/op/v1/conversations/c_nope/messages", map[string]any{"text": "hi"}, nil); code != 404 {
		t.Errorf("unknown conversation: %d", code)
	}
}

func TestSignInErrorsLookAlike(t *testing.T) {
	e := newEnv(t)
	e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	dis := e.operator("dis@example.com", "Dis", accounts.RoleAgent)
	if _, err := e.acc.Disable(context.Background(), dis.id); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, cred := range []map[string]string{
		{"email": "ann@example.com", "password": "wrong password"},
		{"email": "nobody@example.com", "password": "password of Ann"},
		{"email": "dis@example.com", "password": "password of Dis"},
	} {
		resp := e.client().request("POST", "/op/v1/login", cred, nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
			t.Errorf("%v: %d with cookies %v, want 401 and none", cred, resp.StatusCode, resp.Cookies())
		}
		bodies = append(bodies, string(body))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Errorf("the answers differ:\n%s", strings.Join(bodies, "\n"))
	}
	resp := e.client().request("POST", "/op/v1/login", map[string]string{"email": "ann@example.com", "password": "password of Ann"}, nil)
	resp.Body.Close()
	if len(resp.Cookies()) != 1 {
		t.Fatalf("cookies %v", resp.Cookies())
	}
	ck := resp.Cookies()[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/op/" || ck.Secure {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/op/ (and not Secure over plain HTTP)", ck)
	}
}

func TestSignInRateLimit(t *testing.T) {
	e := newEnv(t)
	e.clock.freeze() // the limits count attempts per minute: a slow machine must not refill them
	if _, err := e.acc.Add(context.Background(), accounts.NewOperator{Email: "ann@example.com", Name: "Ann", Role: accounts.RoleAgent, Password: "password of Ann"}, nil); err != nil {
		t.Fatal(err)
	}
	try := func(email, ip string) int {
		body := []byte(`{"email":"` + email + `","password":"wrong password"}`)
		req := httptest.NewRequest("POST", "/op/v1/login", bytes.NewReader(body))
		req.RemoteAddr = ip + ":1234"
		rec := httptest.NewRecorder()
		e.con.ServeHTTP(rec, req)
		apitest.New(t, httpapi.OpenAPI()).Recorded(req, body, rec)
		return rec.Code
	}
	for i := range accountBurst {
		if code := try("ann@example.com", "192.0.2.1"); code != 401 {
			t.Fatalf("attempt %d: %d, want 401", i+1, code)
		}
	}
	if code := try("ANN@example.com", "192.0.2.2"); code != 429 {
		t.Errorf("one attempt too many for the account, from another address: %d, want 429", code)
	}
	if code := try("bob@example.com", "192.0.2.1"); code != 401 {
		t.Errorf("another account from the same address: %d, want 401", code)
	}
	for i := range addressBurst {
		try("user"+string(rune('a'+i))+"@example.com", "198.51.100.7")
	}
	if code := try("zed@example.com", "198.51.100.7"); code != 429 {
		t.Errorf("one attempt too many from an address: %d, want 429", code)
	}
	e.clock.add(time.Minute)
	if code := try("ann@example.com", "192.0.2.3"); code != 401 {
		t.Errorf("a minute later: %d, want 401 again", code)
	}
}

func TestExpiredOrDisabledSessionGets401(t *testing.T) {
	e := newEnv(t)
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	if code := ann.do("GET", "/op/v1/me", nil, nil); code != 200 {
		t.Fatalf("me: %d", code)
	}
	e.clock.add(time.Hour)
	var body errorBody
	if code := ann.do("GET", "/op/v1/me", nil, &body); code != 401 || body.Error.Code != "unauthorized" {
		t.Errorf("after the session lifetime: %d %+v, want 401", code, body)
	}
	if code := ann.do("GET", "/op/v1/conversations", nil, nil); code != 401 {
		t.Errorf("conversations after expiry: %d", code)
	}

	bob := e.operator("bob@example.com", "Bob", accounts.RoleAgent)
	if _, err := e.acc.Disable(context.Background(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if code := bob.do("GET", "/op/v1/conversations", nil, nil); code != 401 {
		t.Errorf("a disabled operator: %d, want 401", code)
	}
	if code := e.client().do("GET", "/op/v1/me", nil, nil); code != 401 {
		t.Errorf("without a cookie: %d", code)
	}
	cat := e.operator("cat@example.com", "Cat", accounts.RoleAgent)
	if code := cat.do("POST", "/op/v1/logout", nil, nil); code != 204 {
		t.Errorf("logout: %d", code)
	}
	if code := cat.do("GET", "/op/v1/me", nil, nil); code != 401 {
		t.Errorf("after logout: %d", code)
	}
}

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	e := newEnv(t)
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	id := e.waiting("300", "hello")
	for _, h := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Sec-Fetch-Site": nil, "Origin": {"https://evil.example"}},
	} {
		resp := ann.request("POST", "/op/v1/conversations/"+id+"/claim", nil, h)
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("claim with %v: %d, want 403", h, resp.StatusCode)
		}
		resp = ann.request("POST", "/op/v1/login", map[string]string{"email": "ann@example.com", "password": "password of Ann"}, h)
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("login with %v: %d, want 403", h, resp.StatusCode)
		}
	}
	if c, _ := e.st.Conversation(id); c.State != conversation.WaitingHuman {
		t.Errorf("a refused cross-origin claim changed the conversation to %s", c.State)
	}
	if code := ann.do("GET", "/op/v1/conversations", nil, nil); code != 200 {
		t.Errorf("a same-origin read: %d", code)
	}
}

func TestQueueActionsAndAdmins(t *testing.T) {
	e := newEnv(t)
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	bob := e.operator("bob@example.com", "Bob", accounts.RoleAgent)
	boss := e.operator("boss@example.com", "Boss", accounts.RoleAdmin)
	first := e.waiting("401", "first")
	second := e.waiting("402", "second")
	var list struct {
		Conversations []ConversationView `json:"conversations"`
	}
	ann.do("GET", "/op/v1/conversations", nil, &list)
	if len(list.Conversations) != 2 || list.Conversations[0].ID != first || list.Conversations[0].WaitingSince == nil {
		t.Fatalf("queue %+v, want both, the longest waiting first", list.Conversations)
	}
	if s := list.Conversations[0].Handoff.Summary; !strings.Contains(s, "Visitor 401 on tg") || !strings.Contains(s, "first") {
		t.Errorf("summary %q", s)
	}
	ann.do("POST", "/op/v1/conversations/"+first+"/claim", nil, nil)
	for _, tc := range []struct {
		query string
		want  int
	}{{"?assignee=me", 1}, {"?assignee=none", 1}, {"?state=waiting_human", 1}, {"?state=human", 1}} {
		ann.do("GET", "/op/v1/conversations"+tc.query, nil, &list)
		if len(list.Conversations) != tc.want {
			t.Errorf("%s: %d conversations, want %d", tc.query, len(list.Conversations), tc.want)
		}
	}
	if code := ann.do("GET", "/op/v1/conversations?state=open", nil, nil); code != 400 {
		t.Errorf("unknown state: %d", code)
	}
	first1 := "/op/v1/conversations/" + first
	if code := bob.do("POST", first1+"/close", nil, nil); code != 409 {
		t.Errorf("an agent closing another's conversation: %d, want 409", code)
	}
	if code := bob.do("POST", first1+"/transfer", map[string]string{"operator_id": bob.id}, nil); code != 409 {
		t.Errorf("an agent taking another's conversation: %d, want 409", code)
	}
	if code := ann.do("POST", first1+"/transfer", map[string]string{"operator_id": "op_nobody"}, nil); code != 400 {
		t.Errorf("transfer to nobody: %d, want 400", code)
	}
	var out struct {
		Conversation ConversationView `json:"conversation"`
	}
	if code := ann.do("POST", first1+"/transfer", map[string]string{"operator_id": bob.id}, &out); code != 200 || out.Conversation.Handoff.Assignee != bob.id {
		t.Errorf("transfer to Bob: %d, held by %q", code, out.Conversation.Handoff.Assignee)
	}
	if code := boss.do("POST", first1+"/release", nil, &out); code != 200 || out.Conversation.State != conversation.WaitingHuman {
		t.Errorf("an admin releasing Bob's conversation: %d %s", code, out.Conversation.State)
	}
	if code := bob.do("POST", first1+"/return-to-bot", nil, &out); code != 200 || out.Conversation.State != conversation.Bot {
		t.Errorf("return to the bot: %d %s", code, out.Conversation.State)
	}
	if code := bob.do("POST", first1+"/claim", nil, nil); code != 409 {
		t.Errorf("claiming a bot conversation: %d, want 409", code)
	}
	if code := bob.do("POST", first1+"/takeover", nil, &out); code != 200 || out.Conversation.State != conversation.Human || out.Conversation.Handoff.Assignee != bob.id {
		t.Errorf("take over from the bot: %d %+v", code, out.Conversation)
	}
	bob.do("GET", "/op/v1/conversations?state=bot", nil, &list)
	if len(list.Conversations) != 0 {
		t.Errorf("bot list %v after the takeover", list.Conversations)
	}
	if code := bob.do("POST", "/op/v1/conversations/"+second+"/close", nil, &out); code != 200 || out.Conversation.State != conversation.Bot {
		t.Errorf("closing a waiting conversation nobody holds: %d %s, want 200 and back to the bot", code, out.Conversation.State)
	}
	if code := bob.do("POST", "/op/v1/conversations/"+second+"/close", nil, nil); code != 409 {
		t.Errorf("closing it again: %d, want 409", code)
	}
	var detail struct {
		ConversationView
		Transitions []conversation.Transition `json:"transitions"`
	}
	if code := boss.do("GET", first1, nil, &detail); code != 200 || len(detail.Transitions) < 4 {
		t.Errorf("detail: %d, %d transitions", code, len(detail.Transitions))
	}
	entries, _ := e.st.Audit(0, 0)
	seen := map[string]bool{}
	for _, en := range entries {
		seen[en.Action] = true
	}
	for _, want := range []string{"operator.login", "conversation.claim", "conversation.transfer", "conversation.close", "conversation.release", "conversation.takeover", "conversation.return_to_bot"} {
		if !seen[want] {
			t.Errorf("no %s in the audit log", want)
		}
	}
}

func TestCannedReplies(t *testing.T) {
	e := newEnv(t)
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	var c store.CannedReply
	if code := ann.do("POST", "/op/v1/canned", map[string]string{"shortcut": "/thanks", "text": "Thank you for waiting!"}, &c); code != 201 || c.Shortcut != "thanks" || c.CreatedBy != "Ann" {
		t.Fatalf("create: %d %+v", code, c)
	}
	for _, tc := range []struct {
		body map[string]string
		code int
	}{
		{map[string]string{"shortcut": "thanks", "text": "again"}, 409},
		{map[string]string{"shortcut": "two words", "text": "x"}, 400},
		{map[string]string{"shortcut": "", "text": "x"}, 400},
		{map[string]string{"shortcut": "退款", "text": "您好，退款将在三天内到账。"}, 201},
	} {
		if code := ann.do("POST", "/op/v1/canned", tc.body, nil); code != tc.code {
			t.Errorf("create %v: %d, want %d", tc.body, code, tc.code)
		}
	}
	if code := ann.do("PUT", "/op/v1/canned/"+c.ID, map[string]string{"shortcut": "thanks", "text": "Thanks!"}, nil); code != 200 {
		t.Errorf("edit: %d", code)
	}
	var list struct {
		Canned []store.CannedReply `json:"canned"`
	}
	ann.do("GET", "/op/v1/canned", nil, &list)
	if len(list.Canned) != 2 || list.Canned[0].Text != "Thanks!" {
		t.Errorf("list %+v", list.Canned)
	}
	if code := ann.do("DELETE", "/op/v1/canned/"+c.ID, nil, nil); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code := ann.do("DELETE", "/op/v1/canned/"+c.ID, nil, nil); code != 404 {
		t.Errorf("delete twice: %d", code)
	}
}

func TestSetupLinkCreatesTheFirstAdminOnce(t *testing.T) {
	e := newEnv(t)
	link, _, ok, err := e.con.SetupLink(context.Background())
	if err != nil || !ok {
		t.Fatalf("setup link: %v %v", ok, err)
	}
	token := link[strings.Index(link, "#setup=")+len("#setup="):]
	c := e.client()
	body := map[string]string{"token": token, "email": "root@example.com", "name": "Root", "password": "short"}
	if code := c.do("POST", "/op/v1/setup", body, nil); code != 400 {
		t.Errorf("short password: %d", code)
	}
	body["password"] = "a long password"
	var out struct {
		Operator operatorView `json:"operator"`
	}
	if code := c.do("POST", "/op/v1/setup", body, &out); code != 200 || out.Operator.Role != accounts.RoleAdmin {
		t.Fatalf("setup: %d %+v", code, out)
	}
	if code := c.do("GET", "/op/v1/me", nil, nil); code != 200 {
		t.Errorf("signed in after setup: %d", code)
	}
	body["email"] = "eve@example.com"
	if code := e.client().do("POST", "/op/v1/setup", body, nil); code != 403 {
		t.Errorf("the link used twice: %d, want 403", code)
	}
	if _, _, ok, _ := e.con.SetupLink(context.Background()); ok {
		t.Error("a setup link while an administrator exists")
	}
}

// sseEvent is one event read from a stream.
type sseEvent struct {
	id, typ, data string
}

// stream opens the event stream and returns its events as they come.
func (c *client) stream(ctx context.Context, lastID string) <-chan sseEvent {
	c.e.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.e.srv.URL+"/op/v1/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.http.Do(req)
	if err != nil || resp.StatusCode != 200 {
		c.e.t.Fatalf("stream: %v %v", err, resp)
	}
	out := make(chan sseEvent, 256)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.typ != "" || ev.data != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return out
}

// next returns the next event of a type, skipping others.
func next(t *testing.T, events <-chan sseEvent, typ string, match func(string) bool) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended before a %s event", typ)
			}
			if ev.typ == typ && (match == nil || match(ev.data)) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

func TestEventStream(t *testing.T) {
	e := newEnv(t)
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	bob := e.operator("bob@example.com", "Bob", accounts.RoleAgent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := ann.stream(ctx, "")
	ready := next(t, events, EventReady, nil)

	id := e.waiting("500", "<img src=x onerror=alert(1)>")
	msg := next(t, events, EventMessage, func(d string) bool { return strings.Contains(d, "onerror") })
	var m messageEvent
	json.Unmarshal([]byte(msg.data), &m)
	if m.ConversationID != id || m.Message.Text != "<img src=x onerror=alert(1)>" || m.Message.Role != conversation.RoleVisitor {
		t.Errorf("message event %+v", m)
	}
	waiting := next(t, events, EventConversation, func(d string) bool { return strings.Contains(d, `"waiting_human"`) })
	if !strings.Contains(waiting.data, id) || waiting.id <= ready.id {
		t.Errorf("conversation event %s %s after ready %s", waiting.id, waiting.data, ready.id)
	}

	e.live.Publish(live.Signal{Kind: live.Typing, ConversationID: id, From: "visitor"})
	typing := next(t, events, EventTyping, nil)
	if !strings.Contains(typing.data, `"from":"visitor"`) {
		t.Errorf("typing %s", typing.data)
	}
	bob.do("POST", "/op/v1/conversations/"+id+"/typing", nil, nil)
	if ev := next(t, events, EventTyping, nil); !strings.Contains(ev.data, `"name":"Bob"`) {
		t.Errorf("a colleague typing: %s", ev.data)
	}
	if code := bob.do("PUT", "/op/v1/me/presence", map[string]string{"status": "away"}, nil); code != 200 {
		t.Fatalf("presence: %d", code)
	}
	if code := bob.do("PUT", "/op/v1/me/presence", map[string]string{"status": "busy"}, nil); code != 400 {
		t.Errorf("unknown presence: %d", code)
	}
	cancel()

	// Reconnecting with the last id seen gets exactly what was missed.
	bob.do("POST", "/op/v1/conversations/"+id+"/claim", nil, nil)
	bob.do("POST", "/op/v1/conversations/"+id+"/messages", map[string]any{"text": "one"}, nil)
	bob.do("POST", "/op/v1/conversations/"+id+"/messages", map[string]any{"text": "two", "private": true}, nil)
	e.eventually("the hub to see the note", func() bool {
		h := e.con.hub
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.ring) > 0 && strings.Contains(string(h.ring[len(h.ring)-1].data), `"text":"two"`)
	})
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	resumed := ann.stream(ctx2, msg.id)
	var texts []string
	for len(texts) < 4 {
		ev := next(t, resumed, EventMessage, nil)
		var m messageEvent
		json.Unmarshal([]byte(ev.data), &m)
		texts = append(texts, m.Message.Text)
	}
	if got := strings.Join(texts, " | "); got != "connecting you | Bob joined the conversation. | one | two" {
		t.Errorf("after resuming: %q", got)
	}
	cancel2()

	// An id from an earlier run of the daemon (or too old) resyncs.
	ctx3, cancel3 := context.WithCancel(context.Background())
	defer cancel3()
	if ev := next(t, ann.stream(ctx3, "1"), EventResync, nil); ev.id == "" {
		t.Error("resync without an id")
	}
}

// With no console open for a while the hub stops reading changes; a
// console resuming across that gap is told to reload.
func TestEventsPauseWithoutConsoles(t *testing.T) {
	e := newEnv(t)
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	ctx, cancel := context.WithCancel(context.Background())
	ready := next(t, ann.stream(ctx, ""), EventReady, nil)
	cancel()
	e.eventually("the stream to close", func() bool {
		e.con.hub.mu.Lock()
		defer e.con.hub.mu.Unlock()
		return len(e.con.hub.subs) == 0
	})
	e.clock.add(reconnectGrace)
	e.waiting("900", "anyone there?")
	e.eventually("the hub to drop the change", func() bool {
		e.con.hub.mu.Lock()
		defer e.con.hub.mu.Unlock()
		return e.con.hub.idle
	})
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	events := ann.stream(ctx2, ready.id)
	next(t, events, EventResync, nil)
	e.waiting("901", "hello?")
	next(t, events, EventConversation, func(d string) bool { return strings.Contains(d, `"id":"901"`) })
}

func TestHubKeepsTheLatestEvents(t *testing.T) {
	h := newHub(nil, time.Now, logrus.New())
	_, start, stop := h.subscribe()
	defer stop()
	total := 2*ringSize + 10
	for range total {
		h.publish([]hubEvent{{typ: EventMessage, data: json.RawMessage(`{}`)}})
	}
	last := start + uint64(total)
	for _, tc := range []struct {
		name  string
		after uint64
		n     int
		ok    bool
	}{
		{"up to date", last, 0, true},
		{"a few behind", last - 3, 3, true},
		{"ringSize behind", last - ringSize, ringSize, true},
		{"too far behind", start, 0, false},
		{"from the future (another run)", last + 1, 0, false},
	} {
		events, latest, ok := h.since(tc.after)
		if ok != tc.ok || len(events) != tc.n || latest != last {
			t.Errorf("%s: %d events, latest %d, ok %v; want %d, %d, %v", tc.name, len(events), latest, ok, tc.n, last, tc.ok)
			continue
		}
		for i, e := range events {
			if e.id != tc.after+uint64(i)+1 {
				t.Errorf("%s: event %d has id %d, want %d", tc.name, i, e.id, tc.after+uint64(i)+1)
				break
			}
		}
	}
}

func TestAdminsManageTheTeam(t *testing.T) {
	e := newEnv(t)
	boss := e.operator("boss@example.com", "Boss", accounts.RoleAdmin)
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	newbie := map[string]string{"email": "new@example.com", "name": "New", "role": "agent", "password": "first password"}
	if code := ann.do("POST", "/op/v1/operators", newbie, nil); code != 403 {
		t.Errorf("an agent adding a colleague: %d, want 403", code)
	}
	var added operatorView
	if code := boss.do("POST", "/op/v1/operators", newbie, &added); code != 201 || added.Email != "new@example.com" {
		t.Fatalf("add: %d %+v", code, added)
	}
	if code := boss.do("POST", "/op/v1/operators", newbie, nil); code != 409 {
		t.Errorf("the same email again: %d", code)
	}
	if code := boss.do("POST", "/op/v1/operators", map[string]string{"email": "x@example.com", "name": "X", "role": "agent", "password": "short"}, nil); code != 400 {
		t.Errorf("a short password: %d", code)
	}
	if code := boss.do("POST", "/op/v1/operators/"+boss.id+"/disable", nil, nil); code != 409 {
		t.Errorf("disabling oneself: %d, want 409", code)
	}
	if code := ann.do("POST", "/op/v1/operators/"+boss.id+"/disable", nil, nil); code != 403 {
		t.Errorf("an agent disabling an admin: %d, want 403", code)
	}
	if code := boss.do("POST", "/op/v1/operators/"+ann.id+"/disable", nil, nil); code != 200 {
		t.Fatalf("disable: %d", code)
	}
	if code := ann.do("GET", "/op/v1/me", nil, nil); code != 401 {
		t.Errorf("a disabled colleague's session: %d, want 401", code)
	}
	var list struct {
		Operators []operatorView `json:"operators"`
	}
	boss.do("GET", "/op/v1/operators?all=1", nil, &list)
	if len(list.Operators) != 3 {
		t.Errorf("all operators for an admin: %+v", list.Operators)
	}
	boss.do("GET", "/op/v1/operators", nil, &list)
	if len(list.Operators) != 2 {
		t.Errorf("active operators: %+v", list.Operators)
	}
	if code := boss.do("POST", "/op/v1/operators/"+ann.id+"/enable", nil, nil); code != 200 {
		t.Errorf("enable: %d", code)
	}
}

// inlineHandler is an event handler attribute, such as onclick=.
var inlineHandler = regexp.MustCompile(`\son[a-z]+\s*=`)

// The console's page runs only the daemon's own scripts and styles, and no
// other site may frame it: the headers of the page, its assets and its API,
// and the page itself (no inline script, style or handler to allow).
func TestConsolePagesForbidInlineScriptAndFraming(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/console/", "/console/app.js", "/console/app.css", "/op/v1/me", "/op/v1/nothing"} {
		resp := e.client().request("GET", path, nil, nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows inline code", path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Frame-Options %q, X-Content-Type-Options %q", path, h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
		}
		if path != "/console/" {
			continue
		}
		page := strings.ToLower(string(body))
		if resp.StatusCode != 200 || !strings.Contains(page, `<script type="module" src="/console/app.js">`) {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if strings.Count(page, "<script") != strings.Count(page, "<script type=\"module\" src=") {
			t.Errorf("the page has an inline script: %s", body)
		}
		if strings.Contains(page, "<style") || strings.Contains(page, " style=") || inlineHandler.MatchString(page) ||
			strings.Contains(page, "javascript:") {
			t.Errorf("the page has inline style or handlers: %s", body)
		}
	}
}
