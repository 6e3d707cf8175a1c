package kb

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// DefaultTopK is how many passages ground a model turn unless configured.
const DefaultTopK = 4

// Source is a knowledge-base entry a reply was grounded in, as recorded
// on the bot's message.
type Source struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Grounding is what the model is given from the knowledge base for one
// turn.
type Grounding struct {
	// Passages are the chunks found for the visitor's question, best first.
	Passages []Hit
}

// Ground searches the knowledge base for the visitor's question and
// returns the best topK passages for the model's context.
func (k *KB) Ground(ctx context.Context, question string, topK int) (Grounding, error) {
	if topK <= 0 {
		topK = DefaultTopK
	}
	hits, err := k.Search(ctx, question, topK)
	if err != nil {
		return Grounding{}, err
	}
	return Grounding{Passages: hits}, nil
}

// Sources lists the passages' IDs and titles, to record on the reply.
func (g Grounding) Sources() []Source {
	out := make([]Source, len(g.Passages))
	for i, p := range g.Passages {
		out[i] = Source{ID: p.ID, Title: p.Title}
	}
	return out
}

// groundingRules are the model's instructions for a grounded turn.
const groundingRules = `Answer the customer using only the knowledge base passages below. Each passage starts with its id in square brackets.
- If the passages answer the question, answer from them, briefly, in the customer's language. Do not add facts, prices, dates or promises that are not in them.
- If they do not cover the question, or the customer asks for a person, call the transfer_to_human tool instead of guessing.
- Greetings and thanks need no passage: answer them briefly.`

// noPassageRules replace groundingRules when nothing was found.
const noPassageRules = `The knowledge base has nothing on the customer's last message. Greetings and thanks you may answer briefly; for any question about the business, its products, orders or policies, call the transfer_to_human tool instead of guessing.`

// SystemContext is the text to append to the system prompt of a grounded
// model turn: the instructions, then each passage with its ID and title.
func (g Grounding) SystemContext() string {
	if len(g.Passages) == 0 {
		return noPassageRules
	}
	var b strings.Builder
	b.WriteString(groundingRules)
	b.WriteString("\n\nKnowledge base passages:")
	for _, p := range g.Passages {
		fmt.Fprintf(&b, "\n\n[%s] %s\n%s", p.ID, p.Title, strings.TrimSpace(p.Text))
	}
	return b.String()
}

// SystemPrompt is prompt followed by the grounding's context.
func (g Grounding) SystemPrompt(prompt string) string {
	if prompt = strings.TrimSpace(prompt); prompt == "" {
		return g.SystemContext()
	}
	return prompt + "\n\n" + g.SystemContext()
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
