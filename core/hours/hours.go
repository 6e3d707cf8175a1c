// Package hours is the business's opening hours: the [hours] section of the
// config, read into a [Schedule] that answers whether the team is in at a
// given time and when it is back. The functions take the time to judge; they
// read no clock.
package hours

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the [hours] section as written: an IANA time zone, the opening
// ranges of each weekday ("09:00-12:00", several a day; a range whose end
// is not after its start runs past midnight into the next day) and the
// holidays ("2026-12-25"), on which the team is out all day.
type Config struct {
	Timezone string
	// Days holds each weekday's ranges, indexed by time.Weekday (Sunday
	// first).
	Days     [7][]string
	Holidays []string
}

// DayKeys are the config keys of the weekdays, indexed by time.Weekday.
var DayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Error is a mistake in the config: Key names the key inside [hours]
// ("timezone", "mon[1]", "holidays[0]").
type Error struct {
	Key     string
	Message string
}

// Error says which key is wrong and why.
func (e *Error) Error() string { return e.Key + ": " + e.Message }

// span is one opening range, in minutes after the day's midnight; end may
// pass 24:00 for a range crossing midnight.
type span struct{ start, end int }

// Schedule answers questions about the opening hours. The zero value and
// nil are "always open": a business without [hours] has no closing time.
type Schedule struct {
	loc      *time.Location
	days     [7][]span
	holidays map[string]bool
}

// Configured reports whether s has opening hours at all.
func (s *Schedule) Configured() bool { return s != nil && s.loc != nil }

// Location is the business's time zone (UTC without hours).
func (s *Schedule) Location() *time.Location {
	if !s.Configured() {
		return time.UTC
	}
	return s.loc
}

// New reads c. A Config with no time zone and no ranges is "always open".
// The first mistake is returned as an *Error.
func New(c Config) (*Schedule, error) {
	empty := c.Timezone == "" && len(c.Holidays) == 0
	for _, d := range c.Days {
		empty = empty && len(d) == 0
	}
	if empty {
		return &Schedule{}, nil
	}
	if c.Timezone == "" {
		return nil, &Error{Key: "timezone", Message: `is required with opening hours (an IANA name such as "Europe/Berlin")`}
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, &Error{Key: "timezone", Message: fmt.Sprintf("unknown time zone %q (an IANA name such as \"Europe/Berlin\")", c.Timezone)}
	}
	s := &Schedule{loc: loc, holidays: map[string]bool{}}
	for d, ranges := range c.Days {
		for i, r := range ranges {
			sp, err := parseRange(r)
			if err != nil {
				return nil, &Error{Key: DayKeys[d] + "[" + strconv.Itoa(i) + "]", Message: err.Error()}
			}
			s.days[d] = append(s.days[d], sp)
		}
	}
	for i, h := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			return nil, &Error{Key: "holidays[" + strconv.Itoa(i) + "]", Message: fmt.Sprintf("%q is not a date like \"2026-12-25\"", h)}
		}
		s.holidays[h] = true
	}
	return s, nil
}

// parseRange reads "HH:MM-HH:MM".
func parseRange(r string) (span, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(r), "-")
	if !ok {
		return span{}, fmt.Errorf("%q is not a range like \"09:00-17:30\"", r)
	}
	start, err := parseClock(from)
	if err != nil {
		return span{}, fmt.Errorf("%q: %w", r, err)
	}
	end, err := parseClock(to)
	if err != nil {
		return span{}, fmt.Errorf("%q: %w", r, err)
	}
	if end == start {
		return span{}, fmt.Errorf("%q is empty", r)
	}
	if end < start {
		end += 24 * 60 // runs past midnight
	}
	return span{start: start, end: end}, nil
}

// parseClock reads "HH:MM" (00:00 to 24:00) as minutes after midnight.
func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day like \"09:00\"", s)
	}
	return hh*60 + mm, nil
}

// Open reports whether the team is in at now: now falls in one of its
// day's ranges (or in the part after midnight of the day before's), and
// that day is not a holiday.
func (s *Schedule) Open(now time.Time) bool {
	if !s.Configured() {
		return true
	}
	local := now.In(s.loc)
	for back := 0; back <= 1; back++ {
		day := midnight(local).AddDate(0, 0, -back)
		if s.holidays[day.Format(time.DateOnly)] {
			continue
		}
		for _, sp := range s.days[day.Weekday()] {
			if !local.Before(at(day, sp.start)) && local.Before(at(day, sp.end)) {
				return true
			}
		}
	}
	return false
}

// searchDays bounds how far NextOpen looks ahead: a schedule closed for a
// whole year has no next opening.
const searchDays = 366

// NextOpen is when the team is next in, in the business's time zone: now
// itself when it is open, the zero time when the schedule never opens.
func (s *Schedule) NextOpen(now time.Time) time.Time {
	if s.Open(now) {
		return now.In(s.Location())
	}
	local := now.In(s.loc)
	for d := 0; d <= searchDays; d++ {
		day := midnight(local).AddDate(0, 0, d)
		if s.holidays[day.Format(time.DateOnly)] {
			continue
		}
		best := time.Time{}
		for _, sp := range s.days[day.Weekday()] {
			start := at(day, sp.start)
			if start.After(local) && (best.IsZero() || start.Before(best)) {
				best = start
			}
		}
		if !best.IsZero() {
			return best
		}
	}
	return time.Time{}
}

// midnight is the start of t's day in t's location.
func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// at is the wall-clock time min minutes after day's midnight (a minute
// past 24:00 is on the next day). Wall clock, not elapsed time: on the day
// clocks change, 09:00 is still 09:00.
func at(day time.Time, min int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day()+min/(24*60), min%(24*60)/60, min%60, 0, 0, day.Location())
}

// Describe says when the team is back, in the business's time zone, for a
// visitor: "Monday 09:00 (Europe/Berlin)"; "" when it is open now or never
// opens.
func (s *Schedule) Describe(now time.Time) string {
	next := s.NextOpen(now)
	if next.IsZero() || s.Open(now) {
		return ""
	}
	return next.Format("Monday 2 January 15:04") + " (" + s.loc.String() + ")"
}
