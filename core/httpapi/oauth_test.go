package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
)

// fakeClock is the store's clock in these tests: it moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const (
	adminKey = "admin-key"
	tokenTTL = time.Hour
	// clientAddr is where test requests come from.
	clientAddr = "127.0.0.1:4321"
)

// oauthFixture is a server with a token endpoint, a store on a fake
// clock and a static admin key.
type oauthFixture struct {
	t     testing.TB
	s     *Server
	st    *store.Store
	clock *fakeClock
	logs  *bytes.Buffer
}

func newOAuthFixture(t testing.TB) *oauthFixture {
	t.Helper()
	clock := &fakeClock{now: time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)}
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := logrus.New()
	logs := &bytes.Buffer{}
	log.SetOutput(logs)
	s, err := New(Config{MaxBodyBytes: 4096, APIKeys: []string{adminKey}, OAuthTokenTTL: tokenTTL}, st, stubChannels{}, nil,
		func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	return &oauthFixture{t: t, s: s, st: st, clock: clock, logs: logs}
}

func (f *oauthFixture) serve(req *http.Request) *httptest.ResponseRecorder {
	if req.RemoteAddr == "192.0.2.1:1234" { // httptest's default
		req.RemoteAddr = clientAddr
	}
	return serveChecked(f.t, f.s, req)
}

// api calls a /v1 route with a bearer token.
func (f *oauthFixture) api(method, path, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	return f.serve(req)
}

// createClient makes a client through the admin API and returns its ID
// and secret.
func (f *oauthFixture) createClient(body string) (id, secret string) {
	f.t.Helper()
	rec := f.api("POST", "/v1/admin/oauth-clients", adminKey, body)
	var c CreatedOAuthClient
	if rec.Code != 201 || json.Unmarshal(rec.Body.Bytes(), &c) != nil || c.ClientID == "" || c.ClientSecret == "" {
		f.t.Fatalf("create client %s: %d %s", body, rec.Code, rec.Body)
	}
	return c.ClientID, c.ClientSecret
}

// basic is an Authorization header as RFC 6749 §2.3.1 builds it: ID and
// secret form-encoded, joined by a colon, base64-encoded.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// tokenRequest posts a form to the token endpoint; authorization, when
// set, is the Authorization header.
func (f *oauthFixture) tokenRequest(authorization, form string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return f.serve(req)
}

// token gets a token with Basic authentication and the given scope
// parameter ("" for none).
func (f *oauthFixture) token(id, secret, scope string) TokenResponse {
	f.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	rec := f.tokenRequest(basic(id, secret), form.Encode())
	var tr TokenResponse
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &tr) != nil {
		f.t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	return tr
}

// tokenErrorOf checks an error answer's shape and returns its code.
func tokenErrorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	code, _ := body["error"].(string)
	desc, _ := body["error_description"].(string)
	if code == "" || desc == "" || len(body) != 2 {
		t.Errorf("error body %s: want exactly error and error_description", rec.Body)
	}
	checkNoStore(t, rec)
	return code
}

func checkNoStore(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	h := rec.Header()
	if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v: want Cache-Control no-store, Pragma no-cache, JSON", h)
	}
}

// A client authenticates with Basic or with form fields and gets a token
// that works on /v1 within its scopes.
func TestTokenForAGoodClient(t *testing.T) {
	f := newOAuthFixture(t)
	id, secret := f.createClient(`{"name":"crm","scopes":["conversations:read","conversations:write"]}`)
	basicAuth := func(id, secret string) string { return basic(id, secret) }
	tests := []struct {
		name, authorization, form string
	}{
		{"basic", basicAuth(id, secret), "grant_type=client_credentials"},
		{"basic, lower-case scheme", "basic " + strings.TrimPrefix(basic(id, secret), "Basic "), "grant_type=client_credentials"},
		{"basic with a form-encoded ID", "Basic " + base64.StdEncoding.EncodeToString([]byte("%6F"+id[1:]+":"+secret)), "grant_type=client_credentials"},
		{"basic with the same client_id in the form", basic(id, secret), "grant_type=client_credentials&client_id=" + id},
		{"form fields", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()},
		{"empty scope is no scope", basic(id, secret), "grant_type=client_credentials&scope="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.tokenRequest(tt.authorization, tt.form)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			checkNoStore(t, rec)
			var body map[string]any
			json.Unmarshal(rec.Body.Bytes(), &body)
			token, _ := body["access_token"].(string)
			if !strings.HasPrefix(token, "sbat_") || body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 ||
				body["scope"] != "conversations:read conversations:write" || len(body) != 4 {
				t.Fatalf("answer %s", rec.Body)
			}
			if rec := f.api("GET", "/v1/conversations", token, ""); rec.Code != 200 {
				t.Errorf("read with the token: %d %s", rec.Code, rec.Body)
			}
			if rec := f.api("POST", "/v1/conversations", token, `{"user":{"id":"u1"}}`); rec.Code != 201 {
				t.Errorf("write with the token: %d %s", rec.Code, rec.Body)
			}
			if rec := f.api("GET", "/v1/admin/audit", token, ""); rec.Code != 403 {
				t.Errorf("admin route outside the token's scope: %d %s", rec.Code, rec.Body)
			}
		})
	}
}

// A wrong secret and an unknown client get the same answer; Basic gets
// the challenge, form fields do not.
func TestTokenRefusesBadCredentials(t *testing.T) {
	f := newOAuthFixture(t)
	id, secret := f.createClient(`{"name":"crm","scopes":["conversations:read"]}`)
	unknown := "oc_00000000000000000000000"
	form := func(id, secret string) string {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
	}
	tests := []struct {
		name, authorization, form string
		challenge                 bool
	}{
		{"wrong secret, basic", basic(id, secret+"x"), "grant_type=client_credentials", true},
		{"unknown client, basic", basic(unknown, secret), "grant_type=client_credentials", true},
		{"wrong secret, form", "", form(id, "sbcs_wrong"), false},
		{"unknown client, form", "", form(unknown, secret), false},
	}
	var bodies []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.tokenRequest(tt.authorization, tt.form)
			if rec.Code != 401 || tokenErrorOf(t, rec) != "invalid_client" {
				t.Fatalf("status %d %s, want 401 invalid_client", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); (got != "") != tt.challenge || tt.challenge && !strings.HasPrefix(got, "Basic ") {
				t.Errorf("WWW-Authenticate %q, want a Basic challenge: %v", got, tt.challenge)
			}
			bodies = append(bodies, rec.Body.String())
		})
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("answers differ: %q and %q", bodies[0], b)
		}
	}
	if strings.Contains(f.logs.String(), secret) {
		t.Error("a secret was logged")
	}
}

// Malformed requests get the RFC 6749 §5.2 error that names the problem,
// and no token.
func TestTokenRequestErrors(t *testing.T) {
	f := newOAuthFixture(t)
	id, secret := f.createClient(`{"name":"crm","scopes":["conversations:read"]}`)
	good := basic(id, secret)
	formCreds := "&client_id=" + id + "&client_secret=" + secret
	tests := []struct {
		name          string
		method, path  string
		contentType   string
		authorization string
		body          string
		status        int
		code          string
		challenge     bool
	}{
		{name: "JSON body", contentType: "application/json", authorization: good, body: `{"grant_type":"client_credentials"}`, status: 400, code: "invalid_request"},
		{name: "no content type", contentType: "-", authorization: good, body: "grant_type=client_credentials", status: 400, code: "invalid_request"},
		{name: "missing grant_type", authorization: good, body: "scope=conversations:read", status: 400, code: "invalid_request"},
		{name: "empty grant_type", authorization: good, body: "grant_type=", status: 400, code: "invalid_request"},
		{name: "password grant", authorization: good, body: "grant_type=password&username=a&password=b", status: 400, code: "unsupported_grant_type"},
		{name: "authorization code grant", authorization: good, body: "grant_type=authorization_code&code=x", status: 400, code: "unsupported_grant_type"},
		{name: "both authentication methods", authorization: good, body: "grant_type=client_credentials" + formCreds, status: 400, code: "invalid_request"},
		{name: "basic and another client_id", authorization: good, body: "grant_type=client_credentials&client_id=oc_other", status: 400, code: "invalid_request"},
		{name: "repeated parameter", authorization: good, body: "grant_type=client_credentials&grant_type=client_credentials", status: 400, code: "invalid_request"},
		{name: "malformed form", authorization: good, body: "grant_type=client_credentials&scope=%zz", status: 400, code: "invalid_request"},
		{name: "secret in the URL", path: "/oauth/token?client_secret=" + secret, body: "grant_type=client_credentials&client_id=" + id, status: 400, code: "invalid_request"},
		{name: "too large", authorization: good, body: "grant_type=client_credentials&pad=" + strings.Repeat("x", 5000), status: 413, code: "invalid_request"},
		{name: "no credentials", body: "grant_type=client_credentials", status: 401, code: "invalid_client", challenge: true},
		{name: "client_id without secret", body: "grant_type=client_credentials&client_id=" + id, status: 401, code: "invalid_client"},
		{name: "bearer instead of basic", authorization: "Bearer " + secret, body: "grant_type=client_credentials", status: 401, code: "invalid_client", challenge: true},
		{name: "basic not base64", authorization: "Basic !!!", body: "grant_type=client_credentials", status: 401, code: "invalid_client", challenge: true},
		{name: "basic without colon", authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte(id)), body: "grant_type=client_credentials", status: 401, code: "invalid_client", challenge: true},
		{name: "basic with bad escape", authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":%zz")), body: "grant_type=client_credentials", status: 401, code: "invalid_client", challenge: true},
		{name: "scope not granted", authorization: good, body: "grant_type=client_credentials&scope=admin", status: 400, code: "invalid_scope"},
		{name: "unknown scope", authorization: good, body: "grant_type=client_credentials&scope=conversations:read+everything", status: 400, code: "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = "/oauth/token"
			}
			req := httptest.NewRequest("POST", path, strings.NewReader(tt.body))
			switch tt.contentType {
			case "":
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			case "-":
			default:
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			rec := f.serve(req)
			if rec.Code != tt.status {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			if code := tokenErrorOf(t, rec); code != tt.code {
				t.Errorf("error %q (%s), want %q", code, rec.Body, tt.code)
			}
			if got := rec.Header().Get("WWW-Authenticate"); (got != "") != tt.challenge {
				t.Errorf("WWW-Authenticate %q, want one: %v", got, tt.challenge)
			}
		})
	}
	if n := countTokens(t, f.st); n != 0 {
		t.Errorf("%d tokens issued for bad requests", n)
	}

	t.Run("GET", func(t *testing.T) {
		rec := f.serve(httptest.NewRequest("GET", "/oauth/token", nil))
		if rec.Code != 405 {
			t.Errorf("status %d, want 405", rec.Code)
		}
	})
	t.Run("form content type with a charset", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
		req.Header.Set("Authorization", good)
		if rec := f.serve(req); rec.Code != 200 {
			t.Errorf("status %d %s", rec.Code, rec.Body)
		}
	})
}

// countTokens counts the tokens issued, by their audit entries.
func countTokens(t *testing.T, st *store.Store) int {
	t.Helper()
	entries, err := st.Audit(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == "oauth.token" {
			n++
		}
	}
	return n
}

// A token asked for with a narrower scope carries only that scope.
func TestNarrowedScope(t *testing.T) {
	f := newOAuthFixture(t)
	id, secret := f.createClient(`{"name":"crm","scopes":["conversations:read","conversations:write","admin"]}`)
	tests := []struct {
		scope, want string
		allowed     map[string]int // "METHOD path" → status
	}{
		{"conversations:read", "conversations:read", map[string]int{
			"GET /v1/conversations": 200, "POST /v1/conversations": 403, "GET /v1/admin/audit": 403,
		}},
		{"admin  conversations:read", "conversations:read admin", map[string]int{
			"GET /v1/conversations": 200, "POST /v1/conversations": 403, "GET /v1/admin/audit": 200,
		}},
		{"conversations:write conversations:write", "conversations:write", map[string]int{
			"GET /v1/conversations": 403, "POST /v1/conversations": 201,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			tr := f.token(id, secret, tt.scope)
			if tr.Scope != tt.want {
				t.Fatalf("scope %q, want %q", tr.Scope, tt.want)
			}
			for route, want := range tt.allowed {
				method, path, _ := strings.Cut(route, " ")
				if rec := f.api(method, path, tr.AccessToken, `{"user":{"id":"u1"}}`); rec.Code != want {
					t.Errorf("%s: %d %s, want %d", route, rec.Code, rec.Body, want)
				}
			}
		})
	}
}

// A token is refused from the instant it expires, on the store's clock.
func TestTokenExpires(t *testing.T) {
	f := newOAuthFixture(t)
	id, secret := f.createClient(`{"name":"crm","scopes":["conversations:read"]}`)
	tr := f.token(id, secret, "")
	f.clock.advance(tokenTTL - time.Second)
	if rec := f.api("GET", "/v1/conversations", tr.AccessToken, ""); rec.Code != 200 {
		t.Fatalf("a second before expiry: %d %s", rec.Code, rec.Body)
	}
	f.clock.advance(time.Second)
	rec := f.api("GET", "/v1/conversations", tr.AccessToken, "")
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), "expired") || !strings.Contains(rec.Header().Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("at expiry: %d %s %v", rec.Code, rec.Body, rec.Header())
	}
	// A new token works again.
	if rec := f.api("GET", "/v1/conversations", f.token(id, secret, "").AccessToken, ""); rec.Code != 200 {
		t.Fatalf("new token: %d %s", rec.Code, rec.Body)
	}
}

// Revoking a client stops its tokens at once and it gets no new ones.
func TestRevokedClient(t *testing.T) {
	f := newOAuthFixture(t)
	id, secret := f.createClient(`{"name":"crm","scopes":["conversations:read"]}`)
	otherID, otherSecret := f.createClient(`{"name":"bi","scopes":["conversations:read"]}`)
	tr := f.token(id, secret, "")
	other := f.token(otherID, otherSecret, "")
	if rec := f.api("GET", "/v1/conversations", tr.AccessToken, ""); rec.Code != 200 {
		t.Fatalf("before revoke: %d", rec.Code)
	}
	if rec := f.api("POST", "/v1/admin/oauth-clients/crm/revoke", adminKey, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"revoked_at"`) {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if rec := f.api("GET", "/v1/conversations", tr.AccessToken, ""); rec.Code != 401 {
		t.Errorf("token after revoke: %d %s", rec.Code, rec.Body)
	}
	rec := f.tokenRequest(basic(id, secret), "grant_type=client_credentials")
	if rec.Code != 401 || tokenErrorOf(t, rec) != "invalid_client" {
		t.Errorf("new token after revoke: %d %s", rec.Code, rec.Body)
	}
	if rec := f.api("GET", "/v1/conversations", other.AccessToken, ""); rec.Code != 200 {
		t.Errorf("another client's token after the revoke: %d", rec.Code)
	}
	if rec := f.api("POST", "/v1/admin/oauth-clients/nope/revoke", adminKey, ""); rec.Code != 404 {
		t.Errorf("revoke of an unknown client: %d", rec.Code)
	}
}

// Tokens are held to their client's allowlist and rate, like API keys;
// the rate is the client's, shared by all its tokens.
func TestTokenAccessRules(t *testing.T) {
	f := newOAuthFixture(t)
	id, secret := f.createClient(`{"name":"slow","scopes":["conversations:read"],"rate":"1/s"}`)
	a, b := f.token(id, secret, ""), f.token(id, secret, "")
	if rec := f.api("GET", "/v1/conversations", a.AccessToken, ""); rec.Code != 200 {
		t.Fatalf("first request: %d", rec.Code)
	}
	if rec := f.api("GET", "/v1/conversations", b.AccessToken, ""); rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("second token of the same client in the same second: %d %v", rec.Code, rec.Header())
	}
	f.clock.advance(time.Second)
	if rec := f.api("GET", "/v1/conversations", b.AccessToken, ""); rec.Code != 200 {
		t.Fatalf("a second later: %d", rec.Code)
	}

	officeID, officeSecret := f.createClient(`{"name":"office","scopes":["conversations:read"],"allow_ips":["10.1.0.0/16"]}`)
	rec := f.tokenRequest(basic(officeID, officeSecret), "grant_type=client_credentials")
	if rec.Code != 400 || tokenErrorOf(t, rec) != "unauthorized_client" {
		t.Fatalf("token from outside the client's allowlist: %d %s", rec.Code, rec.Body)
	}
	req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basic(officeID, officeSecret))
	req.RemoteAddr = "10.1.2.3:5"
	rec = f.serve(req)
	var tr TokenResponse
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &tr) != nil {
		t.Fatalf("token from inside the allowlist: %d %s", rec.Code, rec.Body)
	}
	for remote, want := range map[string]int{"10.1.9.9:1": 200, clientAddr: 403} {
		req := httptest.NewRequest("GET", "/v1/conversations", nil)
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		req.RemoteAddr = remote
		if rec := f.serve(req); rec.Code != want {
			t.Errorf("token used from %s: %d, want %d", remote, rec.Code, want)
		}
	}
}

// Token issues and what tokens do are in the audit log under the client's
// name.
func TestTokenAudit(t *testing.T) {
	f := newOAuthFixture(t)
	id, secret := f.createClient(`{"name":"crm","scopes":["conversations:read","admin"]}`)
	tr := f.token(id, secret, "admin")
	if rec := f.api("GET", "/v1/admin/backup", tr.AccessToken, ""); rec.Code != 200 {
		t.Fatalf("backup: %d %s", rec.Code, rec.Body)
	}
	entries, err := f.st.Audit(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" | "+e.Action+" | "+e.SourceIP)
	}
	want := []string{
		"config key 1 | oauth_client.create | 127.0.0.1",
		"oauth client crm | oauth.token | 127.0.0.1",
		"oauth client crm | backup | 127.0.0.1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !entries[1].Time.Equal(f.clock.Now()) || !strings.Contains(entries[1].Target, id) {
		t.Errorf("token entry %+v", entries[1])
	}
	if _, err := f.st.VerifyAudit(); err != nil {
		t.Fatal(err)
	}
}

// Failed client authentications are limited per client and per address;
// the limit holds even for the right secret, and lifts with time.
func TestFailedAuthenticationsAreLimited(t *testing.T) {
	f := newOAuthFixture(t)
	id, secret := f.createClient(`{"name":"crm","scopes":["conversations:read"]}`)
	for i := range clientFailures.burst {
		if rec := f.tokenRequest(basic(id, "wrong"), "grant_type=client_credentials"); rec.Code != 401 {
			t.Fatalf("failure %d: %d", i+1, rec.Code)
		}
	}
	rec := f.tokenRequest(basic(id, secret), "grant_type=client_credentials")
	if rec.Code != 429 || tokenErrorOf(t, rec) != "temporarily_unavailable" || rec.Header().Get("Retry-After") != "6" {
		t.Fatalf("right secret after %d failures: %d %s %v", clientFailures.burst, rec.Code, rec.Body, rec.Header())
	}
	f.clock.advance(clientFailures.every)
	if rec := f.tokenRequest(basic(id, secret), "grant_type=client_credentials"); rec.Code != 200 {
		t.Fatalf("after the wait: %d %s", rec.Code, rec.Body)
	}

	// From one address, failures for many client IDs add up; another
	// address is not affected.
	f.clock.advance(time.Hour)
	for i := range addressFailures.burst {
		if rec := f.tokenRequest(basic("oc_guess"+strings.Repeat("x", i), "wrong"), "grant_type=client_credentials"); rec.Code != 401 {
			t.Fatalf("guess %d: %d", i+1, rec.Code)
		}
	}
	if rec := f.tokenRequest(basic(id, secret), "grant_type=client_credentials"); rec.Code != 429 {
		t.Fatalf("right secret from an address with %d failures: %d", addressFailures.burst, rec.Code)
	}
	req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basic(id, secret))
	req.RemoteAddr = "198.51.100.7:1"
	if rec := f.serve(req); rec.Code != 200 {
		t.Fatalf("another address: %d %s", rec.Code, rec.Body)
	}
}

// The failure limiter stays bounded under a flood of distinct keys.
func TestFailureLimiterIsBounded(t *testing.T) {
	var l failureLimiter
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 * maxFailureBuckets {
		l.fail(now, clientFailures.key("oc_"+string(rune('a'+i%26))+strings.Repeat("z", i/26)))
	}
	if n := len(l.buckets); n > maxFailureBuckets {
		t.Fatalf("%d buckets, bound %d", n, maxFailureBuckets)
	}
}

// The admin commands' in-process server has no token endpoint.
func TestNoTokenEndpointWithoutALifetime(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := New(Config{MaxBodyBytes: 1024}, st, stubChannels{}, nil, func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Fatalf("status %d", rec.Code)
	}
}

// The admin API lists clients without their secrets and refuses what it
// refuses for API keys.
func TestAdminOAuthClients(t *testing.T) {
	f := newOAuthFixture(t)
	id, secret := f.createClient(`{"name":"crm","scopes":["conversations:read"],"allow_ips":["10.0.0.0/8"],"rate":"20/s"}`)
	if !strings.HasPrefix(secret, "sbcs_") || !strings.HasPrefix(id, "oc_") {
		t.Fatalf("id %q secret %q", id, secret)
	}
	for _, bad := range []string{
		`{"name":"","scopes":["admin"]}`,
		`{"name":"x","scopes":["root"]}`,
		`{"name":"x","scopes":["admin"],"allow_ips":["ten"]}`,
		`{"name":"x","scopes":["admin"],"rate":"fast"}`,
		`{"name":"x","scopes":["admin"],"secret":"mine"}`,
	} {
		if rec := f.api("POST", "/v1/admin/oauth-clients", adminKey, bad); rec.Code != 400 {
			t.Errorf("%s: status %d, want 400", bad, rec.Code)
		}
	}
	if rec := f.api("POST", "/v1/admin/oauth-clients", adminKey, `{"name":"crm","scopes":["admin"]}`); rec.Code != 409 {
		t.Errorf("duplicate name: %d", rec.Code)
	}
	rec := f.api("GET", "/v1/admin/oauth-clients", adminKey, "")
	var list OAuthClientList
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &list) != nil || len(list.Clients) != 1 {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	c := list.Clients[0]
	if c.ClientID != id || c.Name != "crm" || c.Rate != 20 || c.AllowIPs[0] != "10.0.0.0/8" || !c.CreatedAt.Equal(f.clock.Now()) {
		t.Errorf("listed %+v", c)
	}
	if strings.Contains(rec.Body.String(), secret) || strings.Contains(rec.Body.String(), store.HashKey(secret)) {
		t.Error("the list shows the secret or its hash")
	}
	id2, secret2 := f.createClient(`{"name":"reader","scopes":["conversations:read"]}`)
	tr := f.token(id2, secret2, "")
	if rec := f.api("GET", "/v1/admin/oauth-clients", tr.AccessToken, ""); rec.Code != 403 {
		t.Errorf("list with a read token: %d", rec.Code)
	}
}
