package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/store"
)

func newKBServer(t *testing.T) (*httptest.Server, *store.Store, *kb.KB) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	k, err := kb.Open(context.Background(), st, kb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := New(Config{MaxBodyBytes: 4096, APIKeys: []string{"k1"}, KB: k}, st, stubChannels{}, nil,
		func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, st, k
}

const restFAQ = "question,answer,alternates\nHow long does shipping take?,3–5 business days.,Delivery time\nWhat is your return policy?,30 days.,\n"

func multipartBody(t *testing.T, fields map[string]string, fileName, content string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if fileName != "" {
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, content)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func send(t *testing.T, srv *httptest.Server, method, path, key, contentType string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, body)
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := checked(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func TestKBRoutes(t *testing.T) {
	srv, st, k := newKBServer(t)

	// JSON import.
	body, _ := json.Marshal(KBDocumentRequest{Name: "faq/shop.csv", Content: restFAQ})
	code, doc := send(t, srv, "POST", "/v1/kb/documents", "k1", "application/json", bytes.NewReader(body))
	if code != 201 || doc["id"] != kb.DocumentID("faq/shop.csv") || doc["status"] != "created" || doc["chunks"] != 2.0 || doc["format"] != "csv" {
		t.Fatalf("JSON import: %d %v", code, doc)
	}
	code, doc = send(t, srv, "POST", "/v1/kb/documents", "k1", "application/json", bytes.NewReader(body))
	if code != 201 || doc["status"] != "unchanged" {
		t.Errorf("same import again: %d %v", code, doc)
	}

	// Multipart import, format from the field.
	ct, mp := multipartBody(t, map[string]string{"format": "faq"}, "guide.txt", "## Do you gift wrap?\nYes, for $4.95.\n")
	code, doc = send(t, srv, "POST", "/v1/kb/documents", "k1", ct, mp)
	if code != 201 || doc["name"] != "guide.txt" || doc["format"] != "faq" {
		t.Fatalf("multipart import: %d %v", code, doc)
	}

	// Bad input: 400 or 413, nothing stored.
	for _, tc := range []struct {
		name, ct string
		body     io.Reader
		code     int
		msg      string
	}{
		{"bad csv", "application/json", strings.NewReader(`{"name":"bad.csv","content":"question,answer\nq\n"}`), 400, "bad.csv:2:"},
		{"unknown format", "application/json", strings.NewReader(`{"name":"x","format":"pdf","content":"x"}`), 400, "unknown format"},
		{"no name", "application/json", strings.NewReader(`{"content":"x"}`), 400, "name is empty"},
		{"unknown field", "application/json", strings.NewReader(`{"name":"a.txt","content":"x","extra":1}`), 400, "malformed JSON"},
		{"too large", "application/json", strings.NewReader(`{"name":"a.txt","content":"` + strings.Repeat("x", 5000) + `"}`), 413, "exceeds"},
		{"multipart without file", func() string { c, _ := multipartBody(t, map[string]string{"name": "a"}, "", ""); return c }(),
			func() io.Reader { _, b := multipartBody(t, map[string]string{"name": "a"}, "", ""); return b }(), 400, `no "file" part`},
		{"multipart too large", func() string { c, _ := multipartBody(t, nil, "a.txt", strings.Repeat("y", 5000)); return c }(),
			func() io.Reader { _, b := multipartBody(t, nil, "a.txt", strings.Repeat("y", 5000)); return b }(), 413, "max_body_bytes"},
	} {
		code, v := send(t, srv, "POST", "/v1/kb/documents", "k1", tc.ct, tc.body)
		msg, _ := v["error"].(map[string]any)["message"].(string)
		if code != tc.code || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
	docs, _ := k.Documents()
	if len(docs) != 2 {
		t.Errorf("%d documents after bad requests, want 2", len(docs))
	}

	// List, search, delete.
	code, v := send(t, srv, "GET", "/v1/kb/documents", "k1", "", nil)
	if code != 200 || len(v["documents"].([]any)) != 2 {
		t.Errorf("list: %d %v", code, v)
	}
	code, v = send(t, srv, "GET", "/v1/kb/search?q="+url.QueryEscape("how long is delivery")+"&k=1", "k1", "", nil)
	results, _ := v["results"].([]any)
	if code != 200 || len(results) != 1 {
		t.Fatalf("search: %d %v", code, v)
	}
	r := results[0].(map[string]any)
	if r["id"] != kb.DocumentID("faq/shop.csv")+"-1" || r["document"] != kb.DocumentID("faq/shop.csv") ||
		r["title"] != "How long does shipping take?" || r["text"] != "3–5 business days." || r["score"].(float64) <= 0 {
		t.Errorf("search result %v", r)
	}
	for _, q := range []string{"", "?q=x&k=0", "?q=x&k=99", "?q=x&k=two"} {
		if code, _ := send(t, srv, "GET", "/v1/kb/search"+q, "k1", "", nil); code != 400 {
			t.Errorf("search %q: %d, want 400", q, code)
		}
	}
	if code, _ := send(t, srv, "DELETE", "/v1/kb/documents/"+url.PathEscape("faq/shop.csv"), "k1", "", nil); code != 200 {
		t.Errorf("delete by name: %d", code)
	}
	if code, _ := send(t, srv, "DELETE", "/v1/kb/documents/"+kb.DocumentID("faq/shop.csv"), "k1", "", nil); code != 404 {
		t.Errorf("delete again: %d, want 404", code)
	}

	// Gaps.
	st.RecordKBGap(context.Background(), "do you sell dog beds?", store.GapLowScore, 0.1)
	code, v = send(t, srv, "GET", "/v1/kb/gaps", "k1", "", nil)
	gaps, _ := v["gaps"].([]any)
	if code != 200 || len(gaps) != 1 || gaps[0].(map[string]any)["count"] != 1.0 {
		t.Errorf("gaps: %d %v", code, v)
	}

	// Audit trail of the changes.
	entries, _ := st.Audit(0, 0)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "kb.import,kb.import,kb.remove" {
		t.Errorf("audit %v", actions)
	}
}

func TestKBScopes(t *testing.T) {
	srv, st, _ := newKBServer(t)
	keys := map[string][]string{"reader": {store.ScopeKBRead}, "convs": {store.ScopeRead, store.ScopeWrite}}
	secrets := map[string]string{}
	for name, scopes := range keys {
		secret := store.NewKeySecret()
		secrets[name] = secret
		k := store.APIKey{Name: name, Hash: store.HashKey(secret), Scopes: scopes, CreatedAt: time.Now()}
		if err := st.CreateAPIKey(context.Background(), &k); err != nil {
			t.Fatal(err)
		}
	}
	body := `{"name":"a.txt","content":"hello"}`
	for _, tc := range []struct {
		key, method, path string
		code              int
	}{
		{"reader", "GET", "/v1/kb/search?q=x", 200},
		{"reader", "GET", "/v1/kb/gaps", 200},
		{"reader", "POST", "/v1/kb/documents", 403},
		{"reader", "DELETE", "/v1/kb/documents/x", 403},
		{"convs", "GET", "/v1/kb/documents", 403},
		{"convs", "POST", "/v1/kb/documents", 403},
	} {
		code, _ := send(t, srv, tc.method, tc.path, secrets[tc.key], "application/json", strings.NewReader(body))
		if code != tc.code {
			t.Errorf("%s %s %s: %d, want %d", tc.key, tc.method, tc.path, code, tc.code)
		}
	}
}
