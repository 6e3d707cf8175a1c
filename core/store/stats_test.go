package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

func openStatsStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "switchboard.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// putScripted writes a conversation with its transitions and messages.
func putScripted(t *testing.T, s *Store, c Conversation, ts []conversation.Transition, msgs []Message) {
	t.Helper()
	err := s.Update(context.Background(), func(tx *Tx) error {
		if err := PutConversationTx(tx, &c); err != nil {
			return err
		}
		for _, tr := range ts {
			if err := AddTransitionTx(tx, c.ID, tr); err != nil {
				return err
			}
		}
		for _, m := range msgs {
			m.ConversationID = c.ID
			if err := s.AppendMessageTx(tx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestScanConversations(t *testing.T) {
	s := openStatsStore(t)
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	// "c_a" is a prefix of "c_ab": their transitions and messages must not
	// mix.
	putScripted(t, s, Conversation{ID: "c_a", Channel: "tg", Ref: "a", Status: conversation.Status{State: conversation.Human}, CreatedAt: t0},
		[]conversation.Transition{
			{From: conversation.Bot, To: conversation.WaitingHuman, Cause: "tool", At: t0.Add(time.Minute)},
			{From: conversation.WaitingHuman, To: conversation.Human, Cause: "operator", At: t0.Add(2 * time.Minute)},
		},
		[]Message{{Role: conversation.RoleVisitor, Text: "a1", CreatedAt: t0}, {Role: conversation.RoleBot, Text: "a2", CreatedAt: t0}, {Role: conversation.RoleVisitor, Text: "a3", CreatedAt: t0}})
	putScripted(t, s, Conversation{ID: "c_ab", Channel: "tg", Ref: "ab", Status: conversation.Status{State: conversation.Bot}, CreatedAt: t0}, nil,
		[]Message{{Role: conversation.RoleVisitor, Text: "ab1", CreatedAt: t0}})
	putScripted(t, s, Conversation{ID: "c_b", Channel: "tg", Ref: "b", Status: conversation.Status{State: conversation.Closed}, CreatedAt: t0},
		[]conversation.Transition{{From: conversation.Bot, To: conversation.Closed, Cause: "api", At: t0}}, nil)

	type seen struct {
		id    string
		trans int
		first []string // up to two messages
	}
	var got []seen
	var kept [][]conversation.Transition
	err := s.ScanConversations(func(sc *ScannedConversation) error {
		g := seen{id: sc.Conversation.ID, trans: len(sc.Transitions)}
		err := sc.EachMessage(func(m Message) bool {
			g.first = append(g.first, m.Text)
			return len(g.first) < 2
		})
		got = append(got, g)
		kept = append(kept, sc.Transitions)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{"c_a", 2, []string{"a1", "a2"}},
		{"c_ab", 0, []string{"ab1"}},
		{"c_b", 1, nil},
	}
	if len(got) != len(want) {
		t.Fatalf("scanned %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].id != want[i].id || got[i].trans != want[i].trans || !equalStrings(got[i].first, want[i].first) {
			t.Errorf("conversation %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if kept[0][1].Cause != "operator" || kept[2][0].Cause != "api" {
		t.Errorf("kept transitions were overwritten: %+v", kept)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCountConversationsByStateAndOutbox(t *testing.T) {
	s := openStatsStore(t)
	for i, state := range []conversation.State{conversation.Bot, conversation.Bot, conversation.WaitingHuman, conversation.Closed} {
		putScripted(t, s, Conversation{ID: NewID("c_"), Channel: "tg", Ref: string(rune('a' + i)), Status: conversation.Status{State: state}}, nil, nil)
	}
	counts, err := s.CountConversationsByState()
	if err != nil {
		t.Fatal(err)
	}
	want := map[conversation.State]int{conversation.Bot: 2, conversation.WaitingHuman: 1, conversation.Closed: 1}
	if len(counts) != len(want) {
		t.Fatalf("counts %v, want %v", counts, want)
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d, want %d", k, counts[k], v)
		}
	}

	if n, err := s.CountOutbox(); err != nil || n != 0 {
		t.Fatalf("empty outbox: %d, %v", n, err)
	}
	err = s.Update(context.Background(), func(tx *Tx) error {
		for range 3 {
			if err := PutOutboxTx(tx, &OutboxEntry{ConversationID: "c_x", Instance: "tg", Payload: SendText{Ref: "x", Text: "x"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountOutbox(); err != nil || n != 3 {
		t.Fatalf("outbox: %d, %v; want 3", n, err)
	}
}

func TestWaitingByDepartment(t *testing.T) {
	s := openStatsStore(t)
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	waiting := func(id, dept string) Conversation {
		c := Conversation{ID: id, Channel: "tg", Ref: id, Status: conversation.Status{State: conversation.WaitingHuman}, CreatedAt: t0}
		c.Handoff = &conversation.Handoff{RequestedAt: t0}
		if dept != "" {
			c.Handoff.Route = &conversation.Route{Department: dept}
		}
		return c
	}
	for _, c := range []Conversation{waiting("c_1", "billing"), waiting("c_2", "billing"), waiting("c_3", ""), waiting("c_4", "sales")} {
		putScripted(t, s, c, nil, nil)
	}
	putScripted(t, s, Conversation{ID: "c_5", Channel: "tg", Ref: "c_5", Status: conversation.Status{State: conversation.Human}, CreatedAt: t0}, nil, nil)
	check := func(want map[string]int) {
		t.Helper()
		got, err := s.WaitingByDepartment("general")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("waiting by department = %v, want %v", got, want)
		}
		for d, n := range want {
			if got[d] != n {
				t.Fatalf("waiting by department = %v, want %v", got, want)
			}
		}
	}
	check(map[string]int{"billing": 2, "general": 1, "sales": 1})
	// A conversation moving to another department, and one claimed: the
	// counts follow the records, not what was read before.
	moved := waiting("c_1", "sales")
	putScripted(t, s, moved, nil, nil)
	claimed := waiting("c_4", "sales")
	claimed.State = conversation.Human
	putScripted(t, s, claimed, nil, nil)
	check(map[string]int{"billing": 1, "general": 1, "sales": 1})
}
