package console

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/store"
)

// Sign-in attempts allowed, whatever their outcome: per account (the
// email as typed, known or not) and per client address.
var (
	accountLimit = rate.Every(12 * time.Second) // 5 a minute
	accountBurst = 5
	addressLimit = rate.Every(3 * time.Second) // 20 a minute
	addressBurst = 10
)

// loginLimits holds a token bucket per account and per address.
type loginLimits struct {
	mu       sync.Mutex
	accounts map[string]*rate.Limiter
	address  map[string]*rate.Limiter
}

func newLoginLimits() *loginLimits {
	return &loginLimits{accounts: map[string]*rate.Limiter{}, address: map[string]*rate.Limiter{}}
}

// allow spends one attempt of the address and of the account, and returns
// how long to wait when either has none left.
func (l *loginLimits) allow(account, address string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	addr := limiter(l.address, address, addressLimit, addressBurst)
	if r := addr.ReserveN(now, 1); r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return r.DelayFrom(now), false
	}
	acct := limiter(l.accounts, account, accountLimit, accountBurst)
	if r := acct.ReserveN(now, 1); r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return r.DelayFrom(now), false
	}
	return 0, true
}

func limiter(m map[string]*rate.Limiter, key string, every rate.Limit, burst int) *rate.Limiter {
	lim := m[key]
	if lim == nil {
		lim = rate.NewLimiter(every, burst)
		m[key] = lim
	}
	return lim
}

// sweep forgets the buckets that are full again: they remember nothing.
func (l *loginLimits) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range []map[string]*rate.Limiter{l.accounts, l.address} {
		for k, lim := range m {
			if lim.TokensAt(now) >= float64(lim.Burst()) {
				delete(m, k)
			}
		}
	}
}

// operatorKey is the context key of the signed-in operator.
type operatorKey struct{}

// signedIn is the operator of a request and their session token.
type signedIn struct {
	op      store.Operator
	token   string
	expires time.Time
}

func operatorOf(ctx context.Context) signedIn {
	s, _ := ctx.Value(operatorKey{}).(signedIn)
	return s
}

// authed wraps a handler that needs a signed-in operator: without a valid
// session (unknown, expired, or the account disabled) it answers 401.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var token string
		if c, err := r.Cookie(SessionCookie); err == nil {
			token = c.Value
		}
		op, sess, err := s.accounts.Session(token)
		if errors.Is(err, accounts.ErrNoSession) {
			unauthorized(w, "sign in to the console: "+err.Error())
			return
		}
		if err != nil {
			s.internalError(w, "read session", err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		h(w, r.WithContext(context.WithValue(r.Context(), operatorKey{}, signedIn{op: op, token: token, expires: sess.ExpiresAt})))
	}
}

func unauthorized(w http.ResponseWriter, msg string) {
	httpapi.WriteError(w, http.StatusUnauthorized, "unauthorized", msg)
}

func (s *Server) internalError(w http.ResponseWriter, what string, err error) {
	s.log.WithError(err).Error(what)
	httpapi.WriteError(w, http.StatusInternalServerError, "internal", what+" failed")
}

// operatorView is an operator as the console shows them.
type operatorView struct {
	ID       string `json:"id"`
	Email    string `json:"email,omitempty"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Status   string `json:"status,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
}

func viewOperator(op store.Operator) operatorView {
	return operatorView{ID: op.ID, Email: op.Email, Name: op.Name, Role: op.Role}
}

// credentials is the body of a sign-in.
type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var req credentials
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	ip := httpapi.ClientIP(r, s.cfg.TrustedProxies).String()
	account := strings.ToLower(strings.TrimSpace(req.Email))
	if wait, ok := s.limits.allow(account, ip, s.cfg.Now()); !ok {
		s.auditLogin(r, account, ip, "rate limited")
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		httpapi.WriteError(w, http.StatusTooManyRequests, "rate_limited", "too many sign-in attempts; try again later")
		return
	}
	op, err := s.accounts.Authenticate(req.Email, req.Password)
	if errors.Is(err, accounts.ErrBadCredentials) {
		s.auditLogin(r, account, ip, "denied")
		unauthorized(w, accounts.ErrBadCredentials.Error())
		return
	}
	if err != nil {
		s.internalError(w, "sign in", err)
		return
	}
	s.startSession(w, r, op)
	s.auditLogin(r, op.Email, ip, "ok")
}

// startSession signs op in: a session cookie and the operator as the
// answer.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, op store.Operator) {
	token, sess, err := s.accounts.StartSession(r.Context(), op, s.cfg.SessionLifetime)
	if err != nil {
		s.internalError(w, "start session", err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/op/", Expires: sess.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(r),
	})
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"operator": viewOperator(op), "expires_at": sess.ExpiresAt})
}

// secureCookies says whether cookies are sent only over HTTPS: when the
// request came over TLS, or operators open the console over HTTPS
// (console.public_url) behind a proxy that ends TLS.
func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://")
}

func (s *Server) auditLogin(r *http.Request, who, ip, result string) {
	s.audit(r.Context(), store.AuditEntry{Actor: "operator:" + who, Action: "operator.login", SourceIP: ip, Result: result})
}

// audit appends an entry; a failure is logged, the action already
// happened.
func (s *Server) audit(ctx context.Context, e store.AuditEntry) {
	e.Time = s.cfg.Now()
	err := s.st.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		_, err := store.AppendAuditTx(tx, e)
		return err
	})
	if err != nil {
		s.log.WithError(err).WithField("action", e.Action).Error("write audit entry")
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.accounts.EndSession(r.Context(), c.Value); err != nil {
			s.internalError(w, "sign out", err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/op/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(r)})
	w.WriteHeader(http.StatusNoContent)
}

// setupRequest is the body of the first administrator's creation.
type setupRequest struct {
	Token    string `json:"token"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var req setupRequest
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	ip := httpapi.ClientIP(r, s.cfg.TrustedProxies).String()
	if wait, ok := s.limits.allow("setup", ip, s.cfg.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		httpapi.WriteError(w, http.StatusTooManyRequests, "rate_limited", "too many attempts; try again later")
		return
	}
	n := accounts.NewOperator{Email: req.Email, Name: req.Name, Password: req.Password, Role: accounts.RoleAdmin}
	op, err := s.accounts.Setup(r.Context(), req.Token, n, func(tx *store.Tx, op store.Operator) error {
		_, err := store.AppendAuditTx(tx, store.AuditEntry{
			Time: s.cfg.Now(), Actor: "setup link", Action: "operator.add", Target: op.ID + " (" + op.Email + ", admin)", SourceIP: ip, Result: "ok",
		})
		return err
	})
	switch {
	case errors.Is(err, accounts.ErrInvalid):
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case errors.Is(err, accounts.ErrSetupUsed):
		httpapi.WriteError(w, http.StatusForbidden, "setup_link_invalid", err.Error()+"; sign in, or restart the daemon for a new link while no account exists")
		return
	case err != nil:
		s.internalError(w, "create the first administrator", err)
		return
	}
	s.log.WithField("operator", op.Email).Info("the first console administrator was created with the setup link")
	s.startSession(w, r, op)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	me := operatorOf(r.Context())
	v := viewOperator(me.op)
	v.Status = s.presence.chosen(me.op.ID)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"operator": v, "expires_at": me.expires})
}
