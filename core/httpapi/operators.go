package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/store"
)

// Operators manages the console's operator accounts for the admin API.
type Operators interface {
	Add(ctx context.Context, n accounts.NewOperator, audit func(tx *store.Tx, op store.Operator) error) (store.Operator, error)
	List() ([]store.Operator, error)
	Disable(ctx context.Context, idOrEmail string) (store.Operator, error)
	Enable(ctx context.Context, idOrEmail string) (store.Operator, error)
	ResetPassword(ctx context.Context, idOrEmail, password string) (store.Operator, error)
}

// OperatorView is an operator account as the admin API shows it (never
// the password hash).
type OperatorView struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

func viewOperator(op store.Operator) OperatorView {
	return OperatorView{ID: op.ID, Email: op.Email, Name: op.Name, Role: op.Role, Disabled: op.Disabled, CreatedAt: op.CreatedAt}
}

// CreateOperatorRequest is the body of POST /v1/admin/operators.
type CreateOperatorRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

// PasswordRequest is the body of POST /v1/admin/operators/{id}/password.
type PasswordRequest struct {
	Password string `json:"password"`
}

func (s *Server) listOperators(w http.ResponseWriter, r *http.Request) {
	p, ok := pageParams(w, r, orderAsc)
	if !ok {
		return
	}
	ops, err := s.cfg.Operators.List()
	if err != nil {
		s.internalError(w, "list operators", err)
		return
	}
	ops, next := pageOf(p, ops, func(op store.Operator) []byte { return timeKey(op.CreatedAt, op.ID) })
	out := make([]OperatorView, len(ops))
	for i, op := range ops {
		out[i] = viewOperator(op)
	}
	s.writeJSON(w, http.StatusOK, listBody("operators", out, next))
}

func (s *Server) createOperator(w http.ResponseWriter, r *http.Request) {
	var req CreateOperatorRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	c := callerOf(r.Context())
	op, err := s.cfg.Operators.Add(r.Context(), accounts.NewOperator(req), func(tx *store.Tx, op store.Operator) error {
		_, err := store.AppendAuditTx(tx, store.AuditEntry{
			Time: time.Now(), Actor: c.principal.Name, Action: "operator.add", Target: op.ID + " (" + op.Email + ", " + op.Role + ")",
			SourceIP: ipString(c), Result: "ok",
		})
		return err
	})
	if s.operatorError(w, "add operator", req.Email, err) {
		return
	}
	s.writeJSON(w, http.StatusCreated, viewOperator(op))
}

// changeOperator serves the routes that change one account: disable,
// enable and password.
func (s *Server) changeOperator(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		var op store.Operator
		var err error
		switch action {
		case "operator.disable":
			op, err = s.cfg.Operators.Disable(r.Context(), id)
		case "operator.enable":
			op, err = s.cfg.Operators.Enable(r.Context(), id)
		case "operator.password":
			var req PasswordRequest
			if !decodeJSON(w, r, &req) {
				return
			}
			op, err = s.cfg.Operators.ResetPassword(r.Context(), id, req.Password)
		}
		if err == nil {
			s.audit(r, action, op.ID+" ("+op.Email+")", nil)
		}
		if s.operatorError(w, action, id, err) {
			return
		}
		s.writeJSON(w, http.StatusOK, viewOperator(op))
	}
}

// operatorError answers a failed account change and reports whether there
// was one.
func (s *Server) operatorError(w http.ResponseWriter, what, who string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, accounts.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no operator "+strconv.Quote(who))
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "conflict", "an operator with the email "+strconv.Quote(who)+" exists")
	default:
		s.internalError(w, what, err)
	}
	return true
}
