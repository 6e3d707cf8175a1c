package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard/core/httplimit"
	"github.com/switchboard-chat/switchboard/core/store"
)

// DeadLetter is a dead letter as the admin API shows it.
type DeadLetter struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id"`
	Channel        string    `json:"channel"`
	Kind           string    `json:"kind"`
	Text           string    `json:"text,omitempty"`
	Attempts       int       `json:"attempts"`
	Error          string    `json:"error"`
	CreatedAt      time.Time `json:"created_at"`
	FailedAt       time.Time `json:"failed_at"`
}

// DeadLetterList is the answer of GET /v1/admin/deadletters.
type DeadLetterList struct {
	DeadLetters []DeadLetter `json:"deadletters"`
	// NextCursor is the cursor of the next page while more remain.
	NextCursor string `json:"next_cursor,omitempty"`
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	p, ok := pageParams(w, r, orderAsc)
	if !ok {
		return
	}
	dls, err := s.store.DeadLetters()
	if err != nil {
		s.internalError(w, "list dead letters", err)
		return
	}
	dls, next := pageOf(p, dls, func(d store.DeadLetter) []byte { return seqKey(d.Entry.Seq) })
	out := DeadLetterList{DeadLetters: make([]DeadLetter, len(dls)), NextCursor: next}
	for i, d := range dls {
		out.DeadLetters[i] = DeadLetter{
			ID: d.Entry.ID(), ConversationID: d.Entry.ConversationID, Channel: d.Entry.Instance, Kind: d.Entry.Op().String(),
			Text: d.Entry.Text(), Attempts: d.Entry.Attempts, Error: d.Error, CreatedAt: d.Entry.CreatedAt, FailedAt: d.FailedAt,
		}
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) retryDeadLetter(w http.ResponseWriter, r *http.Request) {
	s.changeDeadLetter(w, r, "deadletter.retry", func(tx *store.Tx, seq uint64) (*store.OutboxEntry, error) {
		e, err := store.RetryDeadLetterTx(tx, seq, time.Now().UTC())
		return &e, err
	})
}

func (s *Server) dropDeadLetter(w http.ResponseWriter, r *http.Request) {
	s.changeDeadLetter(w, r, "deadletter.drop", func(tx *store.Tx, seq uint64) (*store.OutboxEntry, error) {
		return nil, store.DropDeadLetterTx(tx, seq)
	})
}

// changeDeadLetter applies change to the dead letter {id} and audits it in
// the same transaction.
func (s *Server) changeDeadLetter(w http.ResponseWriter, r *http.Request, action string, change func(*store.Tx, uint64) (*store.OutboxEntry, error)) {
	id := r.PathValue("id")
	seq, err := store.ParseSeq(id)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	c := callerOf(r.Context())
	var requeued *store.OutboxEntry
	err = s.store.Update(r.Context(), func(tx *store.Tx) error {
		var err error
		if requeued, err = change(tx, seq); err != nil {
			return err
		}
		_, err = store.AppendAuditTx(tx, store.AuditEntry{
			Time: time.Now(), Actor: c.principal.Name, Action: action, Target: fmt.Sprintf("o%d", seq),
			SourceIP: ipString(c), Result: "ok",
		})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no dead letter "+id)
		return
	}
	if err != nil {
		s.internalError(w, action+" "+id, err)
		return
	}
	if requeued != nil && s.actions != nil {
		s.actions.Requeue(*requeued)
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"id": fmt.Sprintf("o%d", seq), "result": action})
}

// backup streams a consistent copy of the database.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	// A large database takes longer than the server's write timeout.
	httplimit.KeepOpen(w)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="switchboard.db"`)
	n, err := s.store.Backup(w)
	if err != nil {
		// Headers are gone; the client sees a short body and the log says why.
		s.log.WithError(err).Error("backup failed")
		return
	}
	s.audit(r, "backup", fmt.Sprintf("%d bytes", n), nil)
}
