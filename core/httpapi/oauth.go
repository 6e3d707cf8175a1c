package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/core/store"
)

// OAuthStore finds OAuth clients (their tokens are found through
// KeyLookup, like API keys).
type OAuthStore interface {
	OAuthClient(id string) (store.OAuthClient, error)
	OAuthClients() ([]store.OAuthClient, error)
}

// The grant and token type of the token endpoint (RFC 6749 §4.4, RFC 6750).
const (
	grantClientCredentials = "client_credentials"
	tokenTypeBearer        = "Bearer"
)

// Error codes of the token endpoint. The first five are RFC 6749 §5.2's;
// invalid_grant does not arise, as the client credentials grant has no
// grant to be invalid besides the client's own credentials
// (invalid_client). The last two are the codes RFC 6749 §4.1.2.1 gives
// for a server that cannot answer now and for an internal failure.
const (
	errInvalidRequest       = "invalid_request"
	errInvalidClient        = "invalid_client"
	errUnauthorizedClient   = "unauthorized_client"
	errUnsupportedGrantType = "unsupported_grant_type"
	errInvalidScope         = "invalid_scope"
	errTemporarily          = "temporarily_unavailable"
	errServer               = "server_error"
)

// Failed client authentications at the token endpoint are limited per
// client ID and per source address: a burst in a row, then one per
// interval. Successful ones cost nothing.
var (
	clientFailures  = failurePolicy{prefix: "client:", burst: 10, every: 6 * time.Second}
	addressFailures = failurePolicy{prefix: "address:", burst: 30, every: 2 * time.Second}
)

// maxFailureBuckets bounds the memory of the failure limiter; beyond it,
// buckets that have refilled are forgotten first.
const maxFailureBuckets = 10000

// TokenResponse is the answer of POST /oauth/token (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	// TokenType is always "Bearer".
	TokenType string `json:"token_type"`
	// ExpiresIn is the token's lifetime in seconds.
	ExpiresIn int64 `json:"expires_in"`
	// Scope is the token's scopes, separated by spaces.
	Scope string `json:"scope"`
}

// TokenError is an error answer of POST /oauth/token (RFC 6749 §5.2).
type TokenError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// tokenFailure is a refused token request: the status and body to answer.
type tokenFailure struct {
	status int
	body   TokenError
	// challenge adds WWW-Authenticate: Basic, for a client that tried the
	// Authorization header or sent no credentials at all.
	challenge  bool
	retryAfter time.Duration
}

func refuse(status int, code, description string) *tokenFailure {
	return &tokenFailure{status: status, body: TokenError{Error: code, ErrorDescription: description}}
}

// credentials are the client ID and secret of a token request.
type credentials struct {
	id, secret string
	// basic: they came in the Authorization header.
	basic bool
}

// oauthRoutes registers the token endpoint (when tokens have a lifetime)
// and the admin routes of OAuth clients.
func (s *Server) oauthRoutes() {
	if s.cfg.OAuthTokenTTL > 0 {
		s.mux.HandleFunc("POST /oauth/token", s.token)
	}
	s.route("GET /v1/admin/oauth-clients", store.ScopeAdmin, s.listOAuthClients)
	s.route("POST /v1/admin/oauth-clients", store.ScopeAdmin, s.createOAuthClient)
	s.route("POST /v1/admin/oauth-clients/{id}/revoke", store.ScopeAdmin, s.revokeOAuthClient)
}

// token is the token endpoint of the client credentials grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	resp, fail := s.grant(w, r)
	if fail == nil {
		s.writeJSON(w, http.StatusOK, resp)
		return
	}
	if fail.challenge {
		h.Set("WWW-Authenticate", `Basic realm="switchboard"`)
	}
	if fail.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(fail.retryAfter.Seconds()))))
	}
	s.writeJSON(w, fail.status, fail.body)
}

// grant checks a token request and issues the token: the request's form,
// then the client's credentials, address and scopes.
func (s *Server) grant(w http.ResponseWriter, r *http.Request) (TokenResponse, *tokenFailure) {
	form, fail := s.tokenForm(w, r)
	if fail != nil {
		return TokenResponse{}, fail
	}
	creds, fail := clientCredentials(r, form)
	if fail != nil {
		return TokenResponse{}, fail
	}
	if gt := form.Get("grant_type"); gt != grantClientCredentials {
		return TokenResponse{}, refuse(http.StatusBadRequest, errUnsupportedGrantType,
			"grant_type "+strconv.Quote(gt)+" is not supported; use "+grantClientCredentials)
	}
	if creds.id == "" || creds.secret == "" {
		f := refuse(http.StatusUnauthorized, errInvalidClient,
			"client authentication is required: HTTP Basic, or client_id and client_secret in the body")
		f.challenge = creds.basic || creds.id == "" && creds.secret == ""
		return TokenResponse{}, f
	}

	now := s.store.Now()
	ip := s.access.clientIP(r)
	keys := []failureKey{clientFailures.key(creds.id), addressFailures.key(ip.String())}
	if wait := s.access.failures.wait(now, keys...); wait > 0 {
		f := refuse(http.StatusTooManyRequests, errTemporarily, "too many failed client authentications; try again later")
		f.retryAfter = wait
		return TokenResponse{}, f
	}
	client, err := s.authenticateClient(creds)
	if errors.Is(err, errBadCredentials) {
		s.access.failures.fail(now, keys...)
		s.log.WithFields(logrus.Fields{"client_id": truncate(creds.id, 64), "source_ip": ip.String(), "reason": err.Error()}).
			Warn("OAuth client authentication failed")
		f := refuse(http.StatusUnauthorized, errInvalidClient, "client authentication failed")
		f.challenge = creds.basic
		return TokenResponse{}, f
	}
	if err != nil {
		s.log.WithError(err).Error("look up OAuth client")
		return TokenResponse{}, refuse(http.StatusInternalServerError, errServer, "internal error")
	}
	p, err := storedPrincipal(client.ID, clientPrincipalName(client.Name), client.Scopes, client.AllowIPs, client.Rate)
	if err != nil {
		s.log.WithError(err).Error("read OAuth client")
		return TokenResponse{}, refuse(http.StatusInternalServerError, errServer, "internal error")
	}
	if !s.access.allowed(p, ip) {
		s.log.WithFields(logrus.Fields{"client": client.Name, "source_ip": ip.String()}).Warn("token request from an address outside the allowlist")
		return TokenResponse{}, refuse(http.StatusBadRequest, errUnauthorizedClient, "this client may not get tokens from "+ip.String())
	}
	scopes, fail := narrowScopes(client.Scopes, form)
	if fail != nil {
		return TokenResponse{}, fail
	}

	// The client is the actor of its token's issue.
	asClient := r.WithContext(context.WithValue(r.Context(), principalKey{}, caller{principal: p, ip: ip}))
	audit := s.auditEntry(asClient, "oauth.token", client.ID+" ("+client.Name+") scope "+strings.Join(scopes, " "))
	token := store.NewAccessToken()
	t := store.AccessToken{ClientID: client.ID, Scopes: scopes, IssuedAt: now, ExpiresAt: now.Add(s.cfg.OAuthTokenTTL)}
	err = s.store.Update(r.Context(), func(tx *store.Tx) error {
		if err := store.IssueAccessTokenTx(tx, store.HashKey(token), t); err != nil {
			return err
		}
		_, err := store.AppendAuditTx(tx, audit)
		return err
	})
	if err != nil {
		s.log.WithError(err).Error("issue access token")
		return TokenResponse{}, refuse(http.StatusInternalServerError, errServer, "internal error")
	}
	return TokenResponse{
		AccessToken: token, TokenType: tokenTypeBearer,
		ExpiresIn: int64(s.cfg.OAuthTokenTTL / time.Second), Scope: strings.Join(scopes, " "),
	}, nil
}

// tokenForm reads the form body of a token request (RFC 6749 §3.2:
// form-encoded, each parameter at most once, credentials never in the
// URL). A parameter sent without a value counts as absent (§3.1).
func (s *Server) tokenForm(w http.ResponseWriter, r *http.Request) (url.Values, *tokenFailure) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, refuse(http.StatusBadRequest, errInvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	if r.URL.Query().Has("client_secret") {
		return nil, refuse(http.StatusBadRequest, errInvalidRequest, "client_secret must not be sent in the URL; send it in the body or the Authorization header")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, refuse(http.StatusRequestEntityTooLarge, errInvalidRequest, "request body exceeds the limit")
	}
	if err != nil {
		return nil, refuse(http.StatusBadRequest, errInvalidRequest, "unreadable body")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, refuse(http.StatusBadRequest, errInvalidRequest, "malformed form body: "+err.Error())
	}
	for name, values := range form {
		if len(values) > 1 {
			return nil, refuse(http.StatusBadRequest, errInvalidRequest, "parameter "+strconv.Quote(truncate(name, 64))+" is repeated")
		}
		if values[0] == "" {
			delete(form, name)
		}
	}
	if !form.Has("grant_type") {
		return nil, refuse(http.StatusBadRequest, errInvalidRequest, "grant_type is required")
	}
	return form, nil
}

// clientCredentials reads the client's ID and secret from the Basic
// Authorization header (RFC 6749 §2.3.1: each form-encoded, then joined
// and base64-encoded) or from the form. A client uses one method, not
// both; with Basic, a client_id in the form must name the same client.
func clientCredentials(r *http.Request, form url.Values) (credentials, *tokenFailure) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return credentials{id: form.Get("client_id"), secret: form.Get("client_secret")}, nil
	}
	if form.Has("client_secret") {
		return credentials{}, refuse(http.StatusBadRequest, errInvalidRequest,
			"use one client authentication method: the Authorization header or client_secret in the body, not both")
	}
	malformed := &tokenFailure{status: http.StatusUnauthorized, challenge: true, body: TokenError{
		Error: errInvalidClient, ErrorDescription: "the Authorization header must be Basic with the client's form-encoded ID and secret",
	}}
	scheme, encoded, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return credentials{}, malformed
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return credentials{}, malformed
	}
	rawID, rawSecret, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return credentials{}, malformed
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil {
		return credentials{}, malformed
	}
	if form.Has("client_id") && form.Get("client_id") != id {
		return credentials{}, refuse(http.StatusBadRequest, errInvalidRequest,
			"client_id in the body names another client than the Authorization header")
	}
	return credentials{id: id, secret: secret, basic: true}, nil
}

// errBadCredentials is an unknown client, a wrong secret or a revoked
// client: the caller is told no more than that.
var errBadCredentials = errors.New("bad client credentials")

// authenticateClient checks a client's secret. An unknown client costs
// the same lookup, hash and comparison as a known one, so neither the
// answer nor its timing tells which client IDs exist.
func (s *Server) authenticateClient(creds credentials) (store.OAuthClient, error) {
	client, err := s.store.OAuthClient(creds.id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.OAuthClient{}, err
	}
	want := client.Hash
	if len(want) != 2*sha256.Size {
		want = strings.Repeat("0", 2*sha256.Size)
	}
	match := subtle.ConstantTimeCompare([]byte(store.HashKey(creds.secret)), []byte(want)) == 1
	switch {
	case err != nil:
		return store.OAuthClient{}, fmt.Errorf("%w: unknown client", errBadCredentials)
	case !match:
		return store.OAuthClient{}, fmt.Errorf("%w: wrong secret", errBadCredentials)
	case client.RevokedAt != nil:
		return store.OAuthClient{}, fmt.Errorf("%w: client revoked", errBadCredentials)
	}
	return client, nil
}

// narrowScopes is the token's scopes: the client's, or the subset the
// space-separated scope parameter asks for (RFC 6749 §3.3), in the
// client's order.
func narrowScopes(granted []string, form url.Values) ([]string, *tokenFailure) {
	asked := strings.Fields(form.Get("scope"))
	if len(asked) == 0 {
		return granted, nil
	}
	for _, sc := range asked {
		if !slices.Contains(granted, sc) {
			return nil, refuse(http.StatusBadRequest, errInvalidScope,
				"scope "+strconv.Quote(truncate(sc, 64))+" is not granted to this client; it has "+strings.Join(granted, " "))
		}
	}
	var out []string
	for _, sc := range granted {
		if slices.Contains(asked, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// clientPrincipalName is how an OAuth client shows as the actor of
// requests made with its tokens (audit log, logs).
func clientPrincipalName(name string) string { return "oauth client " + name }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// failurePolicy is how many failures a kind of key may have: burst in a
// row, then one per every.
type failurePolicy struct {
	prefix string
	burst  int
	every  time.Duration
}

// failureKey is one client ID or address under its policy.
type failureKey struct {
	name   string
	policy failurePolicy
}

// key is the limiter key of a client ID or an address. Client IDs are
// cut short: they come from the caller, and a real one is short.
func (p failurePolicy) key(value string) failureKey {
	return failureKey{name: p.prefix + truncate(value, 128), policy: p}
}

// failureLimiter counts failed authentications per key in token buckets.
// Its zero value is ready to use.
type failureLimiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// wait is how long until every key may fail once more; 0 when they all
// may now.
func (f *failureLimiter) wait(now time.Time, keys ...failureKey) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		lim, ok := f.buckets[k.name]
		if !ok {
			continue
		}
		if tokens := lim.TokensAt(now); tokens < 1 {
			longest = max(longest, time.Duration((1-tokens)*float64(k.policy.every)))
		}
	}
	return longest
}

// fail spends one failure of every key.
func (f *failureLimiter) fail(now time.Time, keys ...failureKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.buckets == nil {
		f.buckets = map[string]*rate.Limiter{}
	}
	for _, k := range keys {
		lim, ok := f.buckets[k.name]
		if !ok {
			f.makeRoom(now)
			lim = rate.NewLimiter(rate.Every(k.policy.every), k.policy.burst)
			f.buckets[k.name] = lim
		}
		lim.ReserveN(now, 1)
	}
}

// makeRoom keeps the buckets under maxFailureBuckets: it forgets the ones
// that have refilled, then, under a flood of distinct keys, any, down to
// nine tenths of the bound so the sweep is rare.
func (f *failureLimiter) makeRoom(now time.Time) {
	if len(f.buckets) < maxFailureBuckets {
		return
	}
	for k, lim := range f.buckets {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(f.buckets, k)
		}
	}
	for k := range f.buckets {
		if len(f.buckets) < maxFailureBuckets*9/10 {
			break
		}
		delete(f.buckets, k)
	}
}

// OAuthClientInfo is an OAuth client as the admin API shows it (never the
// hash of its secret).
type OAuthClientInfo struct {
	ClientID  string     `json:"client_id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	AllowIPs  []string   `json:"allow_ips,omitempty"`
	Rate      float64    `json:"rate_per_second,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// OAuthClientList is the answer of GET /v1/admin/oauth-clients.
type OAuthClientList struct {
	Clients []OAuthClientInfo `json:"clients"`
	// NextCursor is the cursor of the next page while more remain.
	NextCursor string `json:"next_cursor,omitempty"`
}

// CreatedOAuthClient is the answer of POST /v1/admin/oauth-clients: the
// new client and, this once, its secret.
type CreatedOAuthClient struct {
	OAuthClientInfo
	ClientSecret string `json:"client_secret"`
}

func viewClient(c store.OAuthClient) OAuthClientInfo {
	return OAuthClientInfo{ClientID: c.ID, Name: c.Name, Scopes: c.Scopes, AllowIPs: c.AllowIPs, Rate: c.Rate, CreatedAt: c.CreatedAt, RevokedAt: c.RevokedAt}
}

func (s *Server) listOAuthClients(w http.ResponseWriter, r *http.Request) {
	p, ok := pageParams(w, r, orderAsc)
	if !ok {
		return
	}
	clients, err := s.store.OAuthClients()
	if err != nil {
		s.internalError(w, "list oauth clients", err)
		return
	}
	clients, next := pageOf(p, clients, func(c store.OAuthClient) []byte { return timeKey(c.CreatedAt, c.ID) })
	out := OAuthClientList{Clients: make([]OAuthClientInfo, len(clients)), NextCursor: next}
	for i, c := range clients {
		out.Clients[i] = viewClient(c)
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) createOAuthClient(w http.ResponseWriter, r *http.Request) {
	var req CreateKeyRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	rate, err := req.validate()
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	secret := store.NewClientSecret()
	c := store.OAuthClient{
		Name: req.Name, Hash: store.HashKey(secret), Scopes: req.Scopes, AllowIPs: req.AllowIPs,
		Rate: rate, CreatedAt: s.store.Now(),
	}
	err = s.store.Update(r.Context(), func(tx *store.Tx) error {
		if err := store.CreateOAuthClientTx(tx, &c); err != nil {
			return err
		}
		_, err := store.AppendAuditTx(tx, s.auditEntry(r, "oauth_client.create", c.ID+" ("+c.Name+")"))
		return err
	})
	if errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, "conflict", "an active OAuth client named "+strconv.Quote(c.Name)+" exists")
		return
	}
	if err != nil {
		s.internalError(w, "create oauth client", err)
		return
	}
	s.writeJSON(w, http.StatusCreated, CreatedOAuthClient{OAuthClientInfo: viewClient(c), ClientSecret: secret})
}

func (s *Server) revokeOAuthClient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var c store.OAuthClient
	err := s.store.Update(r.Context(), func(tx *store.Tx) error {
		var err error
		if c, err = store.RevokeOAuthClientTx(tx, id, s.store.Now()); err != nil {
			return err
		}
		_, err = store.AppendAuditTx(tx, s.auditEntry(r, "oauth_client.revoke", c.ID+" ("+c.Name+")"))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no OAuth client "+strconv.Quote(id))
		return
	}
	if err != nil {
		s.internalError(w, "revoke oauth client", err)
		return
	}
	s.writeJSON(w, http.StatusOK, viewClient(c))
}
