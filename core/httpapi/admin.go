package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/store"
)

// audit appends an entry for a state-changing action by the request's
// caller. A failure to audit is logged: the action itself already happened.
func (s *Server) audit(r *http.Request, action, target string, result error) {
	e := s.auditEntry(r, action, target)
	if result != nil {
		e.Result = "error: " + result.Error()
	}
	err := s.store.Update(context.WithoutCancel(r.Context()), func(tx *store.Tx) error {
		_, err := store.AppendAuditTx(tx, e)
		return err
	})
	if err != nil {
		s.log.WithError(err).WithField("action", action).Error("write audit entry")
	}
}

// auditEntry is a successful action by the request's caller, now.
func (s *Server) auditEntry(r *http.Request, action, target string) store.AuditEntry {
	c := callerOf(r.Context())
	e := store.AuditEntry{Time: s.store.Now(), Action: action, Target: target, SourceIP: ipString(c), Result: "ok"}
	if c.principal != nil {
		e.Actor = c.principal.Name
	}
	return e
}

// APIKeyInfo is an API key as the admin API shows it (never the hash).
type APIKeyInfo struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	AllowIPs  []string   `json:"allow_ips,omitempty"`
	Rate      float64    `json:"rate_per_second,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// APIKeyList is the answer of GET /v1/admin/apikeys.
type APIKeyList struct {
	Keys []APIKeyInfo `json:"keys"`
	// NextCursor is the cursor of the next page while more remain.
	NextCursor string `json:"next_cursor,omitempty"`
}

// CreatedAPIKey is the answer of POST /v1/admin/apikeys: the new key and,
// this once, its secret.
type CreatedAPIKey struct {
	APIKeyInfo
	Key string `json:"key"`
}

// AuditVerification is the answer of GET /v1/admin/audit/verify when the
// hash chain is intact.
type AuditVerification struct {
	OK      bool `json:"ok"`
	Entries int  `json:"entries"`
}

func viewKey(k store.APIKey) APIKeyInfo {
	return APIKeyInfo{ID: k.ID, Name: k.Name, Scopes: k.Scopes, AllowIPs: k.AllowIPs, Rate: k.Rate, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	p, ok := pageParams(w, r, orderAsc)
	if !ok {
		return
	}
	keys, err := s.store.APIKeys()
	if err != nil {
		s.internalError(w, "list api keys", err)
		return
	}
	keys, next := pageOf(p, keys, func(k store.APIKey) []byte { return timeKey(k.CreatedAt, k.ID) })
	out := APIKeyList{Keys: make([]APIKeyInfo, len(keys)), NextCursor: next}
	for i, k := range keys {
		out.Keys[i] = viewKey(k)
	}
	s.writeJSON(w, http.StatusOK, out)
}

// CreateKeyRequest is the body of POST /v1/admin/apikeys and of POST
// /v1/admin/oauth-clients.
type CreateKeyRequest struct {
	Name     string   `json:"name"`
	Scopes   []string `json:"scopes"`
	AllowIPs []string `json:"allow_ips"`
	// Rate is "20/s", "600/m" or "1000/h"; empty: unlimited.
	Rate string `json:"rate"`
}

// validate checks a key request and returns its rate per second.
func (req *CreateKeyRequest) validate() (float64, error) {
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		return 0, errors.New(`"name" is required`)
	}
	if len(req.Scopes) == 0 {
		return 0, errors.New(`"scopes" is required: any of ` + strings.Join(store.Scopes, ", "))
	}
	for _, sc := range req.Scopes {
		if !slices.Contains(store.Scopes, sc) {
			return 0, errors.New("unknown scope " + strconv.Quote(sc) + "; one of " + strings.Join(store.Scopes, ", "))
		}
	}
	if _, err := ParsePrefixes(req.AllowIPs); err != nil {
		return 0, errors.New("allow_ips: " + err.Error())
	}
	return ParseRate(req.Rate)
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var req CreateKeyRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	rate, err := req.validate()
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	secret := store.NewKeySecret()
	k := store.APIKey{
		Name: req.Name, Hash: store.HashKey(secret), Scopes: req.Scopes, AllowIPs: req.AllowIPs,
		Rate: rate, CreatedAt: time.Now().UTC(),
	}
	c := callerOf(r.Context())
	err = s.store.Update(r.Context(), func(tx *store.Tx) error {
		if err := store.CreateAPIKeyTx(tx, &k); err != nil {
			return err
		}
		_, err := store.AppendAuditTx(tx, store.AuditEntry{
			Time: time.Now(), Actor: c.principal.Name, Action: "apikey.create", Target: k.ID + " (" + k.Name + ")",
			SourceIP: ipString(c), Result: "ok",
		})
		return err
	})
	if errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, "conflict", "an active key named "+strconv.Quote(k.Name)+" exists")
		return
	}
	if err != nil {
		s.internalError(w, "create api key", err)
		return
	}
	s.writeJSON(w, http.StatusCreated, CreatedAPIKey{APIKeyInfo: viewKey(k), Key: secret})
}

func ipString(c caller) string {
	if c.ip.IsValid() {
		return c.ip.String()
	}
	return ""
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var k store.APIKey
	c := callerOf(r.Context())
	err := s.store.Update(r.Context(), func(tx *store.Tx) error {
		var err error
		if k, err = store.RevokeAPIKeyTx(tx, id, time.Now().UTC()); err != nil {
			return err
		}
		_, err = store.AppendAuditTx(tx, store.AuditEntry{
			Time: time.Now(), Actor: c.principal.Name, Action: "apikey.revoke", Target: k.ID + " (" + k.Name + ")",
			SourceIP: ipString(c), Result: "ok",
		})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no API key "+strconv.Quote(id))
		return
	}
	if err != nil {
		s.internalError(w, "revoke api key", err)
		return
	}
	s.writeJSON(w, http.StatusOK, viewKey(k))
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	p, ok := seqPageParams(w, r, "an entry number")
	if !ok {
		return
	}
	entries, err := s.store.AuditPage(p.Page)
	if err != nil {
		s.internalError(w, "read audit log", err)
		return
	}
	entries, next := finish(p, entries, func(e store.AuditEntry) []byte { return seqKey(e.Seq) })
	resp := listBody("entries", entries, next)
	if next != "" && !p.Desc {
		// The older form of the cursor, for ?after=.
		resp["next"] = strconv.FormatUint(entries[len(entries)-1].Seq, 10)
	}
	s.writeJSON(w, http.StatusOK, resp)
}

func (s *Server) verifyAudit(w http.ResponseWriter, _ *http.Request) {
	n, err := s.store.VerifyAudit()
	if err != nil {
		writeError(w, http.StatusConflict, "audit_broken", err.Error())
		return
	}
	s.writeJSON(w, http.StatusOK, AuditVerification{OK: true, Entries: n})
}
