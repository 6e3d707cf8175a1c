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
	if !slices.Contains([]string{UnavailableTicket, UnavailableWait}, c.Handoff.WhenUnavailable) {
		add("handoff.when_unavailable", "unknown value %q; use %q or %q", c.Handoff.WhenUnavailable, UnavailableTicket, UnavailableWait)
	}
	if c.Handoff.WhenUnavailable == UnavailableTicket {
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
