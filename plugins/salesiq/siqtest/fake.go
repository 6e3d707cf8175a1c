// Package siqtest is a fake Zoho SalesIQ and Zoho Accounts server for tests,
// written from Zoho's documentation:
//
//   - POST /oauth/v2/token (grant_type=refresh_token) issues access tokens
//     ({"access_token","expires_in" (seconds),"api_domain","token_type"}) and
//     counts refreshes; bad credentials get 200 {"error":"invalid_client"}.
//   - every /api/ call must carry "Authorization: Zoho-oauthtoken <token>";
//     a missing, unknown or expired token gets the error object
//     {"error":{"code":1002,"message":"Invalid authorization header."}},
//     with HTTP 200 as the REST docs say, or 401 ([Fake.AuthErrorStatus]).
//   - POST /api/v2/{screen}/callbacks/{request_id}/response|progress (Zobot
//     pending actions), POST /api/visitor/v1/{screen}/conversations and
//     …/conversations/{id}/messages (Visitor API), PUT
//     /api/v2/{screen}/conversations/{id}/close|transfer, GET and POST
//     /api/v2/{screen}/webhooks, POST /api/v2/{screen}/webhooks/{id}/keys
//     are recorded; success answers are {"url","object","data"}.
//
// It also builds webhook bodies (Zobot handler calls and data-webhook
// executions, shaped like Zoho's samples and captured payloads) and signs
// them with its RSA key as SalesIQ does: RSA-SHA256 PKCS#1 v1.5 over the
// raw body, Base64, in the x-siqsignature header.
package siqtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials the fake accepts.
const (
	ClientID     = "1000.FAKECLIENT"
	ClientSecret = "fake-secret"
	RefreshToken = "1000.fake-refresh"
	ScreenName   = "acme"
	AppID        = "11209000000002238"
	DepartmentID = "11209000000002024"
)

// Callback is a recorded Zobot pending-action callback.
type Callback struct {
	RequestID string
	// Kind is "response" or "progress".
	Kind string
	Body map[string]any
}

// Action is the "action" of a response callback.
func (c Callback) Action() string { s, _ := c.Body["action"].(string); return s }

// Replies are the text replies of a response callback.
func (c Callback) Replies() []string {
	var out []string
	list, _ := c.Body["replies"].([]any)
	for _, r := range list {
		switch v := r.(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			s, _ := v["text"].(string)
			out = append(out, s)
		}
	}
	return out
}

// Conversation is a conversation opened through the Visitor API.
type Conversation struct {
	// ID is the numeric conversation id (the data webhooks' entity_id).
	ID string
	// VisitorConversationID is the long hex id of the Visitor API.
	VisitorConversationID string
	Body                  map[string]any
	Messages              []string
	Closed                bool
}

// Question is the conversation's opening question.
func (c Conversation) Question() string { s, _ := c.Body["question"].(string); return s }

// Fake is a running fake SalesIQ + Zoho Accounts server.
type Fake struct {
	// URL serves both the SalesIQ API and Zoho Accounts.
	URL string
	// Key signs webhooks.
	Key *rsa.PrivateKey

	mu              sync.Mutex
	tokens          map[string]time.Time // access token → expiry
	refreshes       int
	tokenLifetime   time.Duration
	legacyExpiry    bool
	authErrorStatus int
	failNext        int
	callbacks       []Callback
	conversations   []*Conversation
	transfers       []map[string]any
	webhooks        []map[string]any
	keysMade        int
	calls           int
	srv             *http.Server
}

// New starts a fake on 127.0.0.1 until the test ends.
func New(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{Key: NewKey(t), tokens: map[string]time.Time{}, tokenLifetime: time.Hour, authErrorStatus: http.StatusOK}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.URL = "http://" + ln.Addr().String()
	f.srv = &http.Server{Handler: f.routes()}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// NewKey generates an RSA key for signing webhooks.
func NewKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// PublicKeyDER is the Base64 DER (SubjectPublicKeyInfo) form of k's public key,
// as SalesIQ hands it out.
func PublicKeyDER(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// PublicKeyPEM is the PEM form of k's public key.
func PublicKeyPEM(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Sign is the x-siqsignature of body under k.
func Sign(k *rsa.PrivateKey, body []byte) string {
	digest := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// Signature is the x-siqsignature of body under the fake's key.
func (f *Fake) Signature(body []byte) string { return Sign(f.Key, body) }

// Options are plugin options pointing at the fake, verifying its key.
func (f *Fake) Options() map[string]any {
	return map[string]any{
		"api_base": f.URL, "accounts_base": f.URL, "screen_name": ScreenName,
		"client_id": ClientID, "client_secret": ClientSecret, "refresh_token": RefreshToken,
		"app_id": AppID, "department_id": DepartmentID,
		"public_keys": []string{PublicKeyDER(f.Key)},
	}
}

// TOML is the options table for [channels.<instance>.options].
func (f *Fake) TOML(instance string) string {
	return fmt.Sprintf(`
[channels.%[1]s]
plugin = "salesiq"
[channels.%[1]s.options]
api_base = %[2]q
accounts_base = %[2]q
screen_name = %[3]q
client_id = %[4]q
client_secret = %[5]q
refresh_token = %[6]q
app_id = %[7]q
department_id = %[8]q
public_keys = [%[9]q]
`, instance, f.URL, ScreenName, ClientID, ClientSecret, RefreshToken, AppID, DepartmentID, PublicKeyDER(f.Key))
}

// Post sends body to url signed with the fake's key (no signature when
// signature is "-"; a given signature is used as is).
func (f *Fake) Post(url string, body []byte, signature string) (status int, respBody []byte, err error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	switch signature {
	case "":
		req.Header.Set("x-siqsignature", f.Signature(body))
	case "-":
	default:
		req.Header.Set("x-siqsignature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

// SetTokenLifetime sets the lifetime of tokens issued from now on.
func (f *Fake) SetTokenLifetime(d time.Duration) { f.mu.Lock(); f.tokenLifetime = d; f.mu.Unlock() }

// SetLegacyExpiry makes token answers carry expires_in_sec in seconds and
// expires_in in milliseconds, as some Zoho services answer.
func (f *Fake) SetLegacyExpiry(on bool) { f.mu.Lock(); f.legacyExpiry = on; f.mu.Unlock() }

// SetAuthErrorStatus sets the HTTP status of auth errors: 200 (documented,
// with an error object) or 401.
func (f *Fake) SetAuthErrorStatus(status int) { f.mu.Lock(); f.authErrorStatus = status; f.mu.Unlock() }

// ExpireTokens makes every token issued so far invalid.
func (f *Fake) ExpireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for t := range f.tokens {
		f.tokens[t] = time.Time{}
	}
}

// FailNextAuth rejects the next n API calls as if their token were invalid.
func (f *Fake) FailNextAuth(n int) { f.mu.Lock(); f.failNext = n; f.mu.Unlock() }

// Refreshes counts token refreshes.
func (f *Fake) Refreshes() int { f.mu.Lock(); defer f.mu.Unlock(); return f.refreshes }

// APICalls counts authorized API calls.
func (f *Fake) APICalls() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

// Callbacks returns the recorded pending-action callbacks.
func (f *Fake) Callbacks() []Callback {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Callback(nil), f.callbacks...)
}

// Conversations returns copies of the Visitor-API conversations.
func (f *Fake) Conversations() []Conversation {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Conversation, len(f.conversations))
	for i, c := range f.conversations {
		out[i] = *c
		out[i].Messages = append([]string(nil), c.Messages...)
	}
	return out
}

// Transfers returns the recorded transfer bodies (with "conversation_id").
func (f *Fake) Transfers() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.transfers...)
}

// Webhooks returns the registered webhooks.
func (f *Fake) Webhooks() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.webhooks...)
}

// WaitFor polls cond until it holds or the limit passes.
func WaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *Fake) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/v2/token", f.token)
	api := http.NewServeMux()
	api.HandleFunc("POST /api/v2/{screen}/callbacks/{rid}/{kind}", f.callback)
	api.HandleFunc("POST /api/visitor/v1/{screen}/conversations", f.openConversation)
	api.HandleFunc("POST /api/visitor/v1/{screen}/conversations/{id}/messages", f.visitorMessage)
	api.HandleFunc("PUT /api/v2/{screen}/conversations/{id}/close", f.close)
	api.HandleFunc("PUT /api/v2/{screen}/conversations/{id}/transfer", f.transfer)
	api.HandleFunc("GET /api/v2/{screen}/webhooks", f.listWebhooks)
	api.HandleFunc("POST /api/v2/{screen}/webhooks", f.createWebhook)
	api.HandleFunc("POST /api/v2/{screen}/webhooks/{id}/keys", f.createKey)
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { apiError(w, http.StatusOK, 1006, "Invalid URL") })
	mux.Handle("/api/", f.authorized(api))
	return mux
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("client_id") != ClientID ||
		r.PostForm.Get("client_secret") != ClientSecret {
		writeJSON(w, http.StatusOK, map[string]any{"error": "invalid_client"})
		return
	}
	if r.PostForm.Get("refresh_token") != RefreshToken {
		writeJSON(w, http.StatusOK, map[string]any{"error": "invalid_code"})
		return
	}
	tok := fmt.Sprintf("1000.access-%d", f.refreshes)
	f.tokens[tok] = time.Now().Add(f.tokenLifetime)
	secs := int64(f.tokenLifetime / time.Second)
	body := map[string]any{"access_token": tok, "api_domain": "https://www.zohoapis.com", "token_type": "Bearer", "expires_in": secs}
	if f.legacyExpiry {
		body["expires_in_sec"] = secs
		body["expires_in"] = secs * 1000
	}
	writeJSON(w, http.StatusOK, body)
}

// authorized checks the OAuth header and the screen name of API calls.
func (f *Fake) authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Zoho-oauthtoken ")
		f.mu.Lock()
		expiry, known := f.tokens[tok]
		valid := ok && known && time.Now().Before(expiry)
		if valid && f.failNext > 0 {
			f.failNext--
			valid = false
		}
		status := f.authErrorStatus
		if valid {
			f.calls++
		}
		f.mu.Unlock()
		if !valid {
			apiError(w, status, 1002, "Invalid authorization header.")
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		screen := ""
		if len(parts) > 2 && parts[1] == "v2" {
			screen = parts[2]
		} else if len(parts) > 3 && parts[1] == "visitor" {
			screen = parts[3]
		}
		if screen != ScreenName {
			apiError(w, http.StatusOK, 1005, "Invalid portal or wrong screen name.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *Fake) callback(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || (kind != "response" && kind != "progress") {
		apiError(w, http.StatusOK, 1006, "Invalid URL or payload")
		return
	}
	if kind == "progress" {
		if s, _ := body["text"].(string); s == "" {
			apiError(w, http.StatusOK, 1018, "text is mandatory")
			return
		}
	}
	f.mu.Lock()
	f.callbacks = append(f.callbacks, Callback{RequestID: r.PathValue("rid"), Kind: kind, Body: body})
	f.mu.Unlock()
	success(w, r, "callbacks", map[string]any{})
}

func (f *Fake) openConversation(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusOK, 1006, "Invalid payload")
		return
	}
	visitor, _ := body["visitor"].(map[string]any)
	for _, key := range []string{"app_id", "department_id", "question"} {
		if s, _ := body[key].(string); s == "" {
			apiError(w, http.StatusOK, 1019, key+" is mandatory")
			return
		}
	}
	if s, _ := visitor["user_id"].(string); s == "" {
		apiError(w, http.StatusOK, 1019, "visitor.user_id is mandatory")
		return
	}
	f.mu.Lock()
	n := len(f.conversations) + 1
	c := &Conversation{
		ID:                    fmt.Sprintf("11209000000%06d", 3000+n),
		VisitorConversationID: fmt.Sprintf("%064x", n),
		Body:                  body,
	}
	f.conversations = append(f.conversations, c)
	f.mu.Unlock()
	success(w, r, "conversations", map[string]any{
		"id": c.VisitorConversationID, "conversation_id": c.ID, "reference_id": fmt.Sprint(n),
		"chat_status": map[string]any{"state_key": "waiting", "status_code": 0, "state": 1, "status_key": "open"},
	})
}

// find returns the conversation with the numeric or hex id.
func (f *Fake) find(id string) *Conversation {
	for _, c := range f.conversations {
		if c.ID == id || c.VisitorConversationID == id {
			return c
		}
	}
	return nil
}

func (f *Fake) visitorMessage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Text == "" {
		apiError(w, http.StatusOK, 1019, "text is mandatory")
		return
	}
	f.mu.Lock()
	c := f.find(r.PathValue("id"))
	if c != nil {
		c.Messages = append(c.Messages, body.Text)
	}
	f.mu.Unlock()
	if c == nil {
		apiError(w, http.StatusOK, 1020, "Invalid conversation id")
		return
	}
	success(w, r, "messages", map[string]any{})
}

func (f *Fake) close(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	c := f.find(r.PathValue("id"))
	already := c != nil && c.Closed
	if c != nil {
		c.Closed = true
	}
	f.mu.Unlock()
	switch {
	case c == nil:
		apiError(w, http.StatusOK, 1020, "Invalid conversation id")
	case already:
		apiError(w, http.StatusOK, 1021, "Conversation already closed")
	default:
		success(w, r, "conversations", map[string]any{"id": c.ID, "chat_status": map[string]any{"status_code": 2, "state": 4}})
	}
}

func (f *Fake) transfer(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusOK, 1006, "Invalid payload")
		return
	}
	if s, _ := body["department_id"].(string); s == "" {
		apiError(w, http.StatusOK, 1019, "department_id is mandatory")
		return
	}
	body["conversation_id"] = r.PathValue("id")
	f.mu.Lock()
	f.transfers = append(f.transfers, body)
	f.mu.Unlock()
	success(w, r, "conversations", map[string]any{"id": r.PathValue("id")})
}

func (f *Fake) listWebhooks(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	list := append([]map[string]any{}, f.webhooks...)
	f.mu.Unlock()
	success(w, r, "webhooks", list)
}

func (f *Fake) createWebhook(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusOK, 1006, "Invalid payload")
		return
	}
	if t, _ := body["type"].(string); t != "data" && t != "administration" {
		apiError(w, http.StatusOK, 1019, "type is mandatory")
		return
	}
	target, _ := body["url"].(string)
	// SalesIQ checks the URL with a HEAD request wanting 200.
	resp, err := http.Head(target)
	if err != nil || resp.StatusCode != http.StatusOK {
		apiError(w, http.StatusOK, 1022, "Webhook URL is not reachable")
		return
	}
	resp.Body.Close()
	f.mu.Lock()
	body["id"] = fmt.Sprintf("1120900000000%04d", 2314+len(f.webhooks))
	f.webhooks = append(f.webhooks, body)
	f.mu.Unlock()
	success(w, r, "webhooks", body)
}

func (f *Fake) createKey(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.keysMade++
	id := fmt.Sprint(f.keysMade)
	f.mu.Unlock()
	success(w, r, "webhooks", map[string]any{
		"id": r.PathValue("id"), "secured": true,
		"public_keys": []map[string]any{{"key": PublicKeyDER(f.Key), "id": id, "created_time": fmt.Sprint(time.Now().UnixMilli())}},
	})
}

func success(w http.ResponseWriter, r *http.Request, object string, data any) {
	writeJSON(w, http.StatusOK, map[string]any{"url": r.URL.Path, "object": object, "data": data})
}

func apiError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
