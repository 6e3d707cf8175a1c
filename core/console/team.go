package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/store"
)

// admin wraps a handler only administrators may use; an agent gets 403
// saying that administrators manage what.
func (s *Server) admin(what string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if operatorOf(r.Context()).op.Role != accounts.RoleAdmin {
			httpapi.WriteError(w, http.StatusForbidden, "forbidden", "only administrators manage "+what)
			return
		}
		h(w, r)
	}
}

// addOperator creates a colleague's account from the console.
func (s *Server) addOperator(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	me := operatorOf(r.Context()).op
	ip := httpapi.ClientIP(r, s.cfg.TrustedProxies).String()
	op, err := s.accounts.Add(r.Context(), accounts.NewOperator(req), func(tx *store.Tx, op store.Operator) error {
		_, err := store.AppendAuditTx(tx, store.AuditEntry{
			Time: s.cfg.Now(), Actor: "operator:" + me.Email, Action: "operator.add",
			Target: op.ID + " (" + op.Email + ", " + op.Role + ")", SourceIP: ip, Result: "ok",
		})
		return err
	})
	switch {
	case errors.Is(err, accounts.ErrInvalid):
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case errors.Is(err, store.ErrExists):
		httpapi.WriteError(w, http.StatusConflict, "conflict", "an operator with the email "+strconv.Quote(req.Email)+" exists")
		return
	case err != nil:
		s.internalError(w, "add operator", err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, viewOperator(op))
}

// setDisabled disables (signing them out everywhere) or enables a
// colleague's account; nobody disables their own.
func (s *Server) setDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		me := operatorOf(r.Context()).op
		if id == me.ID && disabled {
			httpapi.WriteError(w, http.StatusConflict, "conflict", "you cannot disable your own account")
			return
		}
		change, action := s.accounts.Enable, "operator.enable"
		if disabled {
			change, action = s.accounts.Disable, "operator.disable"
		}
		op, err := change(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			httpapi.WriteError(w, http.StatusNotFound, "not_found", "no operator "+strconv.Quote(id))
			return
		}
		if err != nil {
			s.internalError(w, action, err)
			return
		}
		s.audit(r.Context(), store.AuditEntry{
			Actor: "operator:" + me.Email, Action: action, Target: op.ID + " (" + op.Email + ")",
			SourceIP: httpapi.ClientIP(r, s.cfg.TrustedProxies).String(), Result: "ok",
		})
		v := viewOperator(op)
		v.Disabled = op.Disabled
		httpapi.WriteJSON(w, http.StatusOK, v)
	}
}
