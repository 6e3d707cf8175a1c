package config

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/hours"
)

// When a handoff cannot reach a person (handoff.when_unavailable).
const (
	// UnavailableTicket opens a ticket and tells the visitor its number
	// and when to expect an answer; the bot keeps the conversation.
	UnavailableTicket = "ticket"
	// UnavailableWait leaves the conversation waiting in the queue until
	// handoff.queue_timeout.
	UnavailableWait = "wait"
)

// Unavailable is handoff.when_unavailable: what a handoff does, case by
// case, when it cannot reach a person — UnavailableTicket or
// UnavailableWait. In the file it is one string for every case, or a table
// of the cases to set (the others keep their default):
//
//	when_unavailable = "ticket"
//	when_unavailable = { off_hours = "ticket", queue_timeout = "wait" }
type Unavailable struct {
	// OffHours: outside [hours].
	OffHours string `toml:"off_hours"`
	// NoOperator: nobody signed in to the console, or the desk answered
	// that no operator is available.
	NoOperator string `toml:"no_operator"`
	// DeskUnreachable: the desk could not be reached.
	DeskUnreachable string `toml:"desk_unreachable"`
	// QueueTimeout: nobody joined within handoff.queue_timeout.
	QueueTimeout string `toml:"queue_timeout"`
}

// AllUnavailable is the same choice for every case.
func AllUnavailable(choice string) Unavailable {
	return Unavailable{OffHours: choice, NoOperator: choice, DeskUnreachable: choice, QueueTimeout: choice}
}

// cases lists each case's key and value.
func (u Unavailable) cases() []struct{ key, value string } {
	return []struct{ key, value string }{
		{"off_hours", u.OffHours}, {"no_operator", u.NoOperator},
		{"desk_unreachable", u.DeskUnreachable}, {"queue_timeout", u.QueueTimeout},
	}
}

// AnyTicket reports whether some case opens a ticket.
func (u Unavailable) AnyTicket() bool {
	return slices.ContainsFunc(u.cases(), func(c struct{ key, value string }) bool { return c.value == UnavailableTicket })
}

// Hours is the [hours] section: the team's opening hours. Only the way to
// a person follows them; the bot answers around the clock.
type Hours struct {
	// Timezone is the IANA name of the business's time zone, such as
	// "Europe/Berlin".
	Timezone string `toml:"timezone"`
	// Mon…Sun are each weekday's opening ranges, "HH:MM-HH:MM"; a range
	// ending at or before its start runs past midnight.
	Mon []string `toml:"mon"`
	Tue []string `toml:"tue"`
	Wed []string `toml:"wed"`
	Thu []string `toml:"thu"`
	Fri []string `toml:"fri"`
	Sat []string `toml:"sat"`
	Sun []string `toml:"sun"`
	// Holidays are dates ("2026-12-25") the team is out all day.
	Holidays []string `toml:"holidays"`
}

// Spec is the section in the form package hours reads.
func (h Hours) Spec() hours.Config {
	return hours.Config{
		Timezone: h.Timezone,
		Days:     [7][]string{h.Sun, h.Mon, h.Tue, h.Wed, h.Thu, h.Fri, h.Sat},
		Holidays: h.Holidays,
	}
}

// Schedule is the opening hours read; call it on a validated Config.
func (h Hours) Schedule() (*hours.Schedule, error) { return hours.New(h.Spec()) }

// CRM is the [crm] section: looking visitors up in the business's
// customer records.
type CRM struct {
	// LookupURL receives POST {"channel","user"} for each new
	// conversation and answers with the customer's profile; "" looks
	// nobody up.
	LookupURL string `toml:"lookup_url"`
	// Timeout bounds one lookup.
	Timeout time.Duration `toml:"timeout"`
	// ShareWithModel gives the profile to the model as context.
	ShareWithModel bool `toml:"share_with_model"`
}

// validateTickets checks [hours], [crm] and the handoff keys about
// unavailable people.
func (c *Config) validateTickets(add func(key, format string, args ...any)) {
	for _, cs := range c.Handoff.WhenUnavailable.cases() {
		if !slices.Contains([]string{UnavailableTicket, UnavailableWait}, cs.value) {
			add("handoff.when_unavailable."+cs.key, "unknown value %q; use %q or %q", cs.value, UnavailableTicket, UnavailableWait)
		}
	}
	if c.Handoff.WhenUnavailable.AnyTicket() {
		if !strings.Contains(c.Handoff.TicketMessage, "{ticket}") {
			add("handoff.ticket_message", "must contain {ticket}, where the ticket's number goes")
		}
		if !strings.Contains(c.Handoff.OffHoursTicketMessage, "{ticket}") {
			add("handoff.off_hours_ticket_message", "must contain {ticket}, where the ticket's number goes")
		}
	}
	if _, err := c.Hours.Schedule(); err != nil {
		var he *hours.Error
		if errors.As(err, &he) {
			add("hours."+he.Key, "%s", he.Message)
		} else {
			add("hours", "%v", err)
		}
	}
	if u := c.CRM.LookupURL; u != "" {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			add("crm.lookup_url", "%q is not an http(s) URL", u)
		}
	}
	if c.CRM.Timeout <= 0 || c.CRM.Timeout > time.Minute {
		add("crm.timeout", "must be between 1ms and 1m, got %s", c.CRM.Timeout)
	}
}
