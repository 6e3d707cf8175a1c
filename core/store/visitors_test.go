package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/sdk"
)

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func TestVisitorTokensOpenTheirOwnConversation(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()

	a, err := s.OpenVisitorConversation(ctx, "web", "", sdk.User{ID: "v1"}, tokenHash("token-a"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Channel != "web" || a.Ref != a.ID || a.State != conversation.Bot {
		t.Errorf("new conversation %+v: want channel web, its ID as reference, state bot", a)
	}
	b, err := s.OpenVisitorConversation(ctx, "web", "", sdk.User{ID: "v2"}, tokenHash("token-b"))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID {
		t.Fatal("two anonymous visitors share a conversation")
	}
	for token, want := range map[string]string{"token-a": a.ID, "token-b": b.ID} {
		c, err := s.VisitorConversation(tokenHash(token))
		if err != nil || c.ID != want {
			t.Errorf("token %s opens %q (%v), want %s", token, c.ID, err, want)
		}
	}
	if _, err := s.VisitorConversation(tokenHash("token-c")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}
	// The token itself is nowhere in the database.
	if _, err := s.VisitorConversation([]byte("token-a")); !errors.Is(err, ErrNotFound) {
		t.Errorf("the raw token opened a conversation: %v", err)
	}
}

func TestSignedInVisitorGetsTheSameConversationOnEveryDevice(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	first, err := s.OpenVisitorConversation(ctx, "web", "user:ann@example.com", sdk.User{ID: "ann@example.com"}, tokenHash("laptop"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.OpenVisitorConversation(ctx, "web", "user:ann@example.com", sdk.User{ID: "ann@example.com", Name: "Ann"}, tokenHash("phone"))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != second.ID {
		t.Fatalf("second device got %s, want %s", second.ID, first.ID)
	}
	if second.User.Name != "Ann" {
		t.Errorf("the new name was not taken: %+v", second.User)
	}
	for _, device := range []string{"laptop", "phone"} {
		if c, err := s.VisitorConversation(tokenHash(device)); err != nil || c.ID != first.ID || c.User.Name != "Ann" {
			t.Errorf("%s opens %+v (%v)", device, c, err)
		}
	}
}

func TestMessageByEventID(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	c, err := s.OpenVisitorConversation(ctx, "web", "", sdk.User{ID: "v"}, tokenHash("t"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, id := range []string{"x/1", "x/2", "x/<3>"} {
		res, err := s.CommitEvents(ctx, "web", []sdk.Event{{ID: id, Kind: sdk.KindMessage, Conversation: c.Ref, User: c.User, Text: "line " + id}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Accepted[0].MessageID)
	}
	for i, id := range []string{"x/1", "x/2", "x/<3>"} {
		m, err := s.MessageByEventID(c.ID, id)
		if err != nil || m.ID != ids[i] || m.Text != "line "+id {
			t.Errorf("event %s: %+v %v, want message %d", id, m, err, ids[i])
		}
	}
	if _, err := s.MessageByEventID(c.ID, "x/4"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown event: %v", err)
	}
}

func TestRatingIsAskedThenGivenOnce(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := openTest(t, Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	c, err := s.OpenVisitorConversation(ctx, "web", "", sdk.User{ID: "v"}, tokenHash("t"))
	if err != nil {
		t.Fatal(err)
	}
	req := conversation.RatingRequest{HandoffAt: now.Add(-10 * time.Minute), Operator: conversation.Operator{ID: "op-1", Name: "Bob"}, AskedAt: now}
	write := func(fn func(tx *Tx) error) error { return s.Update(ctx, fn) }
	for range 2 { // asking twice keeps one question
		if err := write(func(tx *Tx) error { return AskRatingTx(tx, &c, req) }); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.Ratings(c.ID); len(got) != 1 || got[0].Score != 0 || !got[0].Asked().Equal(now) || got[0].Channel != "web" {
		t.Fatalf("after asking: %+v", got)
	}
	if err := write(func(tx *Tx) error { _, err := RateTx(tx, &c, req, 0, ""); return err }); err == nil {
		t.Error("score 0 accepted")
	}

	now = now.Add(time.Minute)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			errs[i] = write(func(tx *Tx) error { _, err := RateTx(tx, &c, req, 4+i, "quick and kind"); return err })
		})
	}
	wg.Wait()
	ok, dup := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrAlreadyRated):
			dup++
		default:
			t.Errorf("rate: %v", err)
		}
	}
	if ok != 1 || dup != 1 {
		t.Fatalf("two ratings at once: %d stored, %d refused; want 1 and 1", ok, dup)
	}
	got, err := s.Ratings(c.ID)
	if err != nil || len(got) != 1 {
		t.Fatalf("ratings %+v %v", got, err)
	}
	r := got[0]
	if r.Operator != req.Operator || r.Comment != "quick and kind" || !r.HandoffAt.Equal(req.HandoffAt) || !r.At.Equal(now) || !r.AskedAt.Equal(req.AskedAt) {
		t.Errorf("stored rating %+v", r)
	}
	evs, _, err := s.EventsAfter(0, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	submitted := 0
	for _, e := range evs {
		if e.Type == events.TypeCSATSubmitted {
			submitted++
			if e.ConversationID != c.ID || !strings.Contains(string(e.Payload), `"operator":{"id":"op-1","name":"Bob"}`) {
				t.Errorf("csat.submitted %+v %s", e, e.Payload)
			}
		}
	}
	if submitted != 1 {
		t.Errorf("%d csat.submitted events, want 1", submitted)
	}

	// A later handoff served by someone else is rated again, even unasked
	// (a rating kept from before the daemon asked).
	again := conversation.RatingRequest{HandoffAt: now, Operator: conversation.Operator{ID: "op-2", Name: "Cleo"}}
	if err := write(func(tx *Tx) error { _, err := RateTx(tx, &c, again, 2, ""); return err }); err != nil {
		t.Fatalf("rating the second handoff: %v", err)
	}
	if got, _ := s.Ratings(c.ID); len(got) != 2 || got[1].Operator.Name != "Cleo" || !got[1].Asked().Equal(now) {
		t.Errorf("ratings %+v", got)
	}
}

// A rating stored by the release before the daemon asked (no question, no
// asked_at) still reads, and counts as asked when it was given.
func TestRatingOfTheEarlierShapeReads(t *testing.T) {
	s := openTest(t, Options{})
	old := `{"conversation_id":"c_old","score":4,"comment":"kind","operator":{"id":"op-1","name":"Bob"},` +
		`"handoff_at":"2026-02-01T09:00:00Z","at":"2026-02-01T10:00:00Z"}`
	err := s.Update(context.Background(), func(tx *Tx) error {
		return tx.Bucket(bucketRatings).Put(ratingKey("c_old", time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)), []byte(old))
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Ratings("c_old")
	if err != nil || len(got) != 1 {
		t.Fatalf("ratings %+v %v", got, err)
	}
	if r := got[0]; r.Score != 4 || r.Operator.Name != "Bob" || !r.Asked().Equal(time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("read %+v, asked %s", r, r.Asked())
	}
	n := 0
	if err := s.ScanRatings(func(Rating) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("scan: %d %v", n, err)
	}
}
