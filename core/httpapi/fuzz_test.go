package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
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
