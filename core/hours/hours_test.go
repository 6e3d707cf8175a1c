package hours

import (
	"errors"
	"testing"
	"time"
)

// week is a schedule in Berlin: weekdays with a lunch break, Friday night
// until 02:00 on Saturday, Christmas off.
func week(t *testing.T) *Schedule {
	t.Helper()
	var c Config
	c.Timezone = "Europe/Berlin"
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday} {
		c.Days[d] = []string{"09:00-12:00", "13:00-18:00"}
	}
	c.Days[time.Friday] = []string{"09:00-12:00", "20:00-02:00"}
	c.Days[time.Sunday] = []string{"09:00-10:00"}
	c.Holidays = []string{"2026-12-25"}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func berlin(t *testing.T, v string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.ParseInLocation("2006-01-02 15:04", v, loc)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func TestOpenAndNextOpen(t *testing.T) {
	s := week(t)
	for _, tc := range []struct {
		name, now string
		open      bool
		next      string // wall clock in Berlin
	}{
		{"in the morning range", "2026-12-01 10:30", true, "2026-12-01 10:30"},
		{"at the opening minute", "2026-12-01 09:00", true, "2026-12-01 09:00"},
		{"at the closing minute", "2026-12-01 12:00", false, "2026-12-01 13:00"},
		{"lunch break", "2026-12-01 12:30", false, "2026-12-01 13:00"},
		{"before opening", "2026-12-01 07:00", false, "2026-12-01 09:00"},
		{"evening: back next morning", "2026-12-01 19:00", false, "2026-12-02 09:00"},
		{"Friday late range", "2026-12-04 23:00", true, "2026-12-04 23:00"},
		{"after midnight in Friday's range", "2026-12-05 01:30", true, "2026-12-05 01:30"},
		{"Saturday after Friday's range ended", "2026-12-05 02:00", false, "2026-12-06 09:00"},
		{"Saturday: back Sunday", "2026-12-05 12:00", false, "2026-12-06 09:00"},
		{"holiday (a Friday): the whole day, late range included", "2026-12-25 21:00", false, "2026-12-27 09:00"},
		{"day before the holiday: back after it", "2026-12-24 19:00", false, "2026-12-27 09:00"},
		{"after midnight following a holiday", "2026-12-26 01:00", false, "2026-12-27 09:00"},
		// 29 March 2026 clocks go from 02:00 to 03:00 in Berlin; 25
		// October back from 03:00 to 02:00.
		{"Sunday of the spring change, before", "2026-03-29 08:30", false, "2026-03-29 09:00"},
		{"Sunday of the spring change, in", "2026-03-29 09:30", true, "2026-03-29 09:30"},
		{"Saturday before the spring change", "2026-03-28 12:00", false, "2026-03-29 09:00"},
		{"Sunday of the autumn change, in", "2026-10-25 09:59", true, "2026-10-25 09:59"},
		{"Sunday of the autumn change, after", "2026-10-25 10:00", false, "2026-10-26 09:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := berlin(t, tc.now)
			if got := s.Open(now); got != tc.open {
				t.Errorf("Open(%s) = %v, want %v", tc.now, got, tc.open)
			}
			want := berlin(t, tc.next)
			if got := s.NextOpen(now); !got.Equal(want) {
				t.Errorf("NextOpen(%s) = %s, want %s", tc.now, got, want)
			}
			// The answer does not depend on the zone the time is given in.
			if got := s.Open(now.UTC()); got != tc.open {
				t.Errorf("Open(%s as UTC) = %v", tc.now, got)
			}
		})
	}
}

func TestDSTRangeLength(t *testing.T) {
	// A night range across the spring change: 22:00-06:00 is seven hours
	// long that night, and 06:00 is still when it ends.
	var c Config
	c.Timezone = "Europe/Berlin"
	c.Days[time.Saturday] = []string{"22:00-06:00"}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Open(berlin(t, "2026-03-29 05:59")) {
		t.Error("closed at 05:59 after the change")
	}
	if s.Open(berlin(t, "2026-03-29 06:00")) {
		t.Error("open at 06:00 after the change")
	}
	if got, want := s.NextOpen(berlin(t, "2026-03-29 06:00")), berlin(t, "2026-04-04 22:00"); !got.Equal(want) {
		t.Errorf("NextOpen = %s, want %s", got, want)
	}
}

func TestAlwaysOpen(t *testing.T) {
	for name, s := range map[string]*Schedule{"nil": nil, "empty config": mustNew(t, Config{})} {
		now := time.Date(2026, 12, 25, 3, 0, 0, 0, time.UTC)
		if !s.Open(now) || s.Configured() || !s.NextOpen(now).Equal(now) || s.Describe(now) != "" {
			t.Errorf("%s: not always open", name)
		}
	}
}

func TestNeverOpens(t *testing.T) {
	s := mustNew(t, Config{Timezone: "Asia/Tokyo"})
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	if s.Open(now) || !s.NextOpen(now).IsZero() || s.Describe(now) != "" {
		t.Error("a schedule without ranges opens")
	}
}

func TestDescribe(t *testing.T) {
	s := week(t)
	if got, want := s.Describe(berlin(t, "2026-12-05 12:00")), "Sunday 6 December 09:00 (Europe/Berlin)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if got := s.Describe(berlin(t, "2026-12-01 10:00")); got != "" {
		t.Errorf("Describe while open = %q", got)
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	mon := func(r ...string) Config {
		var c Config
		c.Timezone = "UTC"
		c.Days[time.Monday] = r
		return c
	}
	for _, tc := range []struct {
		name string
		c    Config
		key  string
	}{
		{"unknown zone", Config{Timezone: "Mars/Olympus"}, "timezone"},
		{"ranges without a zone", func() Config { c := mon("09:00-17:00"); c.Timezone = ""; return c }(), "timezone"},
		{"no dash", mon("09:00-12:00", "13:00"), "mon[1]"},
		{"bad hour", mon("25:00-26:00"), "mon[0]"},
		{"bad minute", mon("09:60-10:00"), "mon[0]"},
		{"empty range", mon("09:00-09:00"), "mon[0]"},
		{"one digit", mon("9:00-10:00"), "mon[0]"},
		{"bad holiday", func() Config { c := mon(); c.Holidays = []string{"2026-12-24", "Christmas"}; return c }(), "holidays[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.c)
			var e *Error
			if !errors.As(err, &e) || e.Key != tc.key {
				t.Fatalf("New = %v, want an error about %s", err, tc.key)
			}
		})
	}
}

func mustNew(t *testing.T, c Config) *Schedule {
	t.Helper()
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
