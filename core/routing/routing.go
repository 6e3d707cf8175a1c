// Package routing classifies handoffs and gives waiting conversations to
// operators. Both halves are pure: [Table.Classify] maps what is known
// of a handoff (the visitor's lines, the channel, the customer's tier,
// the model's suggestion) to a department, a priority and tags;
// [Assign] (assign.go) decides which operator gets which waiting
// conversation. Neither reads a clock, a store or the network.
package routing

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// Table is the routing configuration: departments, rules and the
// default department.
type Table struct {
	// Departments in declaration order; a language or channel route goes
	// to the first that fits.
	Departments []Department
	// Rules are tried in order; the first that matches wins.
	Rules []Rule
	// Default gets the handoffs nothing else routes.
	Default string
}

// Department is what the classifier knows of a department.
type Department struct {
	Name string
	// Languages its operators speak (ISO 639-1).
	Languages []string
	// Channels whose visitors it serves by default.
	Channels []string
}

// Rule is one explicit routing rule. Every condition set must hold.
type Rule struct {
	Name string
	// Match must match one of the visitor's lines; nil: no condition.
	Match *regexp.Regexp
	// Keywords: one of the visitor's lines contains one (ignoring case).
	Keywords []string
	// Channels: the conversation's channel is one of them.
	Channels []string
	// Tier: the customer's tier equals it (ignoring case).
	Tier string
	// Department gets the handoff; "" the default department.
	Department string
	// Priority the handoff gets.
	Priority conversation.Priority
	// Tags label the handoff.
	Tags []string
}

// Input is what is known about a handoff when it is classified.
type Input struct {
	// Lines are the visitor's recent lines, oldest first.
	Lines []string
	// Channel is the conversation's channel instance.
	Channel string
	// Tier is the customer's tier from their profile; "" when unknown.
	Tier string
	// Hint is what the model asked for in its transfer_to_human call.
	Hint conversation.RouteHint
}

// What chose a route's department (conversation.Route.By); a rule's is
// "rule:" and its name.
const (
	ByModel    = "model"
	ByLanguage = "language"
	ByChannel  = "channel"
	ByDefault  = "default"
)

// Why a route's priority was raised (conversation.Route.Raised).
const (
	RaisedByModel     = "model"
	RaisedBySentiment = "sentiment"
)

// DepartmentNames lists the departments' names, in order: the enum of
// the model's department argument.
func (t *Table) DepartmentNames() []string {
	out := make([]string, len(t.Departments))
	for i, d := range t.Departments {
		out[i] = d.Name
	}
	return out
}

// Classify routes a handoff: the first of an explicit rule, the model's
// department, the visitor's language, the channel, and the default
// department. The priority is the rule's (normal otherwise), raised to
// the model's when that is higher, or, when the model gave none, to high
// for clearly angry lines.
func (t *Table) Classify(in Input) conversation.Route {
	r := conversation.Route{Department: t.Default, Priority: conversation.PriorityNormal, By: ByDefault}
	r.Language = Detect(strings.Join(in.Lines, "\n"))
	switch rule, ok := t.rule(in); {
	case ok:
		r.By = "rule:" + rule.Name
		if rule.Department != "" {
			r.Department = rule.Department
		}
		r.Priority, r.Tags = rule.Priority, slices.Clone(rule.Tags)
	case in.Hint.Department != "" && slices.Contains(t.DepartmentNames(), in.Hint.Department):
		r.Department, r.By = in.Hint.Department, ByModel
	default:
		if d, ok := t.byLanguage(r.Language, in.Channel); ok {
			r.Department, r.By = d, ByLanguage
		} else if d, ok := t.byChannel(in.Channel); ok {
			r.Department, r.By = d, ByChannel
		}
	}
	if p, err := conversation.ParsePriority(in.Hint.Priority); err == nil {
		if p > r.Priority {
			r.Priority, r.Raised = p, RaisedByModel
		}
	} else if r.Priority < conversation.PriorityHigh && Angry(in.Lines) {
		r.Priority, r.Raised = conversation.PriorityHigh, RaisedBySentiment
	}
	return r
}

// rule is the first rule that matches.
func (t *Table) rule(in Input) (Rule, bool) {
	for _, r := range t.Rules {
		if r.matches(in) {
			return r, true
		}
	}
	return Rule{}, false
}

func (r Rule) matches(in Input) bool {
	if len(r.Channels) > 0 && !slices.Contains(r.Channels, in.Channel) {
		return false
	}
	if r.Tier != "" && !strings.EqualFold(r.Tier, in.Tier) {
		return false
	}
	if r.Match != nil && !slices.ContainsFunc(in.Lines, r.Match.MatchString) {
		return false
	}
	if len(r.Keywords) > 0 && !slices.ContainsFunc(in.Lines, func(l string) bool { return containsAny(l, r.Keywords) }) {
		return false
	}
	return r.Match != nil || len(r.Keywords) > 0 || len(r.Channels) > 0 || r.Tier != ""
}

func (t *Table) byLanguage(lang, channel string) (string, bool) {
	if lang == "" {
		return "", false
	}
	for _, d := range t.Departments {
		if slices.Contains(d.Languages, lang) && (len(d.Channels) == 0 || slices.Contains(d.Channels, channel)) {
			return d.Name, true
		}
	}
	return "", false
}

func (t *Table) byChannel(channel string) (string, bool) {
	for _, d := range t.Departments {
		if slices.Contains(d.Channels, channel) {
			return d.Name, true
		}
	}
	return "", false
}

// containsAny reports whether line contains one of the terms, ignoring
// case; a term of letters and digits in a script with spaces between
// words must stand as a whole word.
func containsAny(line string, terms []string) bool {
	lower := strings.ToLower(line)
	for _, t := range terms {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" && containsTerm(lower, t) {
			return true
		}
	}
	return false
}

func containsTerm(s, term string) bool {
	spaced := strings.IndexFunc(term, func(r rune) bool {
		return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Thai, r) ||
			unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
	}) < 0
	for from := 0; ; {
		i := strings.Index(s[from:], term)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(term)
		if !spaced || (boundary(s, i, true) && boundary(s, end, false)) {
			return true
		}
		from = i + 1
	}
}

// boundary reports whether position i of s is the edge of a word.
func boundary(s string, i int, before bool) bool {
	var r rune
	switch {
	case before && i == 0, !before && i == len(s):
		return true
	case before:
		r = []rune(s[:i])[len([]rune(s[:i]))-1]
	default:
		r = []rune(s[i:])[0]
	}
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}
