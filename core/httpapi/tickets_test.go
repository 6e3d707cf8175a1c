package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// ticketDesk is the store's tickets, with comments recorded as the engine
// would deliver them.
type ticketDesk struct {
	*store.Store
	delivered []store.TicketComment
}

func (d *ticketDesk) CommentTicket(ctx context.Context, id uint64, c store.TicketComment) (store.Ticket, error) {
	t, err := d.UpdateTicket(ctx, id, store.TicketChange{Comment: &c})
	if err == nil && c.Public {
		d.delivered = append(d.delivered, c)
	}
	return t, err
}

func newTicketServer(t *testing.T) (*httptest.Server, *ticketDesk) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := logrus.New()
	log.SetOutput(io.Discard)
	desk := &ticketDesk{Store: st}
	s, err := New(Config{MaxBodyBytes: 4096, APIKeys: []string{"k1"}, Tickets: desk}, st, stubChannels{}, nil,
		func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, desk
}

func TestTicketRoutes(t *testing.T) {
	srv, desk := newTicketServer(t)
	ctx := context.Background()
	conv, err := desk.CreateConversation(ctx, store.Conversation{Channel: "tg", Ref: "7", User: sdk.User{ID: "7", Name: "Ann"}})
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		return send(t, srv, method, path, "k1", "application/json", strings.NewReader(body))
	}

	code, v := call("POST", "/v1/tickets", `{"subject":"Refund","conversation_id":"`+conv.ID+`","tags":["billing"],"priority":"high"}`)
	if code != 201 || v["id"] != float64(1) || v["status"] != "open" || v["priority"] != "high" {
		t.Fatalf("create: %d %v", code, v)
	}
	if req := v["requester"].(map[string]any); req["channel"] != "tg" || req["user"].(map[string]any)["id"] != "7" {
		t.Errorf("requester from the conversation: %v", req)
	}
	for _, body := range []string{
		`{"subject":"Invoice","requester":{"channel":"line","user":{"id":"U1"}}}`,
		`{"subject":"Call back","status":"pending","tags":["phone"]}`,
	} {
		if code, v := call("POST", "/v1/tickets", body); code != 201 {
			t.Fatalf("create %s: %d %v", body, code, v)
		}
	}

	// Bad input: 400 naming the field, and nothing stored.
	for _, tc := range []struct{ body, field string }{
		{`{"subject":"  "}`, "subject"},
		{`{"subject":"x","status":"done"}`, "status"},
		{`{"subject":"x","priority":"asap"}`, "priority"},
		{`{"subject":"x","tags":["a",""]}`, "tags[1]"},
		{`{"subject":"x","requester":{"channel":"tg","user":{"name":"no id"}}}`, "requester.user.id"},
		{`{"subject":"x","requester":{"user":{"id":"1"}}}`, "requester.channel"},
		{`{"subject":"x","conversation_id":"c_nope"}`, "conversation_id"},
		{`{"subject":"x","colour":"red"}`, "colour"},
		{`{"subject":`, "malformed"},
	} {
		code, v := call("POST", "/v1/tickets", tc.body)
		msg, _ := v["error"].(map[string]any)["message"].(string)
		if code != 400 || !strings.Contains(msg, tc.field) {
			t.Errorf("%s: %d %q, want 400 naming %s", tc.body, code, msg, tc.field)
		}
	}

	// Lists: filters and pages.
	list := func(query string) ([]int, any) {
		t.Helper()
		code, v := call("GET", "/v1/tickets"+query, "")
		if code != 200 {
			t.Fatalf("list %s: %d %v", query, code, v)
		}
		var ids []int
		for _, t := range v["tickets"].([]any) {
			ids = append(ids, int(t.(map[string]any)["id"].(float64)))
		}
		return ids, v["next"]
	}
	for _, tc := range []struct {
		query string
		want  string
		next  any
	}{
		{"", "[1 2 3]", nil},
		{"?limit=2", "[1 2]", "2"},
		{"?after=2&limit=2", "[3]", nil},
		{"?status=pending", "[3]", nil},
		{"?priority=high", "[1]", nil},
		{"?tag=phone", "[3]", nil},
		{"?channel=line", "[2]", nil},
		{"?conversation_id=" + conv.ID, "[1]", nil},
	} {
		ids, next := list(tc.query)
		if got := fmt.Sprint(ids); got != tc.want || next != tc.next {
			t.Errorf("list %s: %v next %v, want %s next %v", tc.query, ids, next, tc.want, tc.next)
		}
	}
	for _, q := range []string{"?status=done", "?priority=asap", "?after=x", "?limit=0"} {
		if code, _ := call("GET", "/v1/tickets"+q, ""); code != 400 {
			t.Errorf("list %s: %d, want 400", q, code)
		}
	}

	// Get and update.
	if code, _ := call("GET", "/v1/tickets/99", ""); code != 404 {
		t.Errorf("unknown ticket: %d", code)
	}
	if code, _ := call("GET", "/v1/tickets/abc", ""); code != 404 {
		t.Errorf("not a number: %d", code)
	}
	if code, v := call("PATCH", "/v1/tickets/1", `{"status":"reopened"}`); code != 400 || !strings.Contains(v["error"].(map[string]any)["message"].(string), "status") {
		t.Errorf("bad status: %d %v", code, v)
	}
	code, v = call("PATCH", "/v1/tickets/1", `{"status":"pending","assignee":"bob","tags":["billing","vip"]}`)
	if code != 200 || v["status"] != "pending" || v["assignee"] != "bob" || len(v["tags"].([]any)) != 2 {
		t.Errorf("update: %d %v", code, v)
	}
	if code, _ := call("PATCH", "/v1/tickets/99", `{"status":"pending"}`); code != 404 {
		t.Errorf("update unknown: %d", code)
	}

	// Comments: private ones stay, public ones are delivered.
	if code, v := call("POST", "/v1/tickets/1/comments", `{"text":" "}`); code != 400 || !strings.Contains(v["error"].(map[string]any)["message"].(string), "text") {
		t.Errorf("empty comment: %d %v", code, v)
	}
	if code, _ := call("POST", "/v1/tickets/1/comments", `{"text":"checking with billing"}`); code != 200 {
		t.Errorf("private comment: %d", code)
	}
	code, v = call("POST", "/v1/tickets/1/comments", `{"text":"Your refund is on its way.","public":true,"author":"Bob"}`)
	if code != 200 || len(v["comments"].([]any)) != 2 {
		t.Fatalf("public comment: %d %v", code, v)
	}
	if len(desk.delivered) != 1 || desk.delivered[0].Text != "Your refund is on its way." || desk.delivered[0].Author != "Bob" {
		t.Errorf("delivered %+v", desk.delivered)
	}
	code, v = call("GET", "/v1/tickets/1", "")
	if code != 200 || v["status"] != "pending" || len(v["comments"].([]any)) != 2 {
		t.Errorf("get: %d %v", code, v)
	}
}

func TestTicketScopes(t *testing.T) {
	srv, desk := newTicketServer(t)
	secrets := map[string]string{}
	for name, scopes := range map[string][]string{
		"reader": {store.ScopeTicketsRead}, "writer": {store.ScopeTicketsWrite}, "convs": {store.ScopeRead, store.ScopeWrite},
	} {
		secret := store.NewKeySecret()
		secrets[name] = secret
		k := store.APIKey{Name: name, Hash: store.HashKey(secret), Scopes: scopes, CreatedAt: time.Now()}
		if err := desk.CreateAPIKey(context.Background(), &k); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		key, method, path string
		code              int
	}{
		{"writer", "POST", "/v1/tickets", 201},
		{"reader", "GET", "/v1/tickets", 200},
		{"reader", "GET", "/v1/tickets/1", 200},
		{"reader", "POST", "/v1/tickets", 403},
		{"reader", "PATCH", "/v1/tickets/1", 403},
		{"reader", "POST", "/v1/tickets/1/comments", 403},
		{"writer", "GET", "/v1/tickets", 403},
		{"convs", "GET", "/v1/tickets", 403},
		{"convs", "POST", "/v1/tickets", 403},
	} {
		code, _ := send(t, srv, tc.method, tc.path, secrets[tc.key], "application/json", strings.NewReader(`{"subject":"x"}`))
		if code != tc.code {
			t.Errorf("%s %s %s: %d, want %d", tc.key, tc.method, tc.path, code, tc.code)
		}
	}
}
