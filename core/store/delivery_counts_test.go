package store

import (
	"context"
	"testing"
	"time"
)

func TestDeliveryCounts(t *testing.T) {
	s := openStatsStore(t)
	day := func(d, h int) time.Time { return time.Date(2025, 3, d, h, 0, 0, 0, time.UTC) }

	// Nothing recorded yet: the bucket does not exist and reads are empty.
	if got, err := s.DeliveryCounts(day(1, 0), day(30, 0)); err != nil || len(got) != 0 {
		t.Fatalf("before any record: %+v, %v", got, err)
	}

	records := []struct {
		at              time.Time
		delivered, dead int
	}{
		{day(1, 9), 1, 0},
		{day(1, 23), 2, 1},
		{day(2, 0), 0, 1},
		// 01:00 on 4 March in UTC+2 is 23:00 on 3 March UTC.
		{time.Date(2025, 3, 4, 1, 0, 0, 0, time.FixedZone("EET", 2*3600)), 5, 0},
		{day(5, 12), 0, 0}, // nothing to add: no record
	}
	for _, r := range records {
		err := s.Update(context.Background(), func(tx *Tx) error { return RecordDeliveryTx(tx, r.at, r.delivered, r.dead) })
		if err != nil {
			t.Fatalf("record %+v: %v", r, err)
		}
	}
	err := s.Update(context.Background(), func(tx *Tx) error { return RecordDeliveryTx(tx, day(1, 0), -1, 0) })
	if err == nil {
		t.Fatal("negative count accepted")
	}

	tests := []struct {
		name            string
		from, to        time.Time
		days            []string
		delivered, dead int64
	}{
		{"all", day(1, 0), day(31, 0), []string{"2025-03-01", "2025-03-02", "2025-03-03"}, 8, 2},
		{"from mid-day includes that day", day(1, 15), day(2, 0), []string{"2025-03-01"}, 3, 1},
		{"to at midnight excludes that day", day(1, 0), day(3, 0), []string{"2025-03-01", "2025-03-02"}, 3, 2},
		{"to later in the day includes it", day(3, 0), day(3, 1), []string{"2025-03-03"}, 5, 0},
		{"empty range", day(10, 0), day(20, 0), nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DeliveryCounts(tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			var days []string
			for _, c := range got {
				days = append(days, c.Day.Format("2006-01-02"))
			}
			if !equalStrings(days, tt.days) {
				t.Errorf("days %v, want %v", days, tt.days)
			}
			d, x, err := s.DeliveryTotals(tt.from, tt.to)
			if err != nil || d != tt.delivered || x != tt.dead {
				t.Errorf("totals %d/%d (%v), want %d/%d", d, x, err, tt.delivered, tt.dead)
			}
		})
	}
}
