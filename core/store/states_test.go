package store

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// listIDs returns the IDs ListConversations gives for state.
func listIDs(t *testing.T, s *Store, state conversation.State, limit int) []string {
	t.Helper()
	convs, err := s.ListConversations(state, limit)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, c := range convs {
		ids = append(ids, c.ID)
	}
	return ids
}

func checkCounts(t *testing.T, s *Store, want map[conversation.State]int) {
	t.Helper()
	got, err := s.CountConversationsByState()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
}

func TestStateIndexFollowsConversations(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	a, _ := s.CreateConversation(ctx, Conversation{Channel: "tg", Ref: "a"})
	b, _ := s.CreateConversation(ctx, Conversation{Channel: "tg", Ref: "b"})
	c, _ := s.CreateConversation(ctx, Conversation{Channel: "tg", Ref: "c"})
	checkCounts(t, s, map[conversation.State]int{conversation.Bot: 3})

	steps := []struct {
		conv  Conversation
		state conversation.State
		want  map[conversation.State][]string // state → IDs listed (any order here)
	}{
		{b, conversation.WaitingHuman, map[conversation.State][]string{conversation.Bot: {a.ID, c.ID}, conversation.WaitingHuman: {b.ID}}},
		{b, conversation.Human, map[conversation.State][]string{conversation.Bot: {a.ID, c.ID}, conversation.WaitingHuman: {}, conversation.Human: {b.ID}}},
		{a, conversation.WaitingHuman, map[conversation.State][]string{conversation.Bot: {c.ID}, conversation.WaitingHuman: {a.ID}, conversation.Human: {b.ID}}},
		{b, conversation.Closed, map[conversation.State][]string{conversation.Bot: {c.ID}, conversation.WaitingHuman: {a.ID}, conversation.Human: {}, conversation.Closed: {b.ID}}},
		{b, conversation.Closed, map[conversation.State][]string{conversation.Closed: {b.ID}}}, // unchanged: counted once
		{b, conversation.Bot, map[conversation.State][]string{conversation.Bot: {b.ID, c.ID}, conversation.Closed: {}}},
	}
	for _, st := range steps {
		conv := st.conv
		conv.State = st.state
		if err := s.Update(ctx, func(tx *Tx) error { return PutConversationTx(tx, &conv) }); err != nil {
			t.Fatal(err)
		}
		counts := map[conversation.State]int{}
		for state, want := range st.want {
			if got := listIDs(t, s, state, 0); !equalIDs(got, want) {
				t.Errorf("after %s → %s: %s lists %v, want %v", conv.Ref, st.state, state, got, want)
			}
		}
		for _, state := range conversation.States {
			if n := len(listIDs(t, s, state, 0)); n > 0 {
				counts[state] = n
			}
		}
		checkCounts(t, s, counts)
	}
	all := slices.Sorted(slices.Values([]string{a.ID, b.ID, c.ID}))
	if got := listIDs(t, s, "", 2); !slices.Equal(got, all[:2]) {
		t.Errorf("first two of all: %v, want %v", got, all[:2])
	}
	bots := slices.Sorted(slices.Values([]string{b.ID, c.ID}))
	if got := listIDs(t, s, conversation.Bot, 1); !slices.Equal(got, bots[:1]) {
		t.Errorf("first bot conversation: %v, want %v", got, bots[:1])
	}
}

// equalIDs compares lists of IDs as sets; ListConversations gives ID
// order, which is creation order only to the millisecond.
func equalIDs(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// A database written before the index existed is indexed when opened.
func TestStateIndexIsBuiltForAnOlderDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var waiting string
	for i, state := range []conversation.State{conversation.Bot, conversation.WaitingHuman, conversation.Bot, conversation.Closed} {
		c, err := s.CreateConversation(ctx, Conversation{Channel: "tg", Ref: string(rune('a' + i)), Status: conversation.Status{State: state}})
		if err != nil {
			t.Fatal(err)
		}
		if state == conversation.WaitingHuman {
			waiting = c.ID
		}
	}
	s.Close()
	// Take the index away, as in a database from before it.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		for _, st := range conversation.States {
			if err := meta.Delete(stateCountKey(st)); err != nil {
				return err
			}
		}
		if err := meta.Delete(keyStatesIndexed); err != nil {
			return err
		}
		return tx.DeleteBucket(bucketConvStates)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkCounts(t, s, map[conversation.State]int{conversation.Bot: 2, conversation.WaitingHuman: 1, conversation.Closed: 1})
	if got := listIDs(t, s, conversation.WaitingHuman, 0); !equalIDs(got, []string{waiting}) {
		t.Errorf("waiting: %v, want %v", got, []string{waiting})
	}
}

func TestWatchWakesOnAnyChange(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	c, err := s.CreateConversation(ctx, Conversation{Channel: "tg", Ref: "a"})
	if err != nil {
		t.Fatal(err)
	}
	one, stopOne := s.Watch(c.ID)
	defer stopOne()
	all, stopAll := s.Watch("")
	defer stopAll()
	c.State = conversation.WaitingHuman
	if err := s.Update(ctx, func(tx *Tx) error { return PutConversationTx(tx, &c) }); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan struct{}{"the conversation's watch": one, "the watch of all": all} {
		select {
		case <-ch:
		default:
			t.Errorf("%s was not woken by a state change", name)
		}
	}
}
