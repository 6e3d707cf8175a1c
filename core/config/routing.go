package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/routing"
)

// Department is one [[departments]] entry: a team that serves handoffs.
type Department struct {
	// Name names the department in rules, the model's tool and the
	// console.
	Name string `toml:"name"`
	// Operators are the email addresses of the console operators in it;
	// empty: every operator.
	Operators []string `toml:"operators"`
	// Languages are the languages (ISO 639-1 codes such as "en", "zh")
	// its operators speak: a visitor detected writing one is routed here.
	Languages []string `toml:"languages"`
	// Channels are the channel instances whose visitors it serves when
	// no rule, model or language chose another.
	Channels []string `toml:"channels"`
	// DeskID is the department's id on an external desk (a Zoho SalesIQ
	// department id): the handoff is opened there.
	DeskID string `toml:"desk_id"`
}

// Routing is the [routing] section: how handoffs are classified and
// given to operators.
type Routing struct {
	// DefaultDepartment gets the handoffs nothing else routes. With no
	// [[departments]], it is the one department, of every operator.
	DefaultDepartment string `toml:"default_department"`
	// AutoAssign gives waiting console conversations to operators
	// without anyone claiming them.
	AutoAssign bool `toml:"auto_assign"`
	// MaxChats is how many conversations an operator is given at once.
	MaxChats int `toml:"max_chats"`
	// OperatorMaxChats overrides MaxChats for operators, by email.
	OperatorMaxChats map[string]int `toml:"operator_max_chats"`
	// FirstResponse is the service-level target per priority: how long
	// a handoff may wait for an operator.
	FirstResponse FirstResponse `toml:"first_response"`
	// Rules classify handoffs; the first that matches wins.
	Rules []RoutingRule `toml:"rules"`
}

// FirstResponse is [routing.first_response]: the longest wait for an
// operator, per priority; 0 sets no target.
type FirstResponse struct {
	Low    time.Duration `toml:"low"`
	Normal time.Duration `toml:"normal"`
	High   time.Duration `toml:"high"`
	Urgent time.Duration `toml:"urgent"`
}

// Of is the target of a priority.
func (f FirstResponse) Of(p conversation.Priority) time.Duration {
	switch p {
	case conversation.PriorityLow:
		return f.Low
	case conversation.PriorityHigh:
		return f.High
	case conversation.PriorityUrgent:
		return f.Urgent
	}
	return f.Normal
}

// RoutingRule is one [[routing.rules]] entry. Every condition given must
// hold; at least one is required.
type RoutingRule struct {
	// Name identifies the rule in the handoff's cause ("rule:<name>").
	Name string `toml:"name"`
	// Match is a regular expression (RE2) one of the visitor's lines
	// must match; "(?i)" makes it ignore case.
	Match string `toml:"match"`
	// Keywords: one of the visitor's lines contains one of them
	// (ignoring case).
	Keywords []string `toml:"keywords"`
	// Channels: the conversation is on one of these channel instances.
	Channels []string `toml:"channels"`
	// Tier: the customer's tier (from their profile) is this one.
	Tier string `toml:"tier"`
	// Department gets the handoff; "" keeps the default department (a
	// rule may only set the priority and tags).
	Department string `toml:"department"`
	// Priority is low, normal, high or urgent.
	Priority string `toml:"priority"`
	// Tags label the handoff for the operators.
	Tags []string `toml:"tags"`
}

// defaultRouting is the [routing] section's defaults.
func defaultRouting() Routing {
	return Routing{
		DefaultDepartment: "general",
		MaxChats:          3,
		OperatorMaxChats:  map[string]int{},
		FirstResponse:     FirstResponse{Low: 30 * time.Minute, Normal: 10 * time.Minute, High: 5 * time.Minute, Urgent: 2 * time.Minute},
	}
}

// DepartmentList is the departments in force: the [[departments]], or
// the default department alone (every operator) when none is declared.
func (c *Config) DepartmentList() []Department {
	if len(c.Departments) == 0 {
		return []Department{{Name: c.Routing.DefaultDepartment}}
	}
	return c.Departments
}

// RoutingTable is the classifier's table built from the configuration;
// call it on a validated configuration.
func (c *Config) RoutingTable() routing.Table {
	t := routing.Table{Default: c.Routing.DefaultDepartment}
	for _, d := range c.DepartmentList() {
		t.Departments = append(t.Departments, routing.Department{Name: d.Name, Languages: d.Languages, Channels: d.Channels})
	}
	for _, r := range c.Routing.Rules {
		rule := routing.Rule{Name: r.Name, Keywords: r.Keywords, Channels: r.Channels, Tier: r.Tier, Department: r.Department, Tags: r.Tags}
		if r.Match != "" {
			rule.Match = regexp.MustCompile(r.Match)
		}
		rule.Priority = conversation.PriorityNormal
		if r.Priority != "" {
			rule.Priority, _ = conversation.ParsePriority(r.Priority)
		}
		t.Rules = append(t.Rules, rule)
	}
	return t
}

// validateRouting checks [[departments]] and [routing].
func (c *Config) validateRouting() []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	names := []string{}
	for i, d := range c.Departments {
		key := indexKey("departments", i)
		switch {
		case !isChannelName(d.Name):
			add(key+".name", "invalid department name %q: use 1 to 63 lower-case letters, digits, '_' or '-'", d.Name)
		case slices.Contains(names, d.Name):
			add(key+".name", "department %q is declared twice", d.Name)
		}
		names = append(names, d.Name)
		for j, e := range d.Operators {
			if !strings.Contains(e, "@") {
				add(indexKey(key+".operators", j), "%q is not an operator's email address", e)
			}
		}
		for j, l := range d.Languages {
			if !slices.Contains(routing.Languages(), l) {
				add(indexKey(key+".languages", j), "unknown language %q; one of %s", l, strings.Join(routing.Languages(), ", "))
			}
		}
		c.checkChannels(key+".channels", d.Channels, add)
	}
	r := c.Routing
	switch {
	case len(c.Departments) == 0 && !isChannelName(r.DefaultDepartment):
		add("routing.default_department", "invalid department name %q", r.DefaultDepartment)
	case len(c.Departments) > 0 && !slices.Contains(names, r.DefaultDepartment):
		add("routing.default_department", "no department named %q; one of %s", r.DefaultDepartment, strings.Join(names, ", "))
	}
	if r.MaxChats < 1 || r.MaxChats > 100 {
		add("routing.max_chats", "must be between 1 and 100, got %d", r.MaxChats)
	}
	for _, e := range sortedKeys(r.OperatorMaxChats) {
		if n := r.OperatorMaxChats[e]; n < 1 || n > 100 {
			add(childKey("routing.operator_max_chats", e), "must be between 1 and 100, got %d", n)
		}
	}
	for _, p := range conversation.Priorities {
		if d := r.FirstResponse.Of(p); d < 0 {
			add("routing.first_response."+p.String(), "must not be negative (0 sets no target), got %s", d)
		}
	}
	ruleNames := []string{}
	for i, rule := range r.Rules {
		key := indexKey("routing.rules", i)
		switch {
		case strings.TrimSpace(rule.Name) == "":
			add(key+".name", "must not be empty")
		case slices.Contains(ruleNames, rule.Name):
			add(key+".name", "rule %q is declared twice", rule.Name)
		}
		ruleNames = append(ruleNames, rule.Name)
		if rule.Match == "" && len(rule.Keywords) == 0 && len(rule.Channels) == 0 && rule.Tier == "" {
			add(key, "needs at least one of match, keywords, channels, tier")
		}
		if rule.Match != "" {
			if _, err := regexp.Compile(rule.Match); err != nil {
				add(key+".match", "not a regular expression: %v", err)
			}
		}
		for j, k := range rule.Keywords {
			if strings.TrimSpace(k) == "" {
				add(indexKey(key+".keywords", j), "must not be empty")
			}
		}
		c.checkChannels(key+".channels", rule.Channels, add)
		if rule.Department != "" && !slices.Contains(c.departmentNames(), rule.Department) {
			add(key+".department", "no department named %q; one of %s", rule.Department, strings.Join(c.departmentNames(), ", "))
		}
		if rule.Priority != "" {
			if _, err := conversation.ParsePriority(rule.Priority); err != nil {
				add(key+".priority", "%v", err)
			}
		}
	}
	return ps
}

func (c *Config) departmentNames() []string {
	var out []string
	for _, d := range c.DepartmentList() {
		out = append(out, d.Name)
	}
	return out
}

// checkChannels reports channel instances that do not exist.
func (c *Config) checkChannels(key string, list []string, add func(key, format string, args ...any)) {
	for j, ch := range list {
		if _, ok := c.Channels[ch]; !ok && !slices.Contains([]string{"api", "web"}, ch) {
			add(indexKey(key, j), "no channel named %q is configured (nor is it api or web)", ch)
		}
	}
}
