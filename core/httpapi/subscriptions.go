package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/config"
	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/core/webhooks"
)

// WebhookInfo is an event webhook subscription as the API shows it (never
// its secrets).
type WebhookInfo struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// Events are the event types it gets; empty: all.
	Events      []events.Type `json:"events"`
	Description string        `json:"description,omitempty"`
	// Source is "config" for the config file's [[webhooks]], else "api".
	Source string             `json:"source"`
	State  store.WebhookState `json:"state"`
	// Reason says why it is paused or disabled.
	Reason     string    `json:"reason,omitempty"`
	StateSince time.Time `json:"state_since"`
	// FailingSince is when its deliveries started failing, while they do.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// Rotating is set while a previous secret still signs, until
	// PreviousSecretUntil (absent: until the config file drops it).
	Rotating            bool       `json:"rotating,omitempty"`
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

// WebhookList is the answer of GET /v1/webhooks.
type WebhookList struct {
	Webhooks []WebhookInfo `json:"webhooks"`
	// NextCursor is the cursor of the next page while more remain.
	NextCursor string `json:"next_cursor,omitempty"`
}

// CreatedWebhook is the answer of POST /v1/webhooks and of a rotation: the
// subscription and, this once, its signing secret.
type CreatedWebhook struct {
	WebhookInfo
	Secret string `json:"secret"`
}

// WebhookRequest is the body of POST and PATCH /v1/webhooks: every field
// is optional in a PATCH.
type WebhookRequest struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Description *string   `json:"description"`
	// Secret sets the signing secret on creation (whsec_…); absent, one
	// is generated.
	Secret *string `json:"secret"`
	// State (PATCH) is "active" (resume or enable), "paused" or
	// "disabled".
	State *store.WebhookState `json:"state"`
}

// RotateRequest is the body of POST /v1/webhooks/{id}/rotate.
type RotateRequest struct {
	// KeepPrevious is how long the old secret keeps signing beside the new
	// one ("24h" when absent; "0s" drops it at once).
	KeepPrevious string `json:"keep_previous"`
}

// defaultKeepPrevious is how long a rotated secret keeps signing.
const defaultKeepPrevious = 24 * time.Hour

// DeliveryAttempt is one attempt of a delivery as the API shows it.
type DeliveryAttempt struct {
	DeliveryID string      `json:"delivery_id"`
	EventID    string      `json:"event_id"`
	Type       events.Type `json:"type"`
	Attempt    int         `json:"attempt"`
	// Status is the receiver's HTTP status; absent when none came.
	Status     int        `json:"status,omitempty"`
	Outcome    string     `json:"outcome"`
	Error      string     `json:"error,omitempty"`
	DurationMS int64      `json:"duration_ms"`
	At         time.Time  `json:"at"`
	NextAt     *time.Time `json:"next_attempt_at,omitempty"`
}

// DeliveryList is the answer of GET /v1/webhooks/{id}/deliveries.
type DeliveryList struct {
	Deliveries []DeliveryAttempt `json:"deliveries"`
	// NextCursor is the cursor of the next page while more remain.
	NextCursor string `json:"next_cursor,omitempty"`
}

func viewWebhook(w store.Webhook, now time.Time) WebhookInfo {
	v := WebhookInfo{
		ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description, Source: "api", State: w.State,
		Reason: w.Reason, StateSince: w.StateSince, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
	}
	if v.Events == nil {
		v.Events = []events.Type{}
	}
	if w.FromConfig {
		v.Source = "config"
	}
	if !w.FailingSince.IsZero() {
		v.FailingSince = &w.FailingSince
	}
	if len(w.Secrets(now)) > 1 {
		v.Rotating = true
		if !w.PreviousUntil.IsZero() {
			v.PreviousSecretUntil = &w.PreviousUntil
		}
	}
	return v
}

// webhookAudit appends an audit entry for an action on a subscription in
// tx.
func webhookAudit(tx *store.Tx, r *http.Request, action string, w store.Webhook) error {
	return webhookAuditOf(tx, r, action, w.ID+" ("+w.URL+")")
}

func webhookAuditOf(tx *store.Tx, r *http.Request, action, target string) error {
	c := callerOf(r.Context())
	_, err := store.AppendAuditTx(tx, store.AuditEntry{
		Time: time.Now(), Actor: c.principal.Name, Action: action, Target: target,
		SourceIP: ipString(c), Result: "ok",
	})
	return err
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	p, ok := pageParams(w, r, orderAsc)
	if !ok {
		return
	}
	subs, err := s.store.Webhooks()
	if err != nil {
		s.internalError(w, "list webhooks", err)
		return
	}
	subs, next := pageOf(p, subs, func(sub store.Webhook) []byte { return timeKey(sub.CreatedAt, sub.ID) })
	now := time.Now()
	out := WebhookList{Webhooks: make([]WebhookInfo, len(subs)), NextCursor: next}
	for i, sub := range subs {
		out.Webhooks[i] = viewWebhook(sub, now)
	}
	s.writeJSON(w, http.StatusOK, out)
}

// webhook loads the {id} of the path, answering 404 itself.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) (store.Webhook, bool) {
	id := r.PathValue("id")
	sub, err := s.store.Webhook(id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no webhook "+strconv.Quote(id))
		return sub, false
	}
	if err != nil {
		s.internalError(w, "get webhook "+id, err)
		return sub, false
	}
	return sub, true
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	if sub, ok := s.webhook(w, r); ok {
		s.writeJSON(w, http.StatusOK, viewWebhook(sub, time.Now()))
	}
}

// apply checks a request's owner fields and sets them on sub.
func (req *WebhookRequest) apply(sub *store.Webhook) error {
	if req.URL != nil {
		u := strings.TrimSpace(*req.URL)
		if err := webhooks.CheckURL(u); err != nil {
			return errors.New("url: " + err.Error())
		}
		sub.URL = u
	}
	if req.Events != nil {
		sub.Events = nil
		for _, name := range *req.Events {
			if !events.Type(name).Valid() {
				return errors.New("events: unknown event type " + strconv.Quote(name) + "; one of " + strings.Join(events.TypeNames(), ", "))
			}
			sub.Events = append(sub.Events, events.Type(name))
		}
	}
	if req.Description != nil {
		sub.Description = strings.TrimSpace(*req.Description)
	}
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req WebhookRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.URL == nil {
		writeError(w, http.StatusBadRequest, "bad_request", `"url" is required`)
		return
	}
	if req.State != nil {
		writeError(w, http.StatusBadRequest, "bad_request", `"state": a new webhook is active; change it with PATCH`)
		return
	}
	var sub store.Webhook
	if err := req.apply(&sub); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	sub.Secret = webhooks.NewSecret()
	if req.Secret != nil {
		if _, err := webhooks.ParseSecret(*req.Secret); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "secret: "+err.Error())
			return
		}
		sub.Secret = *req.Secret
	}
	err := s.store.Update(r.Context(), func(tx *store.Tx) error {
		sub.ID = ""
		if err := store.CreateWebhookTx(tx, &sub); err != nil {
			return err
		}
		return webhookAudit(tx, r, "webhook.create", sub)
	})
	if err != nil {
		s.internalError(w, "create webhook", err)
		return
	}
	w.Header().Set("Location", "/v1/webhooks/"+sub.ID)
	s.writeJSON(w, http.StatusCreated, CreatedWebhook{WebhookInfo: viewWebhook(sub, time.Now()), Secret: sub.Secret})
}

// errFromConfig refuses a change to a subscription of the config file.
var errFromConfig = errors.New("this webhook is defined in the config file's [[webhooks]]: change it there (only its state can be changed here)")

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.webhook(w, r)
	if !ok {
		return
	}
	var req WebhookRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Secret != nil {
		writeError(w, http.StatusBadRequest, "bad_request", `"secret": change it with POST /v1/webhooks/`+sub.ID+`/rotate`)
		return
	}
	if req.State != nil && !req.State.Valid() {
		writeError(w, http.StatusBadRequest, "bad_request", `"state": want active, paused or disabled`)
		return
	}
	owner := req.URL != nil || req.Events != nil || req.Description != nil
	if owner && sub.FromConfig {
		writeError(w, http.StatusConflict, "conflict", errFromConfig.Error())
		return
	}
	if err := req.apply(&sub); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	actor := callerOf(r.Context()).principal.Name
	var updated store.Webhook
	err := s.store.Update(r.Context(), func(tx *store.Tx) error {
		changed := sub
		if owner {
			if err := store.PutWebhookTx(tx, &changed); err != nil {
				return err
			}
		}
		if req.State != nil {
			var err error
			if changed, err = store.SetWebhookStateTx(tx, sub.ID, *req.State, "set to "+string(*req.State)+" by "+actor); err != nil {
				return err
			}
		}
		updated = changed
		return webhookAudit(tx, r, "webhook.update", changed)
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no webhook "+strconv.Quote(sub.ID))
		return
	}
	if err != nil {
		s.internalError(w, "update webhook "+sub.ID, err)
		return
	}
	s.writeJSON(w, http.StatusOK, viewWebhook(updated, time.Now()))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.webhook(w, r)
	if !ok {
		return
	}
	if sub.FromConfig {
		writeError(w, http.StatusConflict, "conflict", "this webhook is defined in the config file's [[webhooks]]: remove it there, or disable it here")
		return
	}
	err := s.store.Update(r.Context(), func(tx *store.Tx) error {
		if err := store.DeleteWebhookTx(tx, sub.ID); err != nil {
			return err
		}
		return webhookAudit(tx, r, "webhook.delete", sub)
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no webhook "+strconv.Quote(sub.ID))
		return
	}
	if err != nil {
		s.internalError(w, "delete webhook "+sub.ID, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// rotateWebhook gives a subscription a new secret; the old one keeps
// signing beside it for keep_previous, so the receiver can switch without
// rejecting a delivery.
func (s *Server) rotateWebhook(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.webhook(w, r)
	if !ok {
		return
	}
	var req RotateRequest
	if r.ContentLength != 0 && !decodeJSON(w, r, &req) {
		return
	}
	keep := defaultKeepPrevious
	if req.KeepPrevious != "" {
		d, err := config.ParseDuration(req.KeepPrevious)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, "bad_request", "keep_previous: not a duration like \"24h\": "+strconv.Quote(req.KeepPrevious))
			return
		}
		keep = d
	}
	if sub.FromConfig {
		writeError(w, http.StatusConflict, "conflict", "this webhook is defined in the config file: rotate its secret there (secret, and the old one as previous_secret)")
		return
	}
	secret := webhooks.NewSecret()
	var updated store.Webhook
	err := s.store.Update(r.Context(), func(tx *store.Tx) error {
		cur, err := store.GetWebhookTx(tx, sub.ID)
		if err != nil {
			return err
		}
		cur.PreviousSecret, cur.PreviousUntil, cur.Secret = "", time.Time{}, secret
		if keep > 0 {
			cur.PreviousSecret, cur.PreviousUntil = sub.Secret, time.Now().Add(keep).UTC()
		}
		if err := store.PutWebhookTx(tx, &cur); err != nil {
			return err
		}
		updated = cur
		return webhookAudit(tx, r, "webhook.rotate", cur)
	})
	if err != nil {
		s.internalError(w, "rotate the secret of webhook "+sub.ID, err)
		return
	}
	s.writeJSON(w, http.StatusOK, CreatedWebhook{WebhookInfo: viewWebhook(updated, time.Now()), Secret: secret})
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.webhook(w, r)
	if !ok {
		return
	}
	// Newest first unless asked otherwise.
	p, ok := pageParams(w, r, orderDesc)
	if !ok {
		return
	}
	attempts, keys, err := s.store.WebhookAttemptPage(sub.ID, p.Page)
	if err != nil {
		s.internalError(w, "list deliveries of webhook "+sub.ID, err)
		return
	}
	next := ""
	if len(attempts) > p.limit {
		attempts = attempts[:p.limit]
		next = encodeCursor(p.Desc, keys[p.limit-1])
	}
	out := DeliveryList{Deliveries: make([]DeliveryAttempt, len(attempts)), NextCursor: next}
	for i, a := range attempts {
		out.Deliveries[i] = DeliveryAttempt{
			DeliveryID: a.Delivery, EventID: a.EventID, Type: a.Type, Attempt: a.Attempt, Status: a.Status,
			Outcome: a.Outcome, Error: a.Error, DurationMS: a.Duration.Milliseconds(), At: a.At,
		}
		if !a.NextAttempt.IsZero() {
			out.Deliveries[i].NextAt = &a.NextAttempt
		}
	}
	s.writeJSON(w, http.StatusOK, out)
}

// retryDelivery sends a delivery again: at once if it is still pending, or
// anew (with the same webhook-id) once it was delivered or given up.
func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.webhook(w, r)
	if !ok {
		return
	}
	id := r.PathValue("delivery_id")
	seq, err := store.ParseSeq(id)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "delivery_id: "+err.Error())
		return
	}
	if sub.State != store.WebhookActive {
		writeError(w, http.StatusConflict, "conflict", "the webhook is "+string(sub.State)+"; set its state to active first")
		return
	}
	var queued store.OutboxEntry
	err = s.store.Update(r.Context(), func(tx *store.Tx) error {
		var err error
		if queued, err = store.RetryWebhookDeliveryTx(tx, sub.ID, seq); err != nil {
			return err
		}
		return webhookAuditOf(tx, r, "webhook.retry", sub.ID+" delivery "+id)
	})
	switch {
	case errors.Is(err, store.ErrEventsPurged):
		writeError(w, http.StatusGone, "purged", "the event of delivery "+id+" is older than the event retention and was deleted")
		return
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "webhook "+sub.ID+" has no delivery "+strconv.Quote(id))
		return
	case err != nil:
		s.internalError(w, "retry delivery "+id, err)
		return
	}
	s.writeJSON(w, http.StatusAccepted, map[string]string{"delivery_id": queued.ID()})
}
