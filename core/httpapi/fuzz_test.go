package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// FuzzRESTBodies throws arbitrary bodies at the endpoints that decode JSON:
// the server must never fail (5xx) or panic, and a rejected body must
// change nothing.
func FuzzRESTBodies(f *testing.F) {
	for _, seed := range []string{
		`{"user":{"id":"u1","name":"Ann"}}`, `{"text":"hello"}`, `{"reason":"vip"}`,
		`{"name":"crm","scopes":["admin"],"allow_ips":["10.0.0.0/8"],"rate":"20/s"}`,
		`{`, `[]`, `null`, `{"user":{"id":""}}`, `{"text":"\u0000"}`, `{"a":1} {"b":2}`,
		`{"name":"x","scopes":["admin"],"rate":"1e400/s"}`, `{"user":{"id":"u","name":123}}`,
	} {
		for _, path := range []string{"/v1/conversations", "/messages", "/v1/admin/apikeys"} {
			f.Add(path, seed)
		}
	}
	dir := f.TempDir()
	st, err := store.Open(filepath.Join(dir, "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := New(Config{MaxBodyBytes: 4096, APIKeys: []string{"k"}}, st, stubChannels{}, nil,
		func() (bool, any) { return true, nil }, log)
	if err != nil {
		f.Fatal(err)
	}
	conv, err := st.CreateConversation(f.Context(), store.Conversation{Channel: APIChannel})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, path, body string) {
		switch path {
		case "/messages":
			path = "/v1/conversations/" + conv.ID + "/messages"
		case "/v1/conversations", "/v1/admin/apikeys":
		default:
			return
		}
		before, _ := st.Messages(conv.ID, 0, 0)
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			after, _ := st.Messages(conv.ID, 0, 0)
			if len(after) != len(before) {
				t.Fatalf("%s %q: rejected with %d but a message was stored", path, body, rec.Code)
			}
		}
	})
}

// listRoutes are the /v1 list routes, with {conv} and {hook} for a
// conversation's and a subscription's id.
var listRoutes = []string{
	"/v1/conversations",
	"/v1/conversations/{conv}/messages",
	"/v1/conversations/{conv}/transitions",
	"/v1/conversations/{conv}/ratings",
	"/v1/admin/apikeys",
	"/v1/admin/audit",
	"/v1/admin/deadletters",
	"/v1/admin/oauth-clients",
	"/v1/admin/operators",
	"/v1/webhooks",
	"/v1/webhooks/{hook}/deliveries",
	"/v1/kb/documents",
	"/v1/kb/gaps",
	"/v1/tickets",
	"/v1/stats",
}

// FuzzListQueries throws arbitrary query strings at every /v1 list route:
// the server must never fail (5xx) or panic, must answer JSON, and a
// next_cursor it gives must be accepted back.
func FuzzListQueries(f *testing.F) {
	for _, seed := range []string{
		"", "limit=1", "limit=0", "limit=1001", "limit=-5", "limit=99999999999999999999",
		"order=desc&limit=2", "order=sideways", "cursor=", "cursor=%%", "cursor=YQ", "cursor=ZAAAAAAAAAAB&order=desc",
		"after=18446744073709551615", "after=-1", "after=1&cursor=YQAAAAAAAAAB", "wait=1s&order=desc", "wait=1ms",
		"state=human", "state=%00", "from=9999-12-31", "to=9999-12-31", "from=2025-01-01&to=2024-01-01",
		"limit=1&limit=2", "order=asc&order=desc",
	} {
		for i := range listRoutes {
			f.Add(uint8(i), seed)
		}
	}
	st, err := store.Open(filepath.Join(f.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := New(Config{MaxBodyBytes: 4096, APIKeys: []string{"k"}, MaxWait: time.Millisecond, Tickets: &ticketDesk{Store: st},
		Stats: func(from, to time.Time) (any, error) { return map[string]time.Time{"from": from, "to": to}, nil },
	}, st, stubChannels{}, nil, func() (bool, any) { return true, nil }, log)
	if err != nil {
		f.Fatal(err)
	}
	var conv store.Conversation
	for i := range 3 {
		if conv, err = st.CreateConversation(f.Context(), store.Conversation{Channel: APIChannel, User: sdk.User{ID: fmt.Sprint("u", i)}}); err != nil {
			f.Fatal(err)
		}
		if _, err := st.CommitEvents(f.Context(), APIChannel, []sdk.Event{{ID: fmt.Sprint("e", i), Kind: sdk.KindMessage, Conversation: conv.ID, Text: "hi"}}); err != nil {
			f.Fatal(err)
		}
	}
	get := func(path, query string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Bearer k")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	f.Fuzz(func(t *testing.T, route uint8, query string) {
		if int(route) >= len(listRoutes) {
			return
		}
		path := strings.NewReplacer("{conv}", conv.ID, "{hook}", "wh_none").Replace(listRoutes[route])
		target := path + "?" + query
		rec := get(path, query)
		if rec.Code >= 500 {
			t.Fatalf("GET %s: status %d %s", target, rec.Code, rec.Body)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("GET %s: %d with a body that is not JSON: %q", target, rec.Code, rec.Body)
		}
		next, _ := body["next_cursor"].(string)
		if rec.Code != http.StatusOK || next == "" {
			return
		}
		q, _ := url.ParseQuery(query)
		q.Del("after")
		q.Set("cursor", next)
		again := path + "?" + q.Encode()
		if rec := get(path, q.Encode()); rec.Code != http.StatusOK {
			t.Fatalf("GET %s: the next_cursor of %s got %d %s", again, target, rec.Code, rec.Body)
		}
	})
}
