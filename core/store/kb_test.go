package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestKBGaps(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	st, err := Open(filepath.Join(t.TempDir(), "db"), Options{NoSync: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if gaps, err := st.KBGaps(0); err != nil || len(gaps) != 0 {
		t.Fatalf("empty: %v %v", gaps, err)
	}
	for i, q := range []string{"Do you sell dog beds?", "do you sell  DOG beds", "Are you hiring?", "  ", "do you sell dog beds!"} {
		reason := GapLowScore
		if i == 1 {
			reason = GapHandoff
		}
		now = now.Add(time.Minute)
		if err := st.RecordKBGap(ctx, q, reason, 0.1*float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	gaps, err := st.KBGaps(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != 2 {
		t.Fatalf("gaps %+v", gaps)
	}
	g := gaps[0]
	if g.Count != 3 || g.Question != "do you sell dog beds!" || g.Reasons[GapLowScore] != 2 || g.Reasons[GapHandoff] != 1 ||
		!g.FirstSeen.Equal(time.Date(2026, 5, 1, 9, 1, 0, 0, time.UTC)) || !g.LastSeen.Equal(now) || g.Score != 0.4 {
		t.Errorf("most asked gap: %+v", g)
	}
	if gaps[1].Question != "Are you hiring?" || gaps[1].Count != 1 {
		t.Errorf("second gap: %+v", gaps[1])
	}
	if top, _ := st.KBGaps(1); len(top) != 1 || top[0].Count != 3 {
		t.Errorf("limit 1: %+v", top)
	}

	// Forgotten by any of its askings; a second time there is nothing.
	for _, q := range []string{"Do you sell dog beds", "do you sell dog beds"} {
		found, err := st.DeleteKBGap(ctx, q)
		if err != nil || found != (q == "Do you sell dog beds") {
			t.Errorf("DeleteKBGap(%q) = %v, %v", q, found, err)
		}
	}
	if found, err := st.DeleteKBGap(ctx, " "); found || err != nil {
		t.Errorf("DeleteKBGap of nothing = %v, %v", found, err)
	}
	if gaps, _ := st.KBGaps(0); len(gaps) != 1 || gaps[0].Question != "Are you hiring?" {
		t.Errorf("after the deletion: %+v", gaps)
	}
}
