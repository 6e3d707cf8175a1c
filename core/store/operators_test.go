package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

func TestOperatorsAndSessions(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	if has, _ := s.HasOperators(); has {
		t.Fatal("a new database has operators")
	}
	ann := Operator{Email: "Ann@Example.com", Name: "Ann", Role: "admin", PasswordHash: "h1"}
	if err := s.Update(ctx, func(tx *Tx) error { return CreateOperatorTx(tx, &ann) }); err != nil {
		t.Fatal(err)
	}
	if ann.ID == "" || ann.Email != "ann@example.com" {
		t.Fatalf("stored %+v: want an id and the email in lower case", ann)
	}
	dup := Operator{Email: "ANN@example.com", Name: "Other"}
	if err := s.Update(ctx, func(tx *Tx) error { return CreateOperatorTx(tx, &dup) }); !errors.Is(err, ErrExists) {
		t.Fatalf("same email again: %v, want ErrExists", err)
	}
	for _, key := range []string{ann.ID, "ann@example.com", " Ann@EXAMPLE.com "} {
		if got, err := s.Operator(key); err != nil || got.ID != ann.ID {
			t.Errorf("Operator(%q) = %+v, %v", key, got, err)
		}
	}
	if _, err := s.Operator("nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown operator: %v", err)
	}

	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	put := func(hash string, expires time.Time) {
		t.Helper()
		err := s.Update(ctx, func(tx *Tx) error {
			return PutSessionTx(tx, hash, OperatorSession{OperatorID: ann.ID, CreatedAt: now, ExpiresAt: expires})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("s1", now.Add(time.Hour))
	put("s2", now.Add(time.Minute))
	put("s3", now.Add(2*time.Hour))
	if n, err := s.PurgeSessions(ctx, now.Add(30*time.Minute)); err != nil || n != 1 {
		t.Fatalf("purge: %d %v, want the one expired session", n, err)
	}
	if _, err := s.Session("s2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session still there: %v", err)
	}
	if got, err := s.Session("s1"); err != nil || got.OperatorID != ann.ID {
		t.Fatalf("session s1: %+v %v", got, err)
	}
	var ended int
	err := s.Update(ctx, func(tx *Tx) error {
		var err error
		ended, err = DeleteSessionsOfTx(tx, ann.ID)
		return err
	})
	if err != nil || ended != 2 {
		t.Fatalf("ended %d sessions (%v), want 2", ended, err)
	}
	for _, h := range []string{"s1", "s3"} {
		if _, err := s.Session(h); !errors.Is(err, ErrNotFound) {
			t.Errorf("session %s survived the end of all sessions", h)
		}
	}

	updated, err := updateOperator(s, ann.ID, func(op *Operator) error { op.Disabled, op.Email = true, "changed@example.com"; return nil })
	if err != nil || !updated.Disabled || updated.Email != ann.Email {
		t.Fatalf("update: %+v %v; want disabled and the email unchanged", updated, err)
	}
	if list, _ := s.Operators(); len(list) != 1 || !list[0].Disabled {
		t.Errorf("operators %+v", list)
	}
}

func updateOperator(s *Store, id string, f func(*Operator) error) (Operator, error) {
	var op Operator
	err := s.Update(context.Background(), func(tx *Tx) error {
		var err error
		op, err = UpdateOperatorTx(tx, id, f)
		return err
	})
	return op, err
}

func TestSetupTokenIsSingleUseAndExpires(t *testing.T) {
	s := openTest(t, Options{})
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	take := func(hash string, at time.Time) bool {
		t.Helper()
		var ok bool
		err := s.Update(context.Background(), func(tx *Tx) error {
			var err error
			ok, err = TakeSetupTokenTx(tx, hash, at)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	putToken := func(hash string) {
		t.Helper()
		if err := s.Update(context.Background(), func(tx *Tx) error { return PutSetupTokenTx(tx, hash, now.Add(time.Hour)) }); err != nil {
			t.Fatal(err)
		}
	}
	putToken("old")
	putToken("new") // replaces the old one
	if take("old", now) {
		t.Error("a replaced token was accepted")
	}
	if take("wrong", now) {
		t.Error("a wrong token was accepted")
	}
	if !take("new", now) {
		t.Fatal("the current token was refused")
	}
	if take("new", now) {
		t.Error("the token was accepted twice")
	}
	putToken("late")
	if take("late", now.Add(time.Hour)) {
		t.Error("an expired token was accepted")
	}
	putToken("again")
	if !take("again", now.Add(time.Minute)) {
		t.Error("a fresh token after an expired one was refused")
	}
}

func TestCannedReplies(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	put := func(c *CannedReply) error {
		return s.Update(ctx, func(tx *Tx) error { return PutCannedReplyTx(tx, c) })
	}
	thanks := CannedReply{Shortcut: "thanks", Text: "Thank you!"}
	hello := CannedReply{Shortcut: "Hello", Text: "Hi there"}
	for _, c := range []*CannedReply{&thanks, &hello} {
		if err := put(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := put(&CannedReply{Shortcut: "THANKS", Text: "x"}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate shortcut: %v, want ErrExists", err)
	}
	if err := put(&CannedReply{ID: "cr_missing", Shortcut: "x", Text: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("replacing an unknown reply: %v", err)
	}
	thanks.Text = "Thanks a lot!"
	if err := put(&thanks); err != nil {
		t.Fatalf("editing a reply under its own shortcut: %v", err)
	}
	list, err := s.CannedReplies()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Shortcut != "Hello" || list[1].Text != "Thanks a lot!" {
		t.Fatalf("replies %+v, want Hello then the edited thanks", list)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return DeleteCannedReplyTx(tx, hello.ID) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return DeleteCannedReplyTx(tx, hello.ID) }); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestChangeFeedAndRecentConversations(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	feed, stop := s.Changes()
	defer stop()
	var ids []string
	for range 3 {
		c, err := s.CreateConversation(ctx, Conversation{Channel: "api"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	before := s.LastMessageID()
	for range 2 { // two changes of one conversation are reported once
		if _, err := s.AppendMessage(ctx, Message{ConversationID: ids[0], Role: conversation.RoleVisitor, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AppendMessage(ctx, Message{ConversationID: ids[2], Role: conversation.RoleVisitor, Text: "hey"}); err != nil {
		t.Fatal(err)
	}
	<-feed.Ready()
	got := feed.Take()
	slices.Sort(got)
	want := []string{ids[0], ids[2]}
	slices.Sort(want) // ids made in the same millisecond are not in order
	if !slices.Equal(got, want) {
		t.Errorf("changed %q, want %q", got, want)
	}
	if got := feed.Take(); len(got) != 0 {
		t.Errorf("taken twice: %q", got)
	}
	if after := s.LastMessageID(); after != before+3 {
		t.Errorf("last message id %d after three messages, was %d", after, before)
	}

	all, _ := s.ListConversations(conversation.Bot, 0)
	recent, err := s.RecentConversations(conversation.Bot, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || len(recent) != 2 || recent[0].ID != all[2].ID || recent[1].ID != all[1].ID {
		t.Errorf("recent %v, want the last two of %v, newest first", recent, all)
	}
	if none, _ := s.RecentConversations(conversation.Closed, 10); len(none) != 0 {
		t.Errorf("closed conversations %v", none)
	}
}
