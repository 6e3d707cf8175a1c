package console

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/store"
)

// Knowledge is the knowledge base the team writes the bot's answers into,
// and the bot's answerer at the daemon's thresholds.
type Knowledge interface {
	SaveEntry(ctx context.Context, doc string, e kb.Entry) (kb.Imported, error)
	Decide(ctx context.Context, question string) (kb.Decision, error)
}

// savedEntry is the answer to a saved entry: the document it went into,
// and what the bot now does with the visitor's words (absent when that
// could not be told: the entry is saved all the same).
type savedEntry struct {
	Document kb.Imported `json:"document"`
	Bot      *botPreview `json:"bot,omitempty"`
}

// botPreview is what the bot does with a question: answer it (with the
// entry asked Entry), offer Choices, or hand it to a person.
type botPreview struct {
	Question string   `json:"question"`
	Outcome  string   `json:"outcome"`
	Entry    string   `json:"entry,omitempty"`
	Choices  []string `json:"choices,omitempty"`
}

// kbWhat is what administrators manage through the knowledge routes.
const kbWhat = "the bot's answers"

// maxGapsShown is how many of the most asked gaps the console lists.
const maxGapsShown = 200

// maxQuestion is the longest question an entry written in the console
// may have, in characters: as long as a gap keeps of one.
const maxQuestion = store.MaxGapQuestion

// listGaps lists the questions the knowledge base did not answer, the
// most asked first.
func (s *Server) listGaps(w http.ResponseWriter, r *http.Request) {
	gaps, err := s.st.KBGaps(maxGapsShown)
	if err != nil {
		s.internalError(w, "list knowledge gaps", err)
		return
	}
	if gaps == nil {
		gaps = []store.KBGap{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"gaps": gaps})
}

// dismissGap forgets a question nobody will write an answer for.
func (s *Server) dismissGap(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Question string `json:"question"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Question) == "" {
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `"question" is required`)
		return
	}
	found, err := s.st.DeleteKBGap(r.Context(), req.Question)
	if err != nil {
		s.internalError(w, "dismiss a knowledge gap", err)
		return
	}
	if !found {
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "no unanswered question "+strconv.Quote(req.Question))
		return
	}
	s.auditKB(r, "kb.gap.dismiss", req.Question)
	w.WriteHeader(http.StatusNoContent)
}

// saveEntry writes an FAQ entry into the console's document: the bot
// answers it from then on, with or without a model. "asked", the words of
// a knowledge gap, becomes another phrasing of the entry and the gap is
// gone.
func (s *Server) saveEntry(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Question string `json:"question"`
		Answer   string `json:"answer"`
		Asked    string `json:"asked"`
	}
	if !httpapi.DecodeJSON(w, r, &req) {
		return
	}
	q, a, asked := strings.TrimSpace(req.Question), strings.TrimSpace(req.Answer), strings.TrimSpace(req.Asked)
	switch {
	case q == "" || utf8.RuneCountInString(q) > maxQuestion:
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `"question" is required, up to `+strconv.Itoa(maxQuestion)+" characters")
		return
	case a == "" || utf8.RuneCountInString(a) > MaxMessage:
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `"answer" is required, up to `+strconv.Itoa(MaxMessage)+" characters")
		return
	case utf8.RuneCountInString(asked) > maxQuestion:
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", `"asked" is up to `+strconv.Itoa(maxQuestion)+" characters")
		return
	case s.cfg.Knowledge == nil:
		httpapi.WriteError(w, http.StatusNotFound, "not_found", "this daemon has no knowledge base")
		return
	}
	e := kb.Entry{Question: q, Answer: a}
	if asked != "" {
		e.Alternates = []string{asked}
	}
	imp, err := s.cfg.Knowledge.SaveEntry(r.Context(), kb.ConsoleDocument, e)
	var perr *kb.ParseError
	switch {
	case errors.Is(err, kb.ErrInvalid) || errors.As(err, &perr):
		httpapi.WriteError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		s.internalError(w, "save a knowledge base entry", err)
		return
	}
	if asked != "" {
		if _, err := s.st.DeleteKBGap(r.Context(), asked); err != nil {
			s.log.WithError(err).Error("forget an answered knowledge gap")
		}
	}
	s.auditKB(r, "kb.entry.save", q)
	out := savedEntry{Document: imp}
	bot := botPreview{Question: cmp.Or(asked, q)}
	if d, err := s.cfg.Knowledge.Decide(r.Context(), bot.Question); err != nil {
		s.log.WithError(err).Error("tell what the bot does with a newly answered question")
	} else {
		bot.Outcome = d.Outcome.String()
		if d.Outcome == kb.Answer {
			bot.Entry = d.Entry.Title
		}
		for _, c := range d.Suggestions {
			bot.Choices = append(bot.Choices, c.Question)
		}
		out.Bot = &bot
	}
	httpapi.WriteJSON(w, http.StatusCreated, out)
}

func (s *Server) auditKB(r *http.Request, action, question string) {
	s.audit(r.Context(), store.AuditEntry{
		Actor: "operator:" + operatorOf(r.Context()).op.Email, Action: action, Target: question,
		SourceIP: httpapi.ClientIP(r, s.cfg.TrustedProxies).String(), Result: "ok",
	})
}
