package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/store"
)

// Knowledge is what the engine needs from the knowledge base.
type Knowledge interface {
	// Decide answers a question from the FAQ entries alone.
	Decide(ctx context.Context, question string) (kb.Decision, error)
	// Pick resolves a reply to offered questions ("2", or one's text).
	Pick(ctx context.Context, reply string, offered []kb.Suggestion) (kb.Decision, bool, error)
	// Ground finds the passages that ground a model turn.
	Ground(ctx context.Context, question string) (kb.Grounding, error)
}

// askKnowledge answers the visitor's lines from the knowledge base alone
// and returns the outcome as the event the conversation rules take: an
// FAQ entry's answer, "did you mean" questions, or nothing (a person then,
// with the cause and reason asked).
func (e *Engine) askKnowledge(ctx context.Context, ef *effects, ask conversation.AskKnowledge) conversation.Event {
	question := ef.question
	noMatch := conversation.KnowledgeNoMatch{Cause: ask.Cause, Reason: ask.Reason}
	log := e.logFor(ef.conv)
	if len(ef.conv.Offered) > 0 {
		offered := make([]kb.Suggestion, len(ef.conv.Offered))
		for i, o := range ef.conv.Offered {
			offered[i] = kb.Suggestion{ID: o.ID, Question: o.Question}
		}
		d, ok, err := e.cfg.Knowledge.Pick(ctx, question, offered)
		if err != nil {
			log.WithError(err).Warn("knowledge base: pick an offered question")
		} else if ok {
			return answered(d)
		}
	}
	d, err := e.cfg.Knowledge.Decide(ctx, question)
	if err != nil {
		log.WithError(err).Warn("knowledge base unavailable; handing off")
		return noMatch
	}
	switch d.Outcome {
	case kb.Answer:
		return answered(d)
	case kb.Suggest:
		offers := make([]conversation.Offer, len(d.Suggestions))
		var b strings.Builder
		b.WriteString(e.cfg.SuggestMessage)
		for i, s := range d.Suggestions {
			offers[i] = conversation.Offer{ID: s.ID, Question: s.Question}
			fmt.Fprintf(&b, "\n%d. %s", i+1, s.Question)
		}
		return conversation.KnowledgeSuggested{Text: b.String(), Offers: offers}
	}
	ef.gaps = append(ef.gaps, gap{question: question, reason: store.GapLowScore, score: d.Score})
	return noMatch
}

func answered(d kb.Decision) conversation.Event {
	return conversation.KnowledgeAnswered{
		Text:    strings.TrimSpace(d.Entry.Text),
		Sources: []conversation.Source{{ID: d.Entry.ID, Title: d.Entry.Title}},
	}
}

// gap is a question the knowledge base could not answer, recorded in the
// commit for the team to write an answer for (see commitFeedback).
type gap struct {
	question, reason string
	score            float64
}
