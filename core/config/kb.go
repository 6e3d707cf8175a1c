package config

import (
	"fmt"
	"os"
	"strings"
)

// KB is the [kb] section: the knowledge base.
type KB struct {
	// Sources are files and folders synchronised into the knowledge base
	// at start: new and changed files are imported, documents whose file
	// is gone are removed. Relative to the working directory.
	Sources []string `toml:"sources"`
	// EmbedModel, when set with an [llm] section, is the embedding model
	// the model plugin is asked to use (its "embed_model" option); chunks
	// and questions are then also searched by vector similarity. "" searches
	// by full text alone.
	EmbedModel string `toml:"embed_model"`
	// TopK is how many passages go into the model's context.
	TopK int `toml:"top_k"`
	// AnswerThreshold is the confidence (0–1) the best FAQ entry needs for
	// the bot to answer with it when no model runs.
	AnswerThreshold float64 `toml:"answer_threshold"`
	// AnswerMargin is how far the best entry's confidence must lead the
	// second's for that answer.
	AnswerMargin float64 `toml:"answer_margin"`
	// SuggestThreshold is the confidence an entry needs to be offered as a
	// "did you mean" when no entry is answered; below it for all, the
	// question is handed off.
	SuggestThreshold float64 `toml:"suggest_threshold"`
}

// defaultKB is the [kb] section's defaults. The thresholds were calibrated
// on the parts of the knowledge-base evaluation that do not judge it (make
// eval; see docs/knowledge-base.md).
func defaultKB() KB {
	return KB{
		Sources:          []string{},
		TopK:             4,
		AnswerThreshold:  0.76,
		AnswerMargin:     0.00,
		SuggestThreshold: 0.66,
	}
}

// validateKB checks the [kb] section.
func (c *Config) validateKB() []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	for i, s := range c.KB.Sources {
		key := indexKey("kb.sources", i)
		if strings.TrimSpace(s) == "" {
			add(key, "must not be empty")
			continue
		}
		if _, err := os.Stat(s); err != nil {
			add(key, "cannot read %q: %v", s, err)
		}
	}
	if c.KB.EmbedModel != "" && c.LLM == nil {
		add("kb.embed_model", "needs an [llm] section: embeddings come from the model plugin")
	}
	if c.KB.TopK < 1 || c.KB.TopK > 50 {
		add("kb.top_k", "must be between 1 and 50, got %d", c.KB.TopK)
	}
	for key, v := range map[string]float64{
		"kb.answer_threshold":  c.KB.AnswerThreshold,
		"kb.answer_margin":     c.KB.AnswerMargin,
		"kb.suggest_threshold": c.KB.SuggestThreshold,
	} {
		if v < 0 || v > 1 {
			add(key, "must be between 0 and 1, got %g", v)
		}
	}
	if c.KB.SuggestThreshold > c.KB.AnswerThreshold {
		add("kb.suggest_threshold", "must not be above kb.answer_threshold (%g), got %g", c.KB.AnswerThreshold, c.KB.SuggestThreshold)
	}
	return ps
}
