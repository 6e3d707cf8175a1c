package routing

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// BenchmarkAssignDecision is one assignment decision with 10,000
// conversations waiting over 5 departments and 200 operators of
// capacity 3, all full but the one whose chat just closed: which
// conversation goes to them. It reports the 99th percentile of the
// decision's time (p99_µs) besides the mean.
func BenchmarkAssignDecision(b *testing.B) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	depts := []string{"general", "billing", "technical", "sales", "vip"}
	waiting := make([]Waiting, 10_000)
	for i := range waiting {
		waiting[i] = Waiting{ID: fmt.Sprintf("c%05d", i), Department: depts[i%len(depts)],
			Priority: conversation.Priorities[(i*7)%len(conversation.Priorities)], Since: t0.Add(time.Duration(i) * time.Second)}
	}
	ops := make([]Operator, 200)
	for i := range ops {
		ops[i] = Operator{ID: fmt.Sprintf("op%03d", i), Departments: []string{depts[i%len(depts)], depts[(i+1)%len(depts)]},
			Online: true, Capacity: 3, Active: 3, LastAssigned: uint64(i)}
	}
	times := make([]time.Duration, 0, b.N)
	var seq uint64 = 200
	i := 0
	for b.Loop() {
		cur := slices.Clone(ops)
		cur[i%len(cur)].Active-- // a chat closed
		start := time.Now()
		out, _ := Assign(waiting, cur, seq)
		times = append(times, time.Since(start))
		if len(out) != 1 {
			b.Fatalf("%d assignments", len(out))
		}
		i++
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99_µs")
}
