package kb

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// OriginConsole is the Origin of the document holding the entries the team
// writes in the console.
const OriginConsole = "console"

// ConsoleDocument is the name of that document: an FAQ in CSV like any
// other, which `kb list` shows and `kb remove` removes.
const ConsoleDocument = "console/answers.csv"

// Entry is an FAQ entry written by a person rather than read from a file.
type Entry struct {
	// Question is the entry's question.
	Question string
	// Answer is what the bot replies, verbatim.
	Answer string
	// Alternates are other phrasings of the question, such as the words a
	// visitor used.
	Alternates []string
}

// SaveEntry writes e into the FAQ document named doc, creating it with
// origin OriginConsole: an entry whose question is asked the same way (as
// duplicate questions of a file are compared) gets e's answer and keeps
// its phrasings, with e's added; any other question is added at the end.
// The document is imported again whole, so readers see it before or
// after, never half written; saves are taken one at a time, so two at once
// keep both. An entry that an FAQ file would refuse is refused with the
// file's *ParseError and changes nothing.
func (k *KB) SaveEntry(ctx context.Context, doc string, e Entry) (Imported, error) {
	k.saving.Lock()
	defer k.saving.Unlock()
	hits, err := k.Chunks(doc)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Imported{}, err
	}
	entries := make([]Entry, 0, len(hits)+1)
	for _, h := range hits {
		if h.Kind != KindFAQ {
			return Imported{}, fmt.Errorf("%w: %q is not an FAQ", ErrInvalid, doc)
		}
		entries = append(entries, Entry{Question: h.Title, Answer: h.Text, Alternates: h.Alternates})
	}
	e.Question, e.Answer = strings.TrimSpace(e.Question), strings.TrimSpace(e.Answer)
	switch {
	case e.Question == "":
		return Imported{}, fmt.Errorf("%w: the question is empty", ErrInvalid)
	case e.Answer == "":
		return Imported{}, fmt.Errorf("%w: the answer is empty", ErrInvalid)
	}
	i := slices.IndexFunc(entries, func(old Entry) bool {
		return normalizeQuestion(old.Question) == normalizeQuestion(e.Question)
	})
	if i < 0 {
		entries = append(entries, Entry{Question: e.Question})
		i = len(entries) - 1
	}
	entries[i].Answer = e.Answer
	for _, alt := range e.Alternates {
		// "|" separates the phrasings of a CSV row.
		alt = strings.TrimSpace(strings.ReplaceAll(alt, "|", "/"))
		known := normalizeQuestion(alt) == normalizeQuestion(entries[i].Question) ||
			slices.ContainsFunc(entries[i].Alternates, func(a string) bool { return normalizeQuestion(a) == normalizeQuestion(alt) })
		if alt != "" && !known {
			entries[i].Alternates = append(entries[i].Alternates, alt)
		}
	}
	content, err := faqCSV(entries)
	if err != nil {
		return Imported{}, err
	}
	return k.Import(ctx, Input{Name: doc, Format: FormatCSV, Content: content, Origin: OriginConsole})
}

// faqCSV writes entries as an FAQ in CSV (question,answer,alternates).
func faqCSV(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	rows := [][]string{{"question", "answer", "alternates"}}
	for _, e := range entries {
		rows = append(rows, []string{e.Question, e.Answer, strings.Join(e.Alternates, "|")})
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
