package routing

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// 100 handoffs over 5 operators of capacity 3, on a simulated clock: one
// arrives every second, each chat lasts 30 s, so a queue builds. Nobody
// is ever above capacity, everyone gets the same number of
// conversations give or take one, and no conversation is served while a
// higher-priority (or, at equal priority, older) one waits.
func TestAssignFairness(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	ops := make([]Operator, 5)
	for i := range ops {
		ops[i] = Operator{ID: fmt.Sprintf("op%d", i), Departments: []string{"general"}, Online: true, Capacity: 3}
	}
	type record struct {
		w          Waiting
		assignedAt time.Time
		op         string
		ends       time.Time
	}
	all := map[string]*record{}
	var queue []Waiting
	var seq uint64
	assigned := map[string]int{}
	const handoffs, chat = 100, 30 * time.Second
	for tick := 0; len(all) < handoffs || len(queue) > 0; tick++ {
		now := t0.Add(time.Duration(tick) * time.Second)
		// Chats that end now free their places.
		for _, r := range all {
			if r.op != "" && !r.ends.IsZero() && !r.ends.After(now) {
				for i := range ops {
					if ops[i].ID == r.op {
						ops[i].Active--
					}
				}
				r.ends = time.Time{}
			}
		}
		if len(all) < handoffs {
			w := Waiting{ID: fmt.Sprintf("c%03d", len(all)), Department: "general",
				Priority: conversation.Priorities[rng.IntN(len(conversation.Priorities))], Since: now}
			all[w.ID] = &record{w: w}
			queue = append(queue, w)
		}
		var out []Assignment
		out, seq = Assign(queue, ops, seq)
		for _, a := range out {
			r := all[a.Conversation]
			r.op, r.assignedAt, r.ends = a.Operator, now, now.Add(chat)
			assigned[a.Operator]++
			queue = slices.DeleteFunc(queue, func(w Waiting) bool { return w.ID == a.Conversation })
		}
		active := map[string]int{}
		for _, r := range all {
			if !r.ends.IsZero() {
				active[r.op]++
			}
		}
		for _, op := range ops {
			if active[op.ID] > op.Capacity || active[op.ID] != op.Active {
				t.Fatalf("%s at %s: %d active (tracked %d), capacity %d", op.ID, now, active[op.ID], op.Active, op.Capacity)
			}
		}
		if tick > 10000 {
			t.Fatal("the queue never drained")
		}
	}
	counts := []int{}
	for _, op := range ops {
		counts = append(counts, assigned[op.ID])
	}
	sort.Ints(counts)
	if counts[len(counts)-1]-counts[0] > 1 || counts[0]+counts[1]+counts[2]+counts[3]+counts[4] != handoffs {
		t.Errorf("assigned counts %v: want %d in all, differing by at most 1", assigned, handoffs)
	}
	waited := 0
	for _, a := range all {
		if a.assignedAt.After(a.w.Since) {
			waited++
		}
		for _, b := range all {
			// a waited while b was served: b must not come after a.
			if !a.w.Since.After(b.assignedAt) && a.assignedAt.After(b.assignedAt) && Compare(a.w, b.w) < 0 {
				t.Errorf("%s (%s, since %s) was served at %s after %s (%s, since %s) at %s",
					a.w.ID, a.w.Priority, a.w.Since.Format(time.TimeOnly), a.assignedAt.Format(time.TimeOnly),
					b.w.ID, b.w.Priority, b.w.Since.Format(time.TimeOnly), b.assignedAt.Format(time.TimeOnly))
			}
		}
	}
	if waited < handoffs/2 {
		t.Errorf("only %d of %d handoffs waited: the test does not exercise the queue", waited, handoffs)
	}
}

func TestAssignRules(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	ops := func() []Operator {
		return []Operator{
			{ID: "ana", Departments: []string{"billing"}, Online: true, Capacity: 2, Active: 1},
			{ID: "bo", Departments: []string{"billing", "technical"}, Online: true, Capacity: 2},
			{ID: "cy", Departments: []string{"technical"}, Online: false, Capacity: 2},
			{ID: "di", Departments: []string{"sales"}, Online: true, Capacity: 1, Active: 1},
		}
	}
	for _, tc := range []struct {
		name    string
		waiting []Waiting
		want    []Assignment
	}{
		{"fewest active first", []Waiting{{ID: "a", Department: "billing", Since: t0}}, []Assignment{{"a", "bo"}}},
		{"returning customer", []Waiting{{ID: "a", Department: "billing", Since: t0, LastOperator: "ana"}}, []Assignment{{"a", "ana"}}},
		{"last operator offline", []Waiting{{ID: "a", Department: "technical", Since: t0, LastOperator: "cy"}}, []Assignment{{"a", "bo"}}},
		{"department full", []Waiting{{ID: "a", Department: "sales", Since: t0}}, nil},
		{"priority, then age", []Waiting{
			{ID: "old", Department: "billing", Since: t0},
			{ID: "urgent", Department: "billing", Since: t0.Add(time.Minute), Priority: conversation.PriorityUrgent},
			{ID: "new", Department: "billing", Since: t0.Add(time.Second)},
			{ID: "newest", Department: "billing", Since: t0.Add(2 * time.Second)},
		}, []Assignment{{"urgent", "bo"}, {"old", "ana"}, {"new", "bo"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := Assign(tc.waiting, ops(), 0)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
